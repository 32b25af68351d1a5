import { INFERENCE_EVENT_SCHEMA_VERSION, inferenceEventType } from '../../shared/event/inference-event';
import { ingestNotes, MAX_CLOCK_SKEW_MS, validateIngestItem, type IngestItemResult, type IngestRejection } from './ingest-validation';

const type = inferenceEventType();
const GENERATED_ID = '01890a5d-ac96-774b-bcce-b302099a8057';
/** The gateway's clock, injected: these tests hold whatever today's date is. */
const NOW = 1_700_000_100_000;
const fallback = { newEventId: () => GENERATED_ID, instance: 'ingest:sdk', now: NOW };

/** The fields the schema requires and gives no default for (event_id, usage and the instance are filled in). */
const MINIMAL = {
  started_at: 1_700_000_000_000,
  ended_at: 1_700_000_001_500,
  upstream: 'openai',
  provider: 'openai',
  wire_format: 'openai',
  endpoint: 'chat.completions',
  method: 'POST',
  path: '/v1/chat/completions',
  streamed: false,
};

function validate(item: unknown, index = 0): IngestItemResult {
  return validateIngestItem(type, item, index, fallback);
}

function rejection(item: unknown, index = 0): IngestRejection {
  const r = validate(item, index);
  if (r.ok) throw new Error('expected a rejection');
  return r.rejection;
}

