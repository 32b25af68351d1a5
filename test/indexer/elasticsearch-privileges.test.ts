import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ElasticsearchIndex } from '../../services/indexer/adapters/elasticsearch-index';
import { toAuditDocument } from '../../services/indexer/core/audit-document';
import { buildRedactor } from '../../services/shared/redaction/redaction-config';
import { createLogger } from '../../services/shared/observability/logger';
import { auditEvents, describeWithElasticsearch, uniquePrefix } from '../support/elasticsearch';

/**
 * An API key without the manage_ilm cluster privilege (as Elasticsearch with
 * security answers it: 403 security_exception on the _ilm API) must not stop
 * the indexer: it falls back to deleting expired daily indices itself, and
 * indexes. The stand-in in front of the dev node answers the _ilm requests
 * the way a secured cluster does and passes everything else through.
 */
describeWithElasticsearch('indexer with a key that may not manage ILM', (url) => {
  let proxy: Server;
  let proxyUrl: string;
  const ilmRequests: string[] = [];

  beforeAll(async () => {
    const target = new URL(url());
    proxy = createServer((req, res) => {
      if ((req.url ?? '').startsWith('/_ilm/')) {
        ilmRequests.push(`${req.method} ${req.url}`);
        req.resume();
        res.writeHead(403, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
        res.end(
          JSON.stringify({
            error: {
              root_cause: [{ type: 'security_exception', reason: 'action [cluster:admin/ilm/put] is unauthorized for API key id [k1] of user [indexer]' }],
              type: 'security_exception',
              reason: 'action [cluster:admin/ilm/put] is unauthorized for API key id [k1] of user [indexer]',
            },
            status: 403,
          }),
        );
        return;
      }
      const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => proxy?.close(() => r())));

  test('setup succeeds without ILM, documents are indexed and the sweeper deletes expired indices', async () => {
    const prefix = uniquePrefix('noilm');
    const index = new ElasticsearchIndex({ url: proxyUrl, prefix, retentionDays: 30, logger: createLogger('silent', 'test') });
    try {
      await index.setup();
      expect(ilmRequests.length).toBeGreaterThan(0);
      const old = Date.now() - 40 * 86_400_000;
      const docs = [...auditEvents(3, Date.now() - 60_000), ...auditEvents(2, old)].map((e) => toAuditDocument(e, buildRedactor(undefined, 'mask')));
      expect(await index.index(docs)).toEqual([]);
      await index.refresh();
      expect(await index.count()).toBe(5);
      // No policy on the template; the indexer's own sweep removes the day past the retention.
      const template = (await (await fetch(`${url()}/_index_template/${prefix}`)).json()) as {
        index_templates: { index_template: { template: { settings?: { index?: Record<string, unknown> } } } }[];
      };
      expect(template.index_templates[0]!.index_template.template.settings?.index?.lifecycle).toBeUndefined();
      await index.expire(Date.now());
      await index.refresh();
      expect(await index.count()).toBe(3);
    } finally {
      await index.deleteAll();
      await index.close();
    }
  });
});
