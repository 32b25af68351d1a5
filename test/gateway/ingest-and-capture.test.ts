import { INFERENCE_EVENT_SCHEMA_VERSION } from '../../services/shared/event/inference-event';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { readInferenceEvents } from '../support/read-log';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { closeAll } from '../support/close-all';

/** The ingest API and body-capture settings, end to end through the log. */

let upstream: StandIn;
let pipeline: Pipeline;

beforeAll(async () => {
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url, { LLM_LOGGER_SAMPLE_RATE: '0', LLM_LOGGER_CAPTURE_MAX_BYTES: '40' });
});

afterAll(() => closeAll(pipeline, upstream));

/** A call that started a minute ago (relative to the clock: tests must hold on any day). */
const STARTED = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
const iso = (ms: number): string => new Date(ms).toISOString();

const valid = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  started_at: iso(STARTED.getTime()),
  ended_at: iso(STARTED.getTime() + 1_250),
  upstream: 'my-sdk',
  provider: 'openai',
  wire_format: 'openai',
  endpoint: 'chat.completions',
  method: 'POST',
  path: '/v1/chat/completions',
  streamed: false,
  request_model: 'gpt-4o',
  usage: { input_tokens: 10, output_tokens: 20, source: 'provider' },
  user: 'ingest-user',
  ...extra,
});

interface IngestAnswer {
  accepted: number;
  rejected: { index: number; field: string; message: string }[];
  event_ids: string[];
  notes: { index: number; field: string; note: string; message: string }[];
}

async function ingest(body: unknown): Promise<{ status: number; json: IngestAnswer }> {
  const res = await fetch(`${pipeline.gatewayUrl}/ingest/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as never };
}

describe('POST /ingest/v1/events', () => {
  test('valid events are kept and readable in the console with defaults filled', async () => {
    const { status, json } = await ingest([valid(), valid({ user: 'second' })]);
    expect(status).toBe(200);
    expect(json.accepted).toBe(2);
    const event = await pipeline.waitForEvent(json.event_ids[0]!);
    expect(event).toMatchObject({
      upstream: 'my-sdk',
      latency_ms: 1250,
      gateway_instance: 'ingest',
      schema_version: INFERENCE_EVENT_SCHEMA_VERSION,
      tags: {},
      client_cancelled: false,
      usage: { input_tokens: 10, output_tokens: 20, cached_input_tokens: null, source: 'provider' },
    });
    expect(event.started_at).toBe(STARTED.getTime());
    // A minute old: late for its aggregate window (30 s grace), but in the console's view.
    expect(json.notes.map((n) => [n.index, n.note])).toEqual([
      [0, 'late_for_aggregates'],
      [1, 'late_for_aggregates'],
    ]);
  });

  test('a back-filled event older than the console view is accepted with a note saying where it is kept', async () => {
    const old = Date.now() - 100 * 3_600_000; // 100 h ago; the console keeps 72 h
    const { status, json } = await ingest([valid({ started_at: iso(old), ended_at: iso(old + 500), user: 'backfill' })]);
    expect(status).toBe(200);
    expect(json.accepted).toBe(1);
    expect(json.notes).toEqual([
      expect.objectContaining({ index: 0, field: 'started_at', note: 'outside_console_view', message: expect.stringContaining('LLM_LOGGER_CONSOLE_VIEW_HOURS') }),
      expect.objectContaining({ index: 0, field: 'ended_at', note: 'late_for_aggregates' }),
    ]);
    // It is in the log, as the note says, and not in the console's list.
    const id = json.event_ids[0]!;
    const deadline = Date.now() + 10_000;
    while (!(await readInferenceEvents(pipeline.dataDir)).some((e) => e.event_id === id)) {
      if (Date.now() > deadline) throw new Error(`event ${id} not in the log`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await fetch(`${pipeline.consoleUrl}/api/requests/${id}`)).status).toBe(404);
  });

  test.each([
    ['a timestamp far in the future (9e15)', { started_at: 9e15, ended_at: 9e15 }, 'started_at'],
    ['an end a day ahead of the clock', { ended_at: iso(Date.now() + 86_400_000) }, 'ended_at'],
    ['a time before 2000', { started_at: '1999-12-31T23:59:59Z' }, 'started_at'],
    ['epoch seconds instead of milliseconds', { started_at: Math.floor(Date.now() / 1000), ended_at: Math.floor(Date.now() / 1000) + 1 }, 'started_at'],
  ])('%s is refused naming the field, and nothing is recorded', async (_what, extra, field) => {
    const user = `refused-${field}-${Math.random()}`;
    const { status, json } = await ingest([valid({ ...extra, user })]);
    expect(status).toBe(400);
    expect(json.accepted).toBe(0);
    expect(json.rejected).toEqual([expect.objectContaining({ index: 0, field })]);
    const list = (await (await fetch(`${pipeline.consoleUrl}/api/requests?user=${encodeURIComponent(user)}`)).json()) as { requests: unknown[] };
    expect(list.requests).toHaveLength(0);
  });

  test('invalid items are refused one by one, naming the field; valid ones are kept', async () => {
    const { status, json } = await ingest([
      valid(),
      valid({ usage: { input_tokens: 'ten' } }),
      valid({ upstream: undefined }),
      valid({ surprise: 1 }),
      valid({ started_at: iso(STARTED.getTime()).replace('T', ' ').replace(/:\d\d\.\d+Z$/, '') }), // no zone
      valid({ event_id: 'not-a-uuid' }),
    ]);
    expect(status).toBe(207);
    expect(json.accepted).toBe(1);
    expect(json.rejected.map((r) => [r.index, r.field])).toEqual([
      [1, 'usage.input_tokens'],
      [2, 'upstream'],
      [3, 'surprise'],
      [4, 'started_at'],
      [5, 'event_id'],
    ]);
    await pipeline.waitForEvent(json.event_ids[0]!);
  });

  test('a resent event id does not duplicate the call in the console', async () => {
    const id = '01932f6e-1234-7abc-8def-0123456789ab';
    await ingest([valid({ event_id: id })]);
    await ingest([valid({ event_id: id })]);
    await pipeline.waitForEvent(id);
    const list = (await (await fetch(`${pipeline.consoleUrl}/api/requests?upstream=my-sdk&limit=1000`)).json()) as { requests: { event_id: string }[] };
    expect(list.requests.filter((r) => r.event_id === id)).toHaveLength(1);
  });

  test.each([
    ['not json', 400, 'not json', 'invalid_json'],
    ['{"events":"nope"}', 400, { events: 'nope' }, 'invalid_body'],
    ['one item with a numeric upstream', 400, [valid({ upstream: 5 })], undefined],
  ])('%s is refused with %d', async (_what, status, body, type) => {
    const res = await fetch(`${pipeline.gatewayUrl}/ingest/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error?: { type: string } };
    if (type) expect(json.error?.type).toBe(type);
  });

  test('GET is refused with 405', async () => {
    expect((await fetch(`${pipeline.gatewayUrl}/ingest/v1/events`)).status).toBe(405);
  });
});

