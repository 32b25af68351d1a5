import type { Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import { TOPICS } from '../../topology/topics';
import { runIndexer, type RunningIndexer } from '../../services/indexer/run-indexer';
import { loadConfig } from '../../services/shared/config/config';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import { deleteTestIndices, describeWithElasticsearch, uniquePrefix } from '../support/elasticsearch';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { readInferenceEvents, readRecords } from '../support/read-log';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * The ingest API as an attacker would try it: without a token, as a web page
 * (text/plain), with impossible numbers, and with an event id that already
 * exists. Each refusal names what is wrong and records nothing; a repeated or
 * forged event id leaves the first event in every store.
 */

const TOKEN = 'ingest-token-for-batch-sdk-0123456789';
let upstream: StandIn;
let pipeline: Pipeline;

beforeAll(async () => {
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url, { LLM_LOGGER_INGEST_TOKENS: `batch-sdk:${TOKEN}` });
});

afterAll(async () => {
  await pipeline.close();
  await upstream.close();
});

const iso = (ms: number): string => new Date(ms).toISOString();
const STARTED = Date.now() - 60_000;

const item = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  started_at: iso(STARTED),
  ended_at: iso(STARTED + 900),
  upstream: 'my-sdk',
  provider: 'openai',
  wire_format: 'openai',
  endpoint: 'chat.completions',
  method: 'POST',
  path: '/v1/chat/completions',
  streamed: false,
  request_model: 'gpt-4o',
  usage: { input_tokens: 10, output_tokens: 20, source: 'provider' },
  cost_micro_usd: 5,
  ...extra,
});

interface Answer {
  status: number;
  body: {
    accepted?: number;
    rejected?: { index: number; field: string; message: string }[];
    event_ids?: string[];
    notes?: { field: string; note: string }[];
    error?: { type: string; message: string };
  };
}

async function ingest(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }): Promise<Answer> {
  const res = await fetch(`${pipeline.gatewayUrl}/ingest/v1/events`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** Runs an ingest that must change nothing: the log holds the same events before and after. */
async function unchanged(run: () => Promise<Answer>): Promise<Answer> {
  const before = (await readInferenceEvents(pipeline.dataDir)).length;
  const answer = await run();
  await new Promise((r) => setTimeout(r, 50));
  expect((await readInferenceEvents(pipeline.dataDir)).length).toBe(before);
  return answer;
}

test('an ingest without a token is refused with 401 and records nothing', async () => {
  const a = await unchanged(() => ingest([item()], { 'content-type': 'application/json' }));
  expect(a.status).toBe(401);
  expect(a.body.error).toMatchObject({ type: 'missing_ingest_token', message: expect.stringContaining('LLM_LOGGER_INGEST_TOKENS') });
  const wrong = await unchanged(() => ingest([item()], { authorization: 'Bearer not-the-token-0000000000', 'content-type': 'application/json' }));
  expect(wrong.status).toBe(401);
  expect(wrong.body.error?.type).toBe('invalid_ingest_token');
});

test('a text/plain ingest (what any web page can send without a preflight) is refused with 415 naming the header, and records nothing', async () => {
  const a = await unchanged(() => ingest([item()], { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain;charset=UTF-8' }));
  expect(a.status).toBe(415);
  expect(a.body.error).toMatchObject({ type: 'unsupported_media_type', message: 'Content-Type must be application/json, got "text/plain;charset=UTF-8"' });
});

test('started_at 9e15 is refused naming the field, and nothing is recorded', async () => {
  const a = await unchanged(() => ingest([item({ started_at: 9e15, ended_at: 9e15 })]));
  expect(a.status).toBe(400);
  expect(a.body.rejected).toEqual([expect.objectContaining({ index: 0, field: 'started_at', message: expect.stringContaining("ahead of the gateway's clock") })]);
});

test.each([
  ['cost_micro_usd', { cost_micro_usd: -1_000_000 }],
  ['usage.input_tokens', { usage: { input_tokens: -5, output_tokens: 1, source: 'provider' } }],
  ['latency_ms', { latency_ms: -1 }],
  ['response_bytes', { response_bytes: -1 }],
])('a negative %s is refused naming the field, and nothing is recorded', async (field, extra) => {
  const a = await unchanged(() => ingest([item(extra)]));
  expect(a.status).toBe(400);
  expect(a.body.rejected).toEqual([expect.objectContaining({ field, message: expect.stringContaining('must not be negative') })]);
});

test('a caller cannot choose gateway_instance: the events carry ingest:<token name>, and the answer says so', async () => {
  const a = await ingest([item({ gateway_instance: 'gw-prod-1' })]);
  expect(a.status).toBe(200);
  expect(a.body.notes).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'gateway_instance', note: 'gateway_instance_replaced' })]));
  const event = await pipeline.waitForEvent(a.body.event_ids![0]!);
  expect(event.gateway_instance).toBe('ingest:batch-sdk');
});

