import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { decodeLiveRecord } from '../../services/shared/event/live-record-codec';
import type { LiveStarted } from '../../services/shared/event/live-record';
import { buildRedactor } from '../../services/shared/redaction/redaction-config';
import { redactEvent } from '../../services/shared/redaction/redact-event';
import { sampleEvent } from '../support/sample-event';
import { readArchiveWithDuckDb } from '../support/archive-reader';
import { describeWithElasticsearch, uniquePrefix } from '../support/elasticsearch';
import { readInferenceEvents, readRecords } from '../support/read-log';
import { filesUnder, startFullPipeline, until, type FullPipeline } from '../support/redaction-pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * Redaction as an attacker and an auditor would test it (issue 22, point 4):
 * inputs made to blow up the algorithm, and, under policy `all`, each kind of
 * value the built-ins know looked for in every store (the log, the console's
 * API, the live tail, the audit index, the Parquet archive) and in every log
 * line. Values shaped like real keys are built from parts, so that no
 * literal key sits in the repository.
 */

const join_ = (...parts: string[]): string => parts.join('');
const mask = buildRedactor(undefined, 'mask');

/**
 * Far above what a linear algorithm needs (tens to hundreds of ms), far below
 * what a quadratic one does on these inputs (tens of seconds to minutes).
 * Measured in CPU time of this process, so that a busy machine (other
 * processes on the same cores) cannot make it fail.
 */
const GENEROUS_BOUND_MS = 2_000;

function cpuMs<T>(fn: () => T): { result: T; ms: number } {
  const before = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(before);
  return { result, ms: (used.user + used.system) / 1000 };
}

describe('linear time', () => {
  test('a prompt of `token` and 1 MiB of spaces is redacted within a bound only a super-linear algorithm misses, unchanged', () => {
    const prompt = `token${' '.repeat(1024 * 1024)}`;
    const event = sampleEvent({ streamed: false, request_body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] }) });
    const { result, ms } = cpuMs(() => redactEvent(event, mask));
    const { event: out, applied } = result;
    process.stdout.write(`token + 1 MiB of spaces: ${Math.round(ms)} ms of CPU\n`);
    expect(ms).toBeLessThan(GENEROUS_BOUND_MS);
    expect(applied).toEqual([]);
    expect(out).toEqual(event); // nothing in it to redact: nothing changed
  });

  test('a prompt of 150,000 e-mail addresses is redacted within the same bound, every address and nothing else', () => {
    const addresses = Array.from({ length: 150_000 }, (_, i) => `person${i}@example${i % 50}.com`);
    const event = sampleEvent({ streamed: false, request_body: JSON.stringify({ messages: [{ role: 'user', content: addresses.join(' ') }] }) });
    const { result, ms } = cpuMs(() => redactEvent(event, mask));
    const { event: out, applied } = result;
    process.stdout.write(`150,000 e-mail addresses: ${Math.round(ms)} ms of CPU\n`);
    expect(ms).toBeLessThan(GENEROUS_BOUND_MS);
    expect(applied).toEqual(['email']);
    const content = (JSON.parse(out.request_body!) as { messages: { content: string }[] }).messages[0]!.content;
    expect(content).toBe(Array.from({ length: 150_000 }, () => '[REDACTED:email]').join(' '));
    expect({ ...out, request_body: event.request_body }).toEqual(event);
  });
});

// ---------------------------------------------------------------------------------------------
// Policy `all`: every store.

interface Case {
  name: string;
  /** The value no store may hold. */
  value: string;
  /** How it sits in the prompt (a value of a setting is redacted, its name stays). */
  prompt: string;
  /** The rule that redacts it. */
  rule: string;
}

