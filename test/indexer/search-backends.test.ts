import { ElasticsearchIndex } from '../../services/indexer/adapters/elasticsearch-index';
import { toAuditDocument } from '../../services/indexer/core/audit-document';
import { buildRedactor } from '../../services/shared/redaction/redaction-config';
import { createLogger } from '../../services/shared/observability/logger';
import { infraRequired } from '../support/infra';
import { auditEvents, extraSearchNodes, uniquePrefix } from '../support/elasticsearch';
import { searchIndexCases } from '../support/search-index-cases';

/**
 * The audit index's test cases (the same ones the Elasticsearch 7.10 dev node
 * runs) on every extra search node infra/dev started: `INFRA_SEARCH=opensearch-2.19`
 * or `opensearch-3.1`, see infra/dev/README.md. No extra node
 * configured: skipped, or failing under REQUIRE_INFRA=1 when INFRA_SEARCH
 * names nodes the env file lacks.
 */
const nodes = extraSearchNodes();
const wanted = (process.env.INFRA_SEARCH ?? '').split(',').map((s) => s.trim()).filter(Boolean);

if (nodes.length === 0) {
  if (infraRequired && wanted.length > 0) {
    test('the search nodes INFRA_SEARCH names are running', () => {
      throw new Error(`REQUIRE_INFRA=1 and INFRA_SEARCH=${wanted.join(',')}, but infra/dev/.run/env has no TEST_SEARCH_NODES: run npm run infra:up`);
    });
  } else {
    describe.skip('audit index on extra search nodes (none configured: INFRA_SEARCH=opensearch-2.19 npm run infra:up)', () => {
      test('nothing', () => undefined);
    });
  }
}

// describe.each refuses an empty table: with no extra node there is nothing more to describe.
if (nodes.length > 0) describe.each(nodes)('audit index on $name ($url)', ({ name, url }) => {
  beforeAll(async () => {
    const res = await fetch(`${url}/_cluster/health`).catch((err: unknown) => {
      throw new Error(`${name} at ${url} is unreachable (${(err as Error).message}): npm run infra:up with INFRA_SEARCH=${name}`);
    });
    expect(res.ok).toBe(true);
  });

  test('the node is the engine it is named after', async () => {
    const [engine, version] = name.split('-') as [string, string];
    const root = await fetch(url);
    if (root.ok) {
      const info = (await root.json()) as { version: { number: string; distribution?: string } };
      expect(info.version.distribution ?? 'elasticsearch').toBe(engine);
      expect(info.version.number.startsWith(`${version}.`)).toBe(true);
      return;
    }
    // Elasticsearch 8+ answers GET / from its rest-root module, which the nodes infra/dev assembles
    // from Maven Central lack (405): the node's own info says what it is (transport_version is
    // Elasticsearch 8+'s, OpenSearch has none).
    expect(engine).toBe('elasticsearch');
    const nodes = (await (await fetch(`${url}/_nodes/_local`)).json()) as { nodes: Record<string, { version: string; transport_version?: number }> };
    const node = Object.values(nodes.nodes)[0]!;
    expect(node.transport_version).toEqual(expect.any(Number));
    expect(node.version.startsWith(`${version}.`)).toBe(true);
  });

  test('setup copes with what the engine lacks (ILM, flattened) and is idempotent', async () => {
    const index = new ElasticsearchIndex({ url, prefix: uniquePrefix(`${name}-setup`), retentionDays: 7, logger: createLogger('silent', 'test') });
    try {
      await index.setup();
      await index.setup();
    } finally {
      await index.deleteAll();
      await index.close();
    }
  });

  test('retention: daily indices past it go, by ILM where the engine has it, else by the indexer sweeping them', async () => {
    const logger = createLogger('silent', 'test');
    const prefix = uniquePrefix(`${name}-retention`);
    const index = new ElasticsearchIndex({ url, prefix, retentionDays: 7, logger });
    try {
      await index.setup();
      const template = (await (await fetch(`${url}/_index_template/${prefix}`)).json()) as {
        index_templates: { index_template: { template: { settings?: { index?: { lifecycle?: { name: string } } } } } }[];
      };
      const policy = template.index_templates[0]!.index_template.template.settings?.index?.lifecycle?.name;
      if (policy) {
        // ILM (Elasticsearch's default distribution): the policy deletes a day's index 7 days on.
        const res = (await (await fetch(`${url}/_ilm/policy/${policy}`)).json()) as Record<string, { policy: { phases: { delete: { min_age: string } } } }>;
        expect(res[policy]!.policy.phases.delete.min_age).toBe('7d');
        return;
      }
      // No ILM (OpenSearch, which has ISM under another API, and these Elasticsearch builds): the sweep.
      const redactor = buildRedactor(undefined, 'mask');
      const docs = [...auditEvents(3, Date.now() - 60_000), ...auditEvents(2, Date.now() - 10 * 86_400_000)].map((e) => toAuditDocument(e, redactor));
      expect(await index.index(docs)).toEqual([]);
      await index.refresh();
      expect(await index.count()).toBe(5);
      await index.expire(Date.now());
      await index.refresh();
      expect(await index.count()).toBe(3);
    } finally {
      await index.deleteAll();
      await index.close();
    }
  });

  searchIndexCases(name.replace(/\./g, ''), () => url);
});
