import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { infraRequired } from './infra';
import { REPO_ROOT } from './processes';

export { appendToEmbeddedLog, auditEvents } from './audit-events';

/** The dev node's URL (`npm run infra:up` writes it to infra/dev/.run/env), or null. */
export function elasticsearchUrl(): string | null {
  if (process.env.LLM_LOGGER_ELASTICSEARCH_URL) return process.env.LLM_LOGGER_ELASTICSEARCH_URL;
  const file = join(REPO_ROOT, 'infra', 'dev', '.run', 'env');
  if (!existsSync(file)) return null;
  const m = /^LLM_LOGGER_ELASTICSEARCH_URL=(.+)$/m.exec(readFileSync(file, 'utf8'));
  return m ? m[1]!.trim() : null;
}

/**
 * `describe` for suites that need the Elasticsearch node: skipped when it is
 * not configured, failing when REQUIRE_INFRA=1 and it is missing or down.
 */
export function describeWithElasticsearch(name: string, fn: (url: () => string) => void): void {
  const url = elasticsearchUrl();
  if (!url && !infraRequired) {
    describe.skip(`${name} (no Elasticsearch: npm run infra:up)`, () => fn(() => ''));
    return;
  }
  describe(name, () => {
    beforeAll(async () => {
      if (!url) throw new Error('REQUIRE_INFRA=1 but no Elasticsearch configured: run npm run infra:up');
      const res = await fetch(`${url}/_cluster/health`).catch((err: unknown) => {
        throw new Error(`REQUIRE_INFRA: Elasticsearch at ${url} is unreachable (${(err as Error).message})`);
      });
      if (!res.ok) throw new Error(`Elasticsearch at ${url} answered ${res.status}`);
    });
    fn(() => url!);
  });
}

/** A unique, lowercase index prefix per test, so suites never see each other's documents. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * Deletes a test's `<prefix>-*` indices and its template. By name: Elasticsearch 8+ refuses a
 * wildcard delete (action.destructive_requires_name is true by default).
 */
export async function deleteTestIndices(url: string, prefix: string): Promise<void> {
  const names = await fetch(`${url}/_cat/indices/${prefix}-*?h=index&format=json`)
    .then(async (r) => ((await r.json()) as { index: string }[]).map((i) => i.index))
    .catch(() => [] as string[]);
  if (names.length > 0) await fetch(`${url}/${names.join(',')}`, { method: 'DELETE' }).catch(() => undefined);
  await fetch(`${url}/_index_template/${prefix}`, { method: 'DELETE' }).catch(() => undefined);
}

/** The extra search nodes infra/dev started (INFRA_SEARCH): `TEST_SEARCH_NODES=name=url,…` in the env or infra/dev/.run/env. */
export function extraSearchNodes(): { name: string; url: string }[] {
  let value = process.env.TEST_SEARCH_NODES;
  const file = join(REPO_ROOT, 'infra', 'dev', '.run', 'env');
  if (value === undefined && existsSync(file)) value = /^TEST_SEARCH_NODES=(.*)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.trim();
  return (value ?? '')
    .split(',')
    .filter((entry) => entry.includes('='))
    .map((entry) => {
      const [name, url] = entry.split(/=(.*)/s) as [string, string];
      return { name: name.trim(), url: url.trim() };
    });
}
