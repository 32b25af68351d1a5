import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { INFERENCE_EVENT_SCHEMA_FILE, INFERENCE_EVENT_SCHEMA_VERSION, inferenceEventType, type InferenceEvent } from '../../services/shared/event/inference-event';

/**
 * Every Avro schema under schemas/ round-trips a representative value, and
 * every `name.vN.avsc` with N > 1 reads what its predecessor wrote. The
 * checks iterate the files that exist, so a new version is covered the day
 * it is added.
 */

const SCHEMAS_DIR = join(__dirname, '..', '..', 'schemas');
const VERSIONED = /^(.+)\.v(\d+)\.avsc$/;

interface SchemaFile {
  file: string;
  schema: avro.Schema;
  type: avro.Type;
}

function loadSchema(file: string): SchemaFile {
  const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as avro.Schema;
  return { file, schema, type: avro.Type.forSchema(schema) };
}

const files = readdirSync(SCHEMAS_DIR)
  .filter((f) => f.endsWith('.avsc'))
  .sort()
  .map(loadSchema);

type Json = Record<string, unknown>;

/**
 * A deterministic value for a schema. `rich` takes the first non-null branch
 * of every union and fills collections; `sparse` takes null where it can and
 * leaves collections empty, so both sides of every optional field are covered.
 */
function sample(schema: unknown, mode: 'rich' | 'sparse', named = new Map<string, unknown>(), namespace = ''): unknown {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'null':
        return null;
      case 'boolean':
        return true;
      case 'int':
        return 42;
      case 'long':
        return 1_700_000_000_123;
      case 'float':
        return 1.5;
      case 'double':
        return 2.25;
      case 'bytes':
        return Buffer.from([0, 1, 254, 255]);
      case 'string':
        return 'text ✓';
      default: {
        const def = named.get(schema) ?? named.get(`${namespace}.${schema}`);
        if (def === undefined) throw new Error(`unknown type reference ${schema}`);
        return sample(def, mode, named, namespace);
      }
    }
  }
  if (Array.isArray(schema)) {
    const nonNull = schema.filter((s) => s !== 'null');
    const pick = mode === 'sparse' && schema.includes('null') ? 'null' : nonNull[0];
    return sample(pick, mode, named, namespace);
  }
  const s = schema as Json;
  const ns = typeof s.namespace === 'string' ? s.namespace : namespace;
  if (typeof s.name === 'string') {
    named.set(s.name, s);
    named.set(s.name.includes('.') ? s.name : `${ns}.${s.name}`, s);
  }
  if (s.logicalType === 'uuid') return '01890a5d-ac96-774b-bcce-b302099a8057';
  switch (s.type) {
    case 'record':
    case 'error': {
      const out: Json = {};
      for (const f of s.fields as { name: string; type: unknown }[]) out[f.name] = sample(f.type, mode, named, ns);
      return out;
    }
    case 'enum':
      return (s.symbols as string[])[0];
    case 'array':
      return mode === 'rich' ? [sample(s.items, mode, named, ns), sample(s.items, mode, named, ns)] : [];
    case 'map':
      return mode === 'rich' ? { a: sample(s.values, mode, named, ns), 'b.c': sample(s.values, mode, named, ns) } : {};
    case 'fixed':
      return Buffer.alloc(s.size as number, 7);
    default:
      return sample(s.type, mode, named, ns);
  }
}

function roundTrip(type: avro.Type, value: unknown): unknown {
  return type.fromBuffer(type.toBuffer(value));
}

/** Decodes what `writer` wrote with `reader`; throws when `reader` cannot read it. */
function readAcrossVersions(writer: avro.Type, reader: avro.Type, value: unknown): unknown {
  const resolver = reader.createResolver(writer);
  return reader.fromBuffer(writer.toBuffer(value), resolver);
}

/** Pairs of (predecessor, successor) among the versioned files that exist. */
function successionPairs(all: SchemaFile[]): { previous: SchemaFile | undefined; next: SchemaFile; wanted: string }[] {
  const pairs = [];
  for (const next of all) {
    const m = VERSIONED.exec(next.file);
    if (!m) continue;
    const version = Number(m[2]);
    if (version <= 1) continue;
    const wanted = `${m[1]}.v${version - 1}.avsc`;
    pairs.push({ previous: all.find((f) => f.file === wanted), next, wanted });
  }
  return pairs;
}