describe('validateIngestItem', () => {
  it('accepts a minimal item, filling defaults and generating the event id', () => {
    const r = validate(MINIMAL);
    if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.rejection)}`);
    expect(r.event).toEqual({
      ...MINIMAL,
      event_id: GENERATED_ID,
      schema_version: INFERENCE_EVENT_SCHEMA_VERSION,
      gateway_instance: 'ingest:sdk',
      latency_ms: 1500,
      first_token_at: null,
      ttft_ms: null,
      request_model: null,
      response_model: null,
      http_status: null,
      error_class: null,
      error_type: null,
      error_message: null,
      finish_reason: null,
      usage: {
        input_tokens: null,
        output_tokens: null,
        cached_input_tokens: null,
        cache_write_tokens: null,
        reasoning_tokens: null,
        source: 'none',
        cache_write_1h_tokens: null,
        input_audio_tokens: null,
        input_image_tokens: null,
        output_audio_tokens: null,
        output_image_tokens: null,
        note: null,
      },
      cost_micro_usd: null,
      price_version: null,
      chunk_count: 0,
      request_bytes: 0,
      response_bytes: 0,
      user: null,
      app: null,
      session: null,
      trace_id: null,
      tags: {},
      client_cancelled: false,
      body_captured: false,
      body_truncated: false,
      request_body: null,
      response_body: null,
      response_text: null,
      tool_calls: null,
      gateway_key_id: null,
      truncated_fields: null,
      service_tier: null,
      cost_note: null,
    });
    expect(r.notes).toEqual([]);
    // What was accepted encodes and decodes as the Avro record.
    expect(type.fromBuffer(type.toBuffer(r.event))).toEqual(r.event);
  });

  it('keeps the values the client gave', () => {
    const r = validate({
      ...MINIMAL,
      event_id: '01890a5d-ac96-774b-bcce-b302099a8058',
      latency_ms: 1499.5,
      usage: { input_tokens: 10, output_tokens: 2, source: 'provider' },
      tags: { team: 'core' },
    });
    if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.rejection)}`);
    expect(r.event).toMatchObject({
      event_id: '01890a5d-ac96-774b-bcce-b302099a8058',
      latency_ms: 1499.5,
      tags: { team: 'core' },
      usage: { input_tokens: 10, output_tokens: 2, cached_input_tokens: null, source: 'provider' },
    });
  });

  it('does not modify the item it was given', () => {
    const item = { ...MINIMAL, usage: { input_tokens: 1 } };
    const before = JSON.stringify(item);
    validate(item);
    expect(JSON.stringify(item)).toBe(before);
  });

  it('converts ISO-8601 timestamps to epoch milliseconds', () => {
    const r = validate({
      ...MINIMAL,
      started_at: '2023-11-14T10:00:00.000Z',
      first_token_at: '2023-11-14T10:00:00.250Z',
      ended_at: '2023-11-14T10:00:01.000Z',
    });
    if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.rejection)}`);
    expect(r.event.started_at).toBe(Date.UTC(2023, 10, 14, 10, 0, 0));
    expect(r.event.first_token_at).toBe(Date.UTC(2023, 10, 14, 10, 0, 0, 250));
    expect(r.event.ended_at).toBe(Date.UTC(2023, 10, 14, 10, 0, 1));
    expect(r.event.latency_ms).toBe(1000);
  });

  it('rejects a timestamp string that is not a date, naming the field', () => {
    const r = rejection({ ...MINIMAL, started_at: 'yesterday' }, 3);
    expect(r).toMatchObject({ index: 3, field: 'started_at' });
  });

  it('rejects an unknown field, naming it', () => {
    const r = rejection({ ...MINIMAL, colour: 'blue' }, 2);
    expect(r.index).toBe(2);
    expect(r.field).toBe('colour');
    expect(r.message).toContain('colour');
  });

  it('rejects a wrongly typed nested field with its path', () => {
    const r = rejection({ ...MINIMAL, usage: { input_tokens: 'abc' } });
    expect(r.field).toBe('usage.input_tokens');
    expect(r.message).toContain('"abc"');
  });

  it.each([
    ['streamed', 'yes'],
    ['http_status', 200.5],
    ['tags', { team: 1 }],
    ['started_at', 1.5],
  ])('rejects a wrong type for %s', (field, value) => {
    expect(rejection({ ...MINIMAL, [field]: value }).field).toMatch(new RegExp(`^${field}`));
  });

  it('rejects a missing required field, naming it', () => {
    const { upstream: _omitted, ...item } = MINIMAL;
    const r = rejection(item);
    expect(r.field).toBe('upstream');
    expect(r.message).toContain('missing');
  });

  it.each(['not-a-uuid', 42, '01890a5d-ac96-774b-bcce-b302099a805'])('rejects the event id %j', (id) => {
    expect(rejection({ ...MINIMAL, event_id: id }).field).toBe('event_id');
  });

  it('rejects ended_at before started_at', () => {
    const r = rejection({ ...MINIMAL, ended_at: MINIMAL.started_at - 1 });
    expect(r.field).toBe('ended_at');
  });

  it.each([
    ['started_at', { started_at: 9e15, ended_at: 9e15 }, 'ahead of the gateway'],
    ['started_at', { started_at: NOW + MAX_CLOCK_SKEW_MS + 1, ended_at: NOW + MAX_CLOCK_SKEW_MS + 2 }, 'ahead of the gateway'],
    ['ended_at', { ended_at: NOW + MAX_CLOCK_SKEW_MS + 1 }, 'ahead of the gateway'],
    ['first_token_at', { first_token_at: NOW + 3_600_000 }, 'ahead of the gateway'],
    ['started_at', { started_at: 1_700_000_000, ended_at: 1_700_000_001 }, '2000-01-01'], // seconds, not ms
    ['started_at', { started_at: '1999-12-31T23:59:59Z' }, '2000-01-01'],
    ['first_token_at', { first_token_at: MINIMAL.started_at - 1 }, 'between started_at and ended_at'],
    ['first_token_at', { first_token_at: MINIMAL.ended_at + 1 }, 'between started_at and ended_at'],
  ])('refuses an impossible %s (%j)', (field, extra, message) => {
    const r = rejection({ ...MINIMAL, ...extra });
    expect(r.field).toBe(field);
    expect(r.message).toContain(message);
  });

  it('accepts a timestamp a little ahead of the clock (skew) and one on 2000-01-01', () => {
    expect(validate({ ...MINIMAL, started_at: NOW, ended_at: NOW + MAX_CLOCK_SKEW_MS }).ok).toBe(true);
    expect(validate({ ...MINIMAL, started_at: Date.UTC(2000, 0, 1), ended_at: Date.UTC(2000, 0, 1, 0, 0, 1) }).ok).toBe(true);
  });

  it('rejects a negative latency', () => {
    expect(rejection({ ...MINIMAL, latency_ms: -1 }).field).toBe('latency_ms');
  });

  it.each([
    [{ usage: { input_tokens: -5 } }, 'usage.input_tokens', 'must not be negative, got -5'],
    [{ usage: { input_tokens: 5, cache_write_1h_tokens: -1 } }, 'usage.cache_write_1h_tokens', 'must not be negative, got -1'],
    [{ cost_micro_usd: -3 }, 'cost_micro_usd', 'must not be negative, got -3'],
    [{ usage: { output_tokens: 2.5 } }, 'usage.output_tokens', 'expected'],
  ])('rejects the negative or fractional count in %j, naming it', (extra, field, message) => {
    const r = rejection({ ...MINIMAL, ...extra });
    expect(r).toMatchObject({ field });
    expect(r.message).toContain(message);
  });

  it('refuses a service tier or cost note longer than the event keeps, naming the field', () => {
    expect(rejection({ ...MINIMAL, service_tier: 't'.repeat(65) })).toMatchObject({ field: 'service_tier', message: 'must be at most 64 characters, got 65' });
    expect(rejection({ ...MINIMAL, cost_note: 'n'.repeat(1_025) })).toMatchObject({ field: 'cost_note', message: 'must be at most 1024 characters, got 1025' });
    expect(validate({ ...MINIMAL, service_tier: 't'.repeat(64), cost_note: 'n'.repeat(1_024) }).ok).toBe(true);
  });

  it('takes the v2 fields: service tier, cost note and the usage breakdown', () => {
    const r = validate({ ...MINIMAL, service_tier: 'batch', cost_note: 'service tier batch (×0.5)', usage: { input_tokens: 10, output_tokens: 2, cache_write_1h_tokens: 4, note: null } });
    expect(r.ok && r.event).toMatchObject({ service_tier: 'batch', cost_note: 'service tier batch (×0.5)', usage: { cache_write_1h_tokens: 4, input_audio_tokens: null } });
  });

  it.each([
    ['ttft_ms', { ttft_ms: -0.5 }],
    ['cost_micro_usd', { cost_micro_usd: -1 }],
    ['chunk_count', { chunk_count: -3 }],
    ['request_bytes', { request_bytes: -1 }],
    ['response_bytes', { response_bytes: -1 }],
    ['usage.input_tokens', { usage: { input_tokens: -10 } }],
    ['usage.output_tokens', { usage: { output_tokens: -1 } }],
    ['usage.cached_input_tokens', { usage: { cached_input_tokens: -1 } }],
    ['usage.cache_write_tokens', { usage: { cache_write_tokens: -1 } }],
    ['usage.reasoning_tokens', { usage: { reasoning_tokens: -1 } }],
    ['usage.cache_write_1h_tokens', { usage: { cache_write_1h_tokens: -1 } }],
    ['usage.input_audio_tokens', { usage: { input_audio_tokens: -1 } }],
    ['usage.input_image_tokens', { usage: { input_image_tokens: -1 } }],
    ['usage.output_audio_tokens', { usage: { output_audio_tokens: -1 } }],
    ['usage.output_image_tokens', { usage: { output_image_tokens: -1 } }],
  ])('refuses a negative %s, naming it', (field, extra) => {
    const r = rejection({ ...MINIMAL, ...extra });
    expect(r.field).toBe(field);
    expect(r.message).toContain('must not be negative');
  });

  it('refuses an HTTP status outside 100-599', () => {
    expect(rejection({ ...MINIMAL, http_status: 0 }).field).toBe('http_status');
    expect(rejection({ ...MINIMAL, http_status: 1000 }).field).toBe('http_status');
    expect(validate({ ...MINIMAL, http_status: 599 }).ok).toBe(true);
  });

  it('refuses a model name longer than the event keeps (256 characters), naming the field', () => {
    const r = rejection({ ...MINIMAL, request_model: 'm'.repeat(40_000) });
    expect(r).toMatchObject({ field: 'request_model', message: 'must be at most 256 characters, got 40000' });
    expect(validate({ ...MINIMAL, request_model: 'm'.repeat(256) }).ok).toBe(true);
  });

  it('records the ingest source as gateway_instance whatever the item says, and says so', () => {
    const r = validate({ ...MINIMAL, gateway_instance: 'gw-prod-1', gateway_key_id: 'someone-else' }, 5);
    if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.rejection)}`);
    expect(r.event.gateway_instance).toBe('ingest:sdk');
    expect(r.event.gateway_key_id).toBeNull();
    expect(r.notes.map((n) => [n.index, n.field, n.note])).toEqual([
      [5, 'gateway_instance', 'gateway_instance_replaced'],
      [5, 'gateway_key_id', 'gateway_key_id_cleared'],
    ]);
    // Giving the value it would get anyway is not worth a note.
    const same = validate({ ...MINIMAL, gateway_instance: 'ingest:sdk' });
    expect(same.ok && same.notes).toEqual([]);
  });

  it.each([null, 'text', 42, [MINIMAL]])('rejects the non-object item %j', (item) => {
    expect(rejection(item).field).toBe('');
  });

  // A typo must not be silently dropped, at the top level or inside `usage`.
  test('rejects an unknown field inside usage, naming its path', () => {
    const r = validate({ ...MINIMAL, usage: { input_tokens: 10, output_tokenz: 5 } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection.field).toBe('usage.output_tokenz');
  });
});

