import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLlmLoggerError } from '../../services/shared/errors';
import {
  INFERENCE_EVENT_SUBJECT,
  INFERENCE_EVENT_SCHEMA_FILE,
  readSchemaText,
  type InferenceEvent,
} from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { AvroSerde } from '../../services/shared/event/serde';
import { frame, HEADER_BYTES, MAGIC_BYTE, unframe } from '../../services/shared/event/wire-format';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { sampleEvent } from '../support/sample-event';

const event = sampleEvent;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('wire format', () => {
  it('frames a body behind magic byte 0 and a big-endian schema id', () => {
    const framed = frame(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect([...framed]).toEqual([MAGIC_BYTE, 1, 2, 3, 4, 0xaa, 0xbb]);
  });

  it('unframes what it framed, for any schema id and an empty body', () => {
    for (const id of [0, 1, 300, 0xffffffff]) {
      for (const body of [Buffer.alloc(0), Buffer.from('avro body')]) {
        const { schemaId, body: out } = unframe(frame(id, body));
        expect(schemaId).toBe(id);
        expect(out.equals(body)).toBe(true);
      }
    }
  });

  it('refuses a bad magic byte with DECODE_FAILED', () => {
    const err = thrown(() => unframe(Buffer.from([1, 0, 0, 0, 1, 2])));
    expect(isLlmLoggerError(err, 'DECODE_FAILED')).toBe(true);
    expect((err as Error).message).toContain('magic byte');
  });

  it('refuses a value shorter than the header with DECODE_FAILED', () => {
    for (let n = 0; n < HEADER_BYTES; n++) {
      expect(isLlmLoggerError(thrown(() => unframe(Buffer.alloc(n))), 'DECODE_FAILED')).toBe(true);
    }
  });
});

describe('AvroSerde through the embedded schema registry', () => {
  let dir: string;
  let path: string;
  let log: SqliteEventLog;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-serde-'));
    path = join(dir, 'events.db');
    log = new SqliteEventLog({ path, sync: 'normal' });
  });

  afterEach(async () => {
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips an inference event in the registry wire format', async () => {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const value = event();
    const bytes = serde.encode(value);
    const id = await log.schemaRegistry.register(INFERENCE_EVENT_SUBJECT, JSON.stringify(JSON.parse(readSchemaText(INFERENCE_EVENT_SCHEMA_FILE))));
    expect(unframe(bytes).schemaId).toBe(id);
    expect(await serde.decode(bytes)).toEqual(value);
    expect(serde.decodeKnown(bytes)).toEqual(value);
  });

  it('round-trips events of every size, the same bytes as frame(toBuffer()), whatever was encoded before', async () => {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const id = unframe(serde.encode(event())).schemaId;
    // Around the 1 KiB avsc buffer, the 16 KiB starting scratch, its growth and the 256 KiB limit, and back down.
    for (const chars of [0, 900, 1_200, 20_000, 70_000, 300_000, 10, 2_000_000, 50]) {
      const value = event({ request_body: 'r'.repeat(chars), response_body: 'é'.repeat(Math.floor(chars / 3)) });
      const bytes = serde.encode(value);
      expect(bytes.equals(frame(id, serde.type.toBuffer(value)))).toBe(true);
      expect(serde.decodeKnown(bytes)).toEqual(value);
    }
  });

  it('round-trips a sparse event with every optional field null', async () => {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const value = event({
      first_token_at: null,
      ttft_ms: null,
      request_model: null,
      response_model: null,
      http_status: null,
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
      tags: {},
      request_body: null,
      response_body: null,
      response_text: null,
      service_tier: null,
      cost_note: null,
    });
    expect(await serde.decode(serde.encode(value))).toEqual(value);
  });

  it('decodes with a fresh serde after a reopen, learning the writer schema from the registry', async () => {
    const bytes = (await inferenceEventSerde(log.schemaRegistry)).encode(event());
    await log.close();
    log = new SqliteEventLog({ path, sync: 'normal' });
    const fresh = new AvroSerde<InferenceEvent>(log.schemaRegistry, INFERENCE_EVENT_SUBJECT, readSchemaText(INFERENCE_EVENT_SCHEMA_FILE));
    expect(fresh.decodeKnown(bytes)).toBeUndefined();
    expect(await fresh.decode(bytes)).toEqual(event());
    expect(fresh.decodeKnown(bytes)).toEqual(event());
  });

  it('reads a record written with an older schema, filling the defaults', async () => {
    const current = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', INFERENCE_EVENT_SCHEMA_FILE), 'utf8')) as {
      fields: { name: string }[];
    };
    const dropped = new Set(['tags', 'user', 'tool_calls', 'chunk_count']);
    const olderText = JSON.stringify({ ...current, fields: current.fields.filter((f) => !dropped.has(f.name)) });
    const older = new AvroSerde<Partial<InferenceEvent>>(log.schemaRegistry, INFERENCE_EVENT_SUBJECT, olderText);
    const olderId = await older.init();
    const written = event();
    const bytes = older.encode(written);

    const serde = await inferenceEventSerde(log.schemaRegistry);
    expect(unframe(bytes).schemaId).toBe(olderId);
    expect(unframe(serde.encode(written)).schemaId).not.toBe(olderId);
    expect(await serde.decode(bytes)).toEqual({ ...written, tags: {}, user: null, tool_calls: null, chunk_count: 0 });
  });

  it('fails with DECODE_FAILED on a corrupt body or an unknown schema id', async () => {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const good = serde.encode(event());
    const corrupt = Buffer.concat([good.subarray(0, HEADER_BYTES), Buffer.from([0xff, 0xff, 0xff])]);
    await expect(serde.decode(corrupt)).rejects.toMatchObject({ code: 'DECODE_FAILED' });
    await expect(serde.decode(frame(987_654, good.subarray(HEADER_BYTES)))).rejects.toMatchObject({ code: 'DECODE_FAILED' });
    await expect(serde.decode(Buffer.from('{"json":true}'))).rejects.toMatchObject({ code: 'DECODE_FAILED' });
    // A record cut short, or with bytes after its body, is refused rather than read in part.
    const cut = thrown(() => serde.decodeKnown(good.subarray(0, good.length - 1)));
    expect(isLlmLoggerError(cut, 'DECODE_FAILED')).toBe(true);
    const trailing = thrown(() => serde.decodeKnown(Buffer.concat([good, Buffer.from([0])])));
    expect(isLlmLoggerError(trailing, 'DECODE_FAILED')).toBe(true);
    expect((trailing as Error).message).toContain('trailing data');
  });

  it('refuses to encode before init', () => {
    const serde = new AvroSerde<InferenceEvent>(log.schemaRegistry, INFERENCE_EVENT_SUBJECT, readSchemaText(INFERENCE_EVENT_SCHEMA_FILE));
    expect(isLlmLoggerError(thrown(() => serde.encode(event())), 'LOG_UNAVAILABLE')).toBe(true);
  });

  // The registry holds the schema as written in schemas/*.avsc: avsc's
  // canonical form would drop field defaults and logical types, and a
  // registry's BACKWARD check of a later version would then fail.
  test('registers the schema with its field defaults and logical types', async () => {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const registered = JSON.parse(await log.schemaRegistry.schemaById(await serde.init())) as {
      fields: { name: string; type: unknown; default?: unknown }[];
    };
    const field = (name: string) => registered.fields.find((f) => f.name === name);
    expect(field('schema_version')?.default).toBe(1);
    expect(field('tags')?.default).toEqual({});
    expect(field('started_at')?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });
});