describe('body capture', () => {
  test('LLM_LOGGER_SAMPLE_RATE=0 keeps metadata only', async () => {
    const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'no capture' }] }),
    });
    const event = await pipeline.waitForEvent(res.headers.get('x-llm-request-id')!);
    expect(event.body_captured).toBe(false);
    expect(event.request_body).toBeNull();
    expect(event.usage.output_tokens).toBe(8);
  });

  test('x-llm-sample: 1 captures, cut at LLM_LOGGER_CAPTURE_MAX_BYTES with the flag set', async () => {
    const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-llm-sample': '1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'capture me, but only the first forty bytes' }] }),
    });
    const event = await pipeline.waitForEvent(res.headers.get('x-llm-request-id')!);
    expect(event.body_captured).toBe(true);
    expect(event.body_truncated).toBe(true);
    expect(Buffer.byteLength(event.request_body!)).toBeLessThanOrEqual(40);
    expect(Buffer.byteLength(event.response_body!)).toBeLessThanOrEqual(40);
    expect(event.response_text).toContain('Hello from the stand-in');
  });
});

describe('GET /api/requests filters', () => {
  test('user, upstream, status class, time range, limit and paging', async () => {
    const base = `${pipeline.consoleUrl}/api/requests`;
    const get = async (q: string): Promise<{ requests: { event_id: string; started_at: string; http_status: number }[]; next_before: string | null }> =>
      (await (await fetch(`${base}?${q}`)).json()) as never;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'x-llm-user': 'pager' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `page ${i}` }] }),
      });
      await pipeline.waitForEvent(res.headers.get('x-llm-request-id')!);
    }
    const all = await get('user=pager');
    expect(all.requests).toHaveLength(3);
    const times = all.requests.map((r) => Date.parse(r.started_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const first = await get('user=pager&limit=2');
    expect(first.requests).toHaveLength(2);
    const second = await get(`user=pager&limit=2&before=${first.next_before}`);
    expect(second.requests.map((r) => r.event_id)).toEqual([all.requests[2]!.event_id]);
    expect((await get('user=pager&status=2xx')).requests).toHaveLength(3);
    expect((await get('user=pager&status=error')).requests).toHaveLength(0);
    expect((await get(`user=pager&from=${Date.now() + 60_000}`)).requests).toHaveLength(0);
    const bad = await fetch(`${base}?limit=zero`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { parameter: string } }).error.parameter).toBe('limit');
    expect((await fetch(`${base}/not-a-uuid`)).status).toBe(400);
    expect((await fetch(`${base}/01932f6e-0000-7abc-8def-0123456789ab`)).status).toBe(404);
  });
});