describeWithElasticsearch('an existing event id never overwrites (console, embedded index, Elasticsearch)', (esUrl) => {
  const logger = createLogger('silent', 'test');
  const indexers: { indexer: RunningIndexer; registry: Registry }[] = [];
  let prefix: string;

  beforeAll(async () => {
    prefix = uniquePrefix('forged-ingest');
    const base = { LLM_LOGGER_DATA_DIR: pipeline.dataDir, LLM_LOGGER_LOG_LEVEL: 'silent' };
    // The embedded index (the console searches it) and an Elasticsearch one, both reading the pipeline's log.
    for (const [env, groupId] of [
      [base, undefined],
      [{ ...base, LLM_LOGGER_ELASTICSEARCH_URL: esUrl(), LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: prefix }, `${prefix}-group`],
    ] as const) {
      const registry = createMetricsRegistry();
      indexers.push({ indexer: await runIndexer(loadConfig(env), pipeline.log, registry, logger, { serveHealth: false, groupId }), registry });
    }
  });

  afterAll(async () => {
    for (const { indexer } of indexers) await indexer.close();
    await deleteTestIndices(esUrl(), prefix);
  });

  const processed = (text: string, role: string): number => {
    const m = new RegExp(`^llm_logger_consumer_records_total\\{role="${role}",topic="${TOPICS.inference}"\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };

  /** Until the console and both indexers have read every event in the log. */
  async function settled(): Promise<void> {
    const total = (await readInferenceEvents(pipeline.dataDir)).length;
    for (const deadline = Date.now() + 20_000; ; ) {
      const consoleDone = processed(await (await fetch(`${pipeline.gatewayUrl}/metrics`)).text(), 'console') >= total;
      const indexed = await Promise.all(indexers.map(async ({ registry }) => processed(await registry.metrics(), 'indexer') >= total));
      if (consoleDone && indexed.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('the consumers did not read every event in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    await fetch(`${esUrl()}/${prefix}-*/_refresh`, { method: 'POST' });
  }

  async function esDocs(eventId: string): Promise<{ user: string; cost_usd: number; prompt: string }[]> {
    const res = await fetch(`${esUrl()}/${prefix}-*/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: { term: { event_id: eventId } } }),
    });
    const body = (await res.json()) as { hits: { hits: { _source: { user: string; cost_usd: number; prompt: string } }[] } };
    return body.hits.hits.map((h) => h._source);
  }

  async function consoleSearch(q: string): Promise<{ event_id: string; user: string }[]> {
    return ((await (await fetch(`${pipeline.consoleUrl}/api/search?q=${encodeURIComponent(q)}`)).json()) as { hits: { event_id: string; user: string }[] }).hits;
  }

  test('a retried ingest (the same event twice) is kept once in every store', async () => {
    const id = uuidv7();
    const event = item({ event_id: id, user: 'retrier', request_body: 'retried prompt zebrafish', body_captured: true });
    expect((await ingest([event])).status).toBe(200);
    expect((await ingest([event])).status).toBe(200);
    await settled();
    const list = (await (await fetch(`${pipeline.consoleUrl}/api/requests?user=retrier`)).json()) as { requests: { event_id: string }[] };
    expect(list.requests.map((r) => r.event_id)).toEqual([id]);
    expect((await consoleSearch('zebrafish')).map((h) => h.event_id)).toEqual([id]);
    expect(await esDocs(id)).toHaveLength(1);
  });

  test('a forged ingest (an existing event id with other content) changes nothing: the first event stays in the console, the embedded index and Elasticsearch', async () => {
    const id = uuidv7();
    const original = item({ event_id: id, user: 'first-user', cost_micro_usd: 5, request_body: 'original prompt kingfisher', body_captured: true });
    expect((await ingest([original])).status).toBe(200);
    await settled();
    const forged = item({
      event_id: id,
      started_at: iso(STARTED + 1),
      user: 'forger',
      cost_micro_usd: 9_000_000,
      request_body: 'forged prompt albatross',
      body_captured: true,
    });
    // The API cannot know every id ever recorded: it accepts the item, and the stores keep the first.
    expect((await ingest([forged])).status).toBe(200);
    await settled();

    const stored = (await (await fetch(`${pipeline.consoleUrl}/api/requests/${id}`)).json()) as { user: string; cost_micro_usd: number; request_body: string };
    expect(stored).toMatchObject({ user: 'first-user', cost_micro_usd: 5, request_body: 'original prompt kingfisher' });
    expect(await consoleSearch('albatross')).toEqual([]);
    expect((await consoleSearch('kingfisher')).map((h) => [h.event_id, h.user])).toEqual([[id, 'first-user']]);
    expect((await esDocs(id)).map((d) => [d.user, d.cost_usd, d.prompt])).toEqual([['first-user', 0.000005, 'original prompt kingfisher']]);
    // A conflict is not an error: nothing went to the dead-letter topic.
    expect(readRecords(pipeline.dataDir, TOPICS.dlq)).toEqual([]);
  });
});