const AWS_SECRET = join_('wJalrXUtnFEMI/K7MDENG', '/bPxRfiCYEXAMPLEKEY');
const CASES: Case[] = [
  { name: 'a US social security number', value: '078-05-1120', prompt: 'my ssn is 078-05-1120 ok', rule: 'ssn' },
  { name: 'an IBAN', value: 'DE89 3704 0044 0532 0130 00', prompt: 'pay to DE89 3704 0044 0532 0130 00 today', rule: 'iban' },
  { name: 'an AWS secret access key', value: AWS_SECRET, prompt: `aws_secret_access_key = ${AWS_SECRET}`, rule: 'secret' },
  { name: 'an AWS temporary access key id (ASIA)', value: join_('ASIA', 'Y34FZKBOKMUTVV7A'), prompt: join_('key id ', 'ASIA', 'Y34FZKBOKMUTVV7A', ' here'), rule: 'secret' },
  {
    name: 'an Azure OpenAI key (32 hex digits, said to be a key)',
    value: join_('9f8e7d6c5b4a', '39281706f5e4d3c2b1a0'),
    prompt: join_('the azure openai key is ', '9f8e7d6c5b4a', '39281706f5e4d3c2b1a0', ' thanks'),
    rule: 'secret',
  },
  {
    name: 'an Azure storage account key',
    value: join_('Zm9v'.repeat(21), 'Y/', '=='),
    prompt: join_('DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=', 'Zm9v'.repeat(21), 'Y/', '==', ';EndpointSuffix=core.windows.net'),
    rule: 'secret',
  },
  {
    name: 'a JWT',
    value: join_('eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'),
    prompt: join_('session ', 'eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', ' expired'),
    rule: 'secret',
  },
  { name: 'a GitHub token', value: join_('ghp_', 'a1B2c3D4'.repeat(4), 'zZ9y'), prompt: join_('use ', 'ghp_', 'a1B2c3D4'.repeat(4), 'zZ9y', ' to push'), rule: 'secret' },
  {
    name: 'a GitHub fine-grained token',
    value: join_('github_pat_', '11ABCDEFG0', '_', 'x9Y8'.repeat(15)),
    prompt: join_('pat ', 'github_pat_', '11ABCDEFG0', '_', 'x9Y8'.repeat(15), ' end'),
    rule: 'secret',
  },
  { name: 'a Slack bot token', value: join_('xoxb-', '2468013579-', 'AbCdEfGhIjKl'), prompt: join_('bot ', 'xoxb-', '2468013579-', 'AbCdEfGhIjKl', ' posts'), rule: 'secret' },
  { name: 'a Slack app token', value: join_('xapp-', '1-A0123456789-', 'abcdef0123'), prompt: join_('app ', 'xapp-', '1-A0123456789-', 'abcdef0123', ' connects'), rule: 'secret' },
];

interface Sent {
  eventId: string;
  body: Record<string, unknown>;
}