describe('ingestNotes', () => {
  const H = 3_600_000;
  const horizons = { consoleViewMs: 72 * H, aggregatorGraceMs: 30_000, indexRetentionDays: 30 };
  const event = (startedAgoMs: number): Parameters<typeof ingestNotes>[0] => {
    const r = validate({ ...MINIMAL, started_at: NOW - startedAgoMs, ended_at: NOW - startedAgoMs + 1_000 });
    if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.rejection)}`);
    return r.event;
  };

  it('says nothing of a fresh event', () => {
    expect(ingestNotes(event(5_000), 0, NOW, horizons)).toEqual([]);
  });

  it('says a back-filled event is late for its aggregate window', () => {
    expect(ingestNotes(event(2 * H), 4, NOW, horizons)).toEqual([
      expect.objectContaining({ index: 4, field: 'ended_at', note: 'late_for_aggregates', message: expect.stringContaining('LLM_LOGGER_AGGREGATOR_GRACE_MS') }),
    ]);
  });

  it("says an event older than the console's view is kept but not listed", () => {
    const notes = ingestNotes(event(100 * H), 1, NOW, horizons);
    expect(notes.map((n) => n.note)).toEqual(['outside_console_view', 'late_for_aggregates']);
    expect(notes[0]!.message).toMatch(/72 h.*LLM_LOGGER_CONSOLE_VIEW_HOURS.*kept in the log and the Parquet archive/);
  });

  it("says an event older than the audit index's retention may not stay searchable", () => {
    const notes = ingestNotes(event(40 * 24 * H), 0, NOW, horizons);
    expect(notes.map((n) => n.note)).toEqual(['outside_console_view', 'late_for_aggregates', 'past_index_retention']);
  });
});