describe('Avro schemas', () => {
  it('finds the schema files, versioned as name.vN.avsc', () => {
    expect(files.map((f) => f.file)).toContain('inference-event.v1.avsc');
    for (const f of files) expect(f.file).toMatch(VERSIONED);
  });

  it.each(files.map((f) => [f.file, f] as const))('%s round-trips representative values', (_file, f) => {
    for (const mode of ['rich', 'sparse'] as const) {
      const value = sample(f.schema, mode);
      expect(f.type.isValid(value)).toBe(true);
      expect(roundTrip(f.type, value)).toEqual(value);
    }
  });

  it('every schema version reads the records of its predecessor', () => {
    const pairs = successionPairs(files);
    for (const { previous, next, wanted } of pairs) {
      if (!previous) throw new Error(`${next.file} has no predecessor ${wanted}`);
      for (const mode of ['rich', 'sparse'] as const) {
        const value = sample(previous.schema, mode);
        const read = readAcrossVersions(previous.type, next.type, value);
        expect(next.type.isValid(read)).toBe(true);
      }
    }
    // The loop above runs for every version after v1 (inference-event.v2 today).
    expect(pairs.length).toBe(files.filter((f) => Number(VERSIONED.exec(f.file)?.[2]) > 1).length);
  });

  describe('the compatibility check itself', () => {
    const v1 = { type: 'record', name: 'E', fields: [{ name: 'a', type: 'long' }] };
    const write = (schema: object) => avro.Type.forSchema(schema as avro.Schema);

    it('accepts a successor that adds a field with a default', () => {
      const v2 = { ...v1, fields: [...v1.fields, { name: 'b', type: ['null', 'string'], default: null }] };
      expect(readAcrossVersions(write(v1), write(v2), { a: 5 })).toEqual({ a: 5, b: null });
    });

    it('catches a successor that adds a field without a default', () => {
      const v2 = { ...v1, fields: [...v1.fields, { name: 'b', type: 'string' }] };
      expect(() => readAcrossVersions(write(v1), write(v2), { a: 5 })).toThrow();
    });

    it('catches a successor that changes a field to an incompatible type', () => {
      const v2 = { ...v1, fields: [{ name: 'a', type: 'boolean' }] };
      expect(() => readAcrossVersions(write(v1), write(v2), { a: 5 })).toThrow();
    });
  });
});

