import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElasticsearchIndex } from '../../services/indexer/adapters/elasticsearch-index';
import { SqliteIndex } from '../../services/indexer/adapters/sqlite-index';
import { indexNameFor, toAuditDocument } from '../../services/indexer/core/audit-document';
import { buildRedactor } from '../../services/shared/redaction/redaction-config';
import { parseSearchQuery } from '../../services/indexer/core/search-query';
import { createLogger } from '../../services/shared/observability/logger';
import { auditEvents, uniquePrefix } from './elasticsearch';

const redactor = buildRedactor(undefined, 'mask');
const logger = createLogger('silent', 'test');
const q = (s: string) => parseSearchQuery(new URLSearchParams(s));
const DAY_MS = 86_400_000;
/** Midnight (UTC) five days ago: the test's days are relative to the clock, within the 30-day retention. */
const DAY0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 5 * DAY_MS;

/**
 * The audit index's cases against one search node (Elasticsearch or
 * OpenSearch): run on the dev node by test/indexer/elasticsearch-index.test.ts
 * and on every extra node infra/dev started by test/indexer/search-backends.test.ts.
 */
export function searchIndexCases(label: string, url: () => string): void {
  const prefix = uniquePrefix(label);
  let es: ElasticsearchIndex;
  let embedded: SqliteIndex;
  let dir: string;

  const events = auditEvents(60, DAY0 + DAY_MS - 30_000, (i) => ({
    user: i % 3 === 0 ? 'alice' : 'bob',
    app: i % 2 === 0 ? 'billing' : 'support',
    upstream: i % 4 === 0 ? 'anthropic' : 'openai',
    request_model: i % 5 === 0 ? 'claude-sonnet-4' : 'gpt-4o-mini',
    response_model: null,
    http_status: i % 10 === 9 ? 503 : 200,
    error_class: i % 10 === 9 ? 'server_error' : null,
    error_message: i % 10 === 9 ? 'upstream overloaded, try again' : null,
  }));
  // The one call a phrase search must find, with values that redaction must hide.
  events[42] = {
    ...events[42]!,
    request_body: JSON.stringify({
      messages: [{ role: 'user', content: 'Please refund the blue umbrella to carol.jones@example.org, card 4111 1111 1111 1111' }],
    }),
    response_text: 'The refund for the blue umbrella is on its way.',
  };

  beforeAll(async () => {
    es = new ElasticsearchIndex({ url: url(), prefix, retentionDays: 30, logger });
    await es.setup();
    await es.setup(); // idempotent
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-fts-'));
    embedded = new SqliteIndex(join(dir, 'audit.db'), 30);
    const docs = events.map((e) => toAuditDocument(e, redactor));
    expect(await es.index(docs)).toEqual([]);
    expect(await es.index(docs.slice(0, 10))).toEqual([]); // redelivery: same ids, no new documents
    await embedded.index(docs);
    await es.refresh();
  });

  afterAll(async () => {
    await es?.deleteAll();
    await es?.close();
    await embedded?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds each event once, in the index of its own day', async () => {
    expect(await es.count()).toBe(60);
    const res = await fetch(`${url()}/_cat/indices/${prefix}-*?h=index,docs.count&format=json`);
    const rows = ((await res.json()) as { index: string; 'docs.count': string }[]).sort((a, b) => a.index.localeCompare(b.index));
    expect(rows.map((r) => r.index)).toEqual([indexNameFor(prefix, DAY0), indexNameFor(prefix, DAY0 + DAY_MS)]);
    expect(rows.reduce((n, r) => n + Number(r['docs.count']), 0)).toBe(60);
  });

  it('installs the template with explicit mappings', async () => {
    const res = await fetch(`${url()}/_index_template/${prefix}`);
    const body = (await res.json()) as { index_templates: { index_template: { template: { mappings: { dynamic: string } } } }[] };
    expect(body.index_templates[0]!.index_template.template.mappings.dynamic).toBe('strict');
  });

  it('finds the right call by phrase, with highlighted snippets', async () => {
    const page = await es.search(q(`q=${encodeURIComponent('"blue umbrella"')}`));
    expect(page.total).toBe(1);
    expect(page.hits[0]!.event_id).toBe(events[42]!.event_id);
    // Word by word (Elasticsearch 7, OpenSearch, the embedded index) or the phrase as one (Elasticsearch 8.x and 9.x
    // highlight a matched phrase as a unit): either way exactly the two words, in the prompt's text.
    const prompt = page.hits[0]!.highlights.prompt.join(' ');
    expect(['<mark>blue</mark> <mark>umbrella</mark>', '<mark>blue umbrella</mark>'].filter((m) => prompt.includes(m))).toHaveLength(1);
    expect(prompt.replace(/<\/?mark>/g, '')).toContain('Please refund the blue umbrella to');
    expect((await es.search(q(`q=${encodeURIComponent('"umbrella blue"')}`))).total).toBe(0);
  });

  it('does not find redacted values', async () => {
    for (const text of ['carol.jones@example.org', 'carol', '"4111 1111 1111 1111"', '4111111111111111']) {
      expect((await es.search(q(`q=${encodeURIComponent(text)}`))).total).toBe(0);
      expect((await embedded.search(q(`q=${encodeURIComponent(text)}`))).total).toBe(0);
    }
    expect((await es.search(q('q=refund'))).total).toBe(1);
  });

  it('answers every query the same as the embedded index, newest first', async () => {
    const queries = [
      'q=question',
      'q=number&user=alice&limit=7&offset=3',
      `q=${encodeURIComponent('"topic 3"')}`,
      'q=topic&model=claude-sonnet-4',
      'q=&status=5xx',
      'q=overloaded&status=error',
      'q=&upstream=anthropic&app=billing',
      `q=answer&from=${DAY0 + DAY_MS}&to=${DAY0 + DAY_MS + 10_000}`,
      `q=${encodeURIComponent('user:bob status:200 question 12')}`,
      'q=nothing-matches-this',
    ];
    for (const s of queries) {
      const a = await es.search(q(s));
      const b = await embedded.search(q(s));
      expect({ s, total: a.total, ids: a.hits.map((h) => h.event_id) }).toEqual({ s, total: b.total, ids: b.hits.map((h) => h.event_id) });
      const times = a.hits.map((h) => Date.parse(h.timestamp));
      expect([...times].sort((x, y) => y - x)).toEqual(times);
    }
  });

  it('reports a document the cluster refuses, and indexes the rest', async () => {
    const bad = auditEvents(5, DAY0 + 2 * DAY_MS, (i) => (i === 2 ? { trace_id: 'x'.repeat(40_000) } : {}));
    const rejected = await es.index(bad.map((e) => toAuditDocument(e, redactor)));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.eventId).toBe(bad[2]!.event_id);
    expect(rejected[0]!.reason).toMatch(/^400 /);
    await es.refresh();
    expect(await es.count()).toBe(64);
  });

  it('waits while the cluster pushes back (429), then indexes everything exactly once', async () => {
    const day = DAY0 + 4 * DAY_MS;
    const batch = auditEvents(20, day).map((e) => toAuditDocument(e, redactor));
    await es.index(batch.slice(0, 1)); // creates the day's index
    const index = indexNameFor(prefix, day);
    const block = (on: boolean) =>
      fetch(`${url()}/${index}/_settings`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ 'index.blocks.read_only_allow_delete': on ? true : null }),
      });
    expect((await block(true)).status).toBe(200);
    let settled = false;
    const pending = es.index(batch).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(settled).toBe(false); // still retrying: the consumer does not move on, nothing is committed
    // A shutdown does not wait out the push-back: the call fails at once, retriably (the batch stays uncommitted).
    const other = new ElasticsearchIndex({ url: url(), prefix, retentionDays: 30, logger });
    const interrupted = other.index(batch).catch((err: unknown) => err as { code: string; retriable: boolean });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    other.interrupt();
    expect(await interrupted).toMatchObject({ code: 'INDEX_UNAVAILABLE', retriable: true });
    expect(Date.now() - t0).toBeLessThan(1_000);
    await other.close();
    expect((await block(false)).status).toBe(200);
    expect(await pending).toEqual([]);
    await es.refresh();
    const res = await fetch(`${url()}/${index}/_count`);
    expect(((await res.json()) as { count: number }).count).toBe(20);
  });

}