/** One streamed call per case, slow enough (250 ms to the first word, then one every 40 ms) to be published live, answered with its prompt. */
async function sendCase(p: FullPipeline, c: Case, user: string): Promise<Sent> {
  const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: c.prompt }] };
  const res = await fetch(`${p.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-stand-in-echo': '1',
      'x-stand-in-first-event-delay-ms': '250',
      'x-stand-in-chunk-delay-ms': '40',
      'x-llm-user': user,
    },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  await res.text();
  return { eventId: res.headers.get('x-llm-request-id')!, body };
}

function expectNoValue(where: string, text: string, value: string): void {
  if (text.includes(value)) throw new Error(`${where} holds the raw value ${JSON.stringify(value)}`);
}

/** The request body that was sent, with the value replaced as the rule does (nothing else may differ). */
function expectedBody(s: Sent, c: Case): Record<string, unknown> {
  const content = c.prompt.replace(c.value, `[REDACTED:${c.rule}]`);
  return { ...s.body, messages: [{ role: 'user', content }] };
}

describe('policy all: no store and no log line holds a redacted value', () => {
  let upstream: StandIn;
  let p: FullPipeline;
  const sent = new Map<string, Sent>();
  let events: InferenceEvent[] = [];

  beforeAll(async () => {
    upstream = await startStandIn();
    p = await startFullPipeline(upstream.url, { LLM_LOGGER_REDACTION_POLICY: 'all' });
    await Promise.all(CASES.map(async (c, i) => sent.set(c.name, await sendCase(p, c, `user-${i}`))));
    const ids = [...sent.values()].map((s) => s.eventId);
    // Everything downstream has caught up: the console view, the index, the archive.
    await until('console', async () => (await Promise.all(ids.map((id) => fetch(`${p.consoleUrl}/api/requests/${id}`)))).every((r) => r.status === 200));
    await until('index', async () => {
      const page = (await (await fetch(`${p.consoleUrl}/api/search?upstream=openai&limit=100`)).json()) as { total: number };
      return page.total >= ids.length;
    });
    await until('archive', async () => (await readArchiveWithDuckDb(join(p.dataDir, 'parquet')).catch(() => [])).length >= ids.length, 20_000);
    events = await readInferenceEvents(p.dataDir);
  }, 90_000);

  afterAll(async () => {
    await p?.close();
    await upstream?.close();
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s is in no store, redacted where it was, nothing else changed', async (_name, c) => {
    const s = sent.get(c.name)!;
    // The log: the event as written, with the value replaced in the prompt and the echoed answer.
    const event = events.find((e) => e.event_id === s.eventId)!;
    expect(event).toBeDefined();
    expect(JSON.parse(event.request_body!)).toEqual(expectedBody(s, c));
    expect(event.response_text).toBe(c.prompt.replace(c.value, `[REDACTED:${c.rule}]`));
    // The stream as received carried the value in pieces: it is left out, the assembled answer kept.
    expect(event.response_body).toBeNull();
    expect(event).toMatchObject({ http_status: 200, streamed: true, body_captured: true, request_model: 'gpt-4o-mini' });
    expect(event.usage.output_tokens).toBeGreaterThan(0);
    // Every file of every store (log, console view, index, archive, spool), byte for byte.
    for (const file of filesUnder(p.dataDir)) expectNoValue(file.path, file.bytes.toString('latin1'), Buffer.from(c.value).toString('latin1'));
    // The console's API.
    const detail = await (await fetch(`${p.consoleUrl}/api/requests/${s.eventId}`)).text();
    expectNoValue('GET /api/requests/:id', detail, c.value);
    expect(detail).toContain(`[REDACTED:${c.rule}]`);
    // The audit index, through the search API.
    const search = await (await fetch(`${p.consoleUrl}/api/search?q=${encodeURIComponent(`"${c.value}"`)}`)).json();
    expect(search).toMatchObject({ total: 0 });
    // The archive, read by DuckDB.
    const row = (await readArchiveWithDuckDb(join(p.dataDir, 'parquet'))).find((r) => r.event_id === s.eventId)!;
    expectNoValue('the Parquet archive', JSON.stringify(row), c.value);
    expect(row.request_body).toBe(event.request_body);
    // The live tail: the call was announced with no text at all, saying so.
    const live = readRecords(p.dataDir, TOPICS.inferenceLive).map((r) => decodeLiveRecord(r.value)).filter((r) => r.event_id === s.eventId);
    expectNoValue('the live topic', JSON.stringify(live), c.value);
    const started = live.find((r): r is LiveStarted => r.type === 'started');
    expect(started).toMatchObject({ prompt: null, user: null, app: null, text_withheld: true });
    expect(live.filter((r) => r.type === 'progress').every((r) => r.type === 'progress' && r.text === '')).toBe(true);
    // Every log line of every role, at debug level.
    expectNoValue('the log output', p.logOutput(), c.value);
  });

  test('an ingested event is redacted before it is written too: bodies and metadata', async () => {
    // Not the number the cases above search for: the access log keeps what an auditor typed into a search, as typed.
    const ssn = '219-09-9999';
    const now = Date.now();
    const item = {
      started_at: now - 2_000,
      ended_at: now - 1_000,
      upstream: 'my-sdk',
      provider: 'openai',
      wire_format: 'openai',
      endpoint: 'chat.completions',
      method: 'POST',
      path: '/v1/chat/completions',
      streamed: false,
      request_model: 'gpt-4o',
      user: 'carol@example.com',
      tags: { ticket: `ssn ${ssn}` },
      body_captured: true,
      request_body: JSON.stringify({ messages: [{ role: 'user', content: `my ssn is ${ssn}` }] }),
      response_text: `noted ${ssn}`,
      usage: { input_tokens: 10, output_tokens: 2, source: 'provider' },
    };
    const res = await fetch(`${p.gatewayUrl}/ingest/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([item]) });
    expect(res.status).toBe(200);
    const [id] = ((await res.json()) as { event_ids: string[] }).event_ids;
    const event = (await readInferenceEvents(p.dataDir)).find((e) => e.event_id === id)!;
    expect(event).toMatchObject({
      user: '[REDACTED:email]',
      tags: { ticket: 'ssn [REDACTED:ssn]' },
      response_text: 'noted [REDACTED:ssn]',
      request_model: 'gpt-4o',
      usage: { input_tokens: 10, output_tokens: 2 },
    });
    expect(JSON.parse(event.request_body!)).toEqual({ messages: [{ role: 'user', content: 'my ssn is [REDACTED:ssn]' }] });
    for (const file of filesUnder(p.dataDir)) {
      expectNoValue(file.path, file.bytes.toString('latin1'), ssn);
      expectNoValue(file.path, file.bytes.toString('latin1'), 'carol@example.com');
    }
  });

  test('keys sent as authorization, x-api-key, api-key, ?key= and inside a request body reach the upstream and no store or log line', async () => {
    const keys = {
      authorization: join_('sk-proj-', 'AuthHeader0123456789abcd'),
      xApiKey: join_('sk-ant-api03-', 'XApiKeyHeader0123456789'),
      apiKey: join_('a0b1c2d3e4f5', 'a6b7c8d9e0f1a2b3c4d5'),
      query: join_('AIza', 'QueryParam0123456789abcdefghijklmno'),
      body: join_('sk-proj-', 'InTheBody0123456789abcdef'),
    };
    const body = { model: 'gpt-4o-mini', api_key: keys.body, messages: [{ role: 'user', content: 'hello' }] };
    const calls = [
      fetch(`${p.gatewayUrl}/openai/v1/chat/completions?key=${keys.query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.authorization}`, 'x-api-key': keys.xApiKey },
        body: JSON.stringify(body),
      }),
      fetch(`${p.gatewayUrl}/azure/myresource/openai/deployments/gpt/chat/completions?api-version=2024-06-01`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': keys.apiKey },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      }),
    ];
    const ids: string[] = [];
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(200);
      await res.text();
      ids.push(res.headers.get('x-llm-request-id')!);
    }
    // The upstream got every key as sent (the gateway forwards them untouched).
    const seen = JSON.stringify(upstream.requests.map((r) => ({ url: r.url, headers: r.headers, body: r.body.toString('utf8') })));
    for (const k of Object.values(keys)) expect(seen).toContain(k);
    await until('console', async () => (await Promise.all(ids.map((id) => fetch(`${p.consoleUrl}/api/requests/${id}`)))).every((r) => r.status === 200));
    await until('archive', async () => {
      const rows = await readArchiveWithDuckDb(join(p.dataDir, 'parquet')).catch(() => []);
      return ids.every((id) => rows.some((r) => r.event_id === id));
    }, 20_000);
    const written = (await readInferenceEvents(p.dataDir)).filter((e) => ids.includes(e.event_id));
    expect(written).toHaveLength(2);
    expect(JSON.parse(written.find((e) => e.event_id === ids[0])!.request_body!)).toEqual({ ...body, api_key: '[REDACTED:secret]' });
    for (const k of Object.values(keys)) {
      for (const file of filesUnder(p.dataDir)) expectNoValue(file.path, file.bytes.toString('latin1'), k);
      for (const id of ids) expectNoValue('GET /api/requests/:id', await (await fetch(`${p.consoleUrl}/api/requests/${id}`)).text(), k);
      expectNoValue('the Parquet archive', JSON.stringify(await readArchiveWithDuckDb(join(p.dataDir, 'parquet'))), k);
      expectNoValue('the log output', p.logOutput(), k);
    }
  });
});

