import { ElasticsearchIndex } from '../../services/indexer/adapters/elasticsearch-index';
import { createLogger } from '../../services/shared/observability/logger';
import { infraRequired } from '../support/infra';
import { extraSearchNodes, uniquePrefix } from '../support/elasticsearch';
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
    const info = (await (await fetch(url)).json()) as { version: { number: string; distribution?: string } };
    const [engine, version] = name.split('-') as [string, string];
    expect(info.version.distribution ?? 'elasticsearch').toBe(engine);
    expect(info.version.number.startsWith(`${version}.`)).toBe(true);
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

  searchIndexCases(name.replace(/\./g, ''), () => url);
});