describe('inference-event (the current version)', () => {
  const full: InferenceEvent = {
    event_id: '01890a5d-ac96-774b-bcce-b302099a8057',
    schema_version: 2,
    started_at: 1_700_000_000_000,
    first_token_at: 1_700_000_000_150,
    ended_at: 1_700_000_001_001,
    latency_ms: 1000.5,
    ttft_ms: 150.25,
    gateway_instance: 'gw-1',
    upstream: 'anthropic',
    provider: 'anthropic',
    wire_format: 'anthropic',
    endpoint: 'messages',
    method: 'POST',
    path: '/v1/messages',
    request_model: 'claude-sonnet-4-5',
    response_model: 'claude-sonnet-4-5-20250929',
    streamed: true,
    http_status: 200,
    error_class: 'stream_error',
    error_type: 'overloaded_error',
    error_message: 'Overloaded',
    finish_reason: 'end_turn',
    usage: {
      input_tokens: 1200,
      output_tokens: 345,
      cached_input_tokens: 1000,
      cache_write_tokens: 100,
      reasoning_tokens: 0,
      source: 'provider',
      cache_write_1h_tokens: 60,
      input_audio_tokens: 7,
      input_image_tokens: 8,
      output_audio_tokens: 9,
      output_image_tokens: 10,
      note: 'prompt_tokens: -3 is negative',
    },
    cost_micro_usd: 9_876,
    price_version: 'prices-2025-01',
    chunk_count: 57,
    request_bytes: 2048,
    response_bytes: 8192,
    user: 'alice',
    app: 'search',
    session: 's-1',
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    tags: { team: 'core', 'env.region': 'eu-1' },
    client_cancelled: false,
    body_captured: true,
    body_truncated: true,
    request_body: '{"messages":[{"role":"user","content":"héllo 😀"}]}',
    response_body: 'event: message_start\ndata: {}\n\n',
    response_text: 'Hi 😀',
    tool_calls: '[{"id":"t1","name":"get","arguments":"{}"}]',
    gateway_key_id: 'search-prod',
    truncated_fields: 'request_model,response_text',
    service_tier: 'priority',
    cost_note: 'service tier priority; long context (input above 200000 tokens)',
  };

  it('is the type the services use', () => {
    expect(INFERENCE_EVENT_SCHEMA_FILE).toBe('inference-event.v2.avsc');
    const fromFile = files.find((f) => f.file === INFERENCE_EVENT_SCHEMA_FILE);
    expect(fromFile?.type.equals(inferenceEventType())).toBe(true);
  });

  it('round-trips a fully populated event', () => {
    const type = inferenceEventType();
    expect(type.isValid(full)).toBe(true);
    expect(roundTrip(type, full)).toEqual(full);
  });

  it('fills defaults when reading a record that lacks optional fields', () => {
    const type = inferenceEventType();
    const schema = files.find((f) => f.file === INFERENCE_EVENT_SCHEMA_FILE)?.schema as { fields: { name: string; default?: unknown }[] };
    const fields = schema.fields;
    const required = fields.filter((f) => f.default === undefined).map((f) => f.name);
    expect(required.sort()).toEqual(
      [
        'event_id',
        'started_at',
        'ended_at',
        'latency_ms',
        'gateway_instance',
        'upstream',
        'provider',
        'wire_format',
        'endpoint',
        'method',
        'path',
        'streamed',
        'usage',
      ].sort(),
    );
    const minimalSchema = { ...schema, fields: fields.filter((f) => required.includes(f.name)) };
    const minimal = avro.Type.forSchema(minimalSchema as avro.Schema);
    const written = Object.fromEntries(required.map((name) => [name, (full as unknown as Record<string, unknown>)[name]]));
    const read = readAcrossVersions(minimal, type, written) as InferenceEvent;
    expect(read).toMatchObject({ schema_version: 1, tags: {}, chunk_count: 0, user: null, body_captured: false });
  });

  it('v2 reads a fully populated v1 record: key identity, truncation flags, usage breakdown, service_tier and cost_note are null', () => {
    const v1 = files.find((f) => f.file === 'inference-event.v1.avsc')!;
    const { gateway_key_id: _k, truncated_fields: _t, service_tier: _s, cost_note: _n, ...v1Event } = full;
    const { cache_write_1h_tokens: _a, input_audio_tokens: _b, input_image_tokens: _c, output_audio_tokens: _d, output_image_tokens: _e, note: _f, ...v1Usage } =
      full.usage;
    const read = readAcrossVersions(v1.type, inferenceEventType(), { ...v1Event, schema_version: 1, usage: v1Usage }) as InferenceEvent;
    expect(read).toEqual({
      ...v1Event,
      schema_version: 1,
      // cache_write_tokens keeps its meaning (all cache writes); the new counts are null.
      usage: {
        ...v1Usage,
        cache_write_1h_tokens: null,
        input_audio_tokens: null,
        input_image_tokens: null,
        output_audio_tokens: null,
        output_image_tokens: null,
        note: null,
      },
      gateway_key_id: null,
      truncated_fields: null,
      service_tier: null,
      cost_note: null,
    });
    // Events the gateway writes now say which version they were written with.
    expect(INFERENCE_EVENT_SCHEMA_VERSION).toBe(2);
  });

  it('v2 adds only optional fields with null defaults, at the end (of the event and of its usage)', () => {
    type Field = { name: string; type: unknown; default?: unknown };
    const fieldsOf = (file: string): Field[] => (files.find((f) => f.file === file)!.schema as unknown as { fields: Field[] }).fields;
    const usageOf = (fields: Field[]): Field[] => (fields.find((f) => f.name === 'usage')!.type as { fields: Field[] }).fields;
    const v1 = fieldsOf('inference-event.v1.avsc');
    const v2 = fieldsOf('inference-event.v2.avsc');
    const outside = (fields: Field[]): Field[] => fields.filter((f) => f.name !== 'usage');
    expect(outside(v2).slice(0, outside(v1).length)).toEqual(outside(v1));
    expect(v2.findIndex((f) => f.name === 'usage')).toBe(v1.findIndex((f) => f.name === 'usage'));
    expect(outside(v2).slice(outside(v1).length).map((f) => [f.name, f.type, f.default])).toEqual([
      ['gateway_key_id', ['null', 'string'], null],
      ['truncated_fields', ['null', 'string'], null],
      ['service_tier', ['null', 'string'], null],
      ['cost_note', ['null', 'string'], null],
    ]);
    expect(usageOf(v2).slice(0, usageOf(v1).length)).toEqual(usageOf(v1));
    expect(usageOf(v2).slice(usageOf(v1).length).map((f) => [f.name, f.type, f.default])).toEqual([
      ['cache_write_1h_tokens', ['null', 'long'], null],
      ['input_audio_tokens', ['null', 'long'], null],
      ['input_image_tokens', ['null', 'long'], null],
      ['output_audio_tokens', ['null', 'long'], null],
      ['output_image_tokens', ['null', 'long'], null],
      ['note', ['null', 'string'], null],
    ]);
  });

  it('reads a record written with the first v2 (keys and truncation only, before the pricing fields)', () => {
    const before = avro.Type.forSchema(JSON.parse(readFileSync(join(__dirname, 'fixtures', 'inference-event.v2.before-pricing.avsc'), 'utf8')));
    const { service_tier: _s, cost_note: _n, ...earlier } = full;
    const { cache_write_1h_tokens: _a, input_audio_tokens: _b, input_image_tokens: _c, output_audio_tokens: _d, output_image_tokens: _e, note: _f, ...earlierUsage } =
      full.usage;
    const read = readAcrossVersions(before, inferenceEventType(), { ...earlier, usage: earlierUsage }) as InferenceEvent;
    expect(read).toMatchObject({ gateway_key_id: 'search-prod', truncated_fields: 'request_model,response_text', service_tier: null, cost_note: null });
    expect(read.usage).toMatchObject({ ...earlierUsage, cache_write_1h_tokens: null, note: null });
  });
});