describeWithElasticsearch('policy all: the Elasticsearch index holds no redacted value', (esUrl) => {
  let upstream: StandIn;
  let p: FullPipeline;
  let prefix: string;
  const sent = new Map<string, Sent>();

  beforeAll(async () => {
    upstream = await startStandIn();
    prefix = uniquePrefix('redact');
    p = await startFullPipeline(upstream.url, { LLM_LOGGER_REDACTION_POLICY: 'all', LLM_LOGGER_ELASTICSEARCH_URL: esUrl(), LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: prefix });
    await Promise.all(CASES.map(async (c, i) => sent.set(c.name, await sendCase(p, c, `user-${i}`))));
    await until('elasticsearch', async () => {
      await fetch(`${esUrl()}/${prefix}-*/_refresh`, { method: 'POST' });
      const res = await fetch(`${esUrl()}/${prefix}-*/_count`);
      return res.ok && ((await res.json()) as { count: number }).count >= CASES.length;
    }, 30_000);
  }, 90_000);

  afterAll(async () => {
    await p?.close();
    await upstream?.close();
    if (prefix) await fetch(`${esUrl()}/${prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s is not in the Elasticsearch document, and not findable', async (_name, c) => {
    const s = sent.get(c.name)!;
    const res = await fetch(`${esUrl()}/${prefix}-*/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: { ids: { values: [s.eventId] } } }),
    });
    const hits = ((await res.json()) as { hits: { hits: { _source: Record<string, unknown> }[] } }).hits.hits;
    expect(hits).toHaveLength(1);
    const doc = hits[0]!._source;
    expectNoValue('the Elasticsearch document', JSON.stringify(doc), c.value);
    expect(doc.prompt).toBe(c.prompt.replace(c.value, `[REDACTED:${c.rule}]`));
    const search = await (await fetch(`${p.consoleUrl}/api/search?q=${encodeURIComponent(`"${c.value}"`)}`)).json();
    expect(search).toMatchObject({ backend: 'elasticsearch', total: 0 });
  });
});
