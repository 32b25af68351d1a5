import type avro from 'avsc';
import { INFERENCE_EVENT_SCHEMA_VERSION, type InferenceEvent } from '../../shared/event/inference-event';
import { parseTimestamp, TIMESTAMP_FORMATS } from '../../shared/time';

/**
 * Validation of events posted to `POST /ingest/v1/events`. Pure: ids and the
 * instance name come in as arguments. Each item is checked against the Avro
 * schema; the first problem is reported with the field's path.
 */

export interface IngestRejection {
  index: number;
  field: string;
  message: string;
}

export type IngestItemResult = { ok: true; event: InferenceEvent } | { ok: false; rejection: IngestRejection };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMESTAMP_FIELDS = ['started_at', 'first_token_at', 'ended_at'] as const;

interface FieldLike {
  name: string;
  type: avro.Type;
  defaultValue(): unknown;
}

function fieldsOf(type: avro.Type): FieldLike[] {
  return (type as unknown as { fields: FieldLike[] }).fields;
}

function hasDefault(field: FieldLike): boolean {
  try {
    return field.defaultValue() !== undefined;
  } catch {
    return false;
  }
}

/** Fills fields the schema gives defaults for, recursively through records. */
function applyDefaults(type: avro.Type, value: Record<string, unknown>): void {
  for (const field of fieldsOf(type)) {
    const current = value[field.name];
    if (current === undefined) {
      if (hasDefault(field)) value[field.name] = field.defaultValue();
    } else if (field.type.typeName === 'record' && current !== null && typeof current === 'object') {
      applyDefaults(field.type, current as Record<string, unknown>);
    }
  }
}

/** First key that the schema does not know, at any depth of nested records. */
function unknownField(type: avro.Type, value: Record<string, unknown>, prefix: string): string | null {
  const fields = new Map(fieldsOf(type).map((f) => [f.name, f]));
  for (const [key, v] of Object.entries(value)) {
    const field = fields.get(key);
    if (!field) return prefix + key;
    if (field.type.typeName === 'record' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const nested = unknownField(field.type, v as Record<string, unknown>, `${prefix}${key}.`);
      if (nested) return nested;
    }
  }
  return null;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function validateIngestItem(
  type: avro.Type,
  item: unknown,
  index: number,
  fallback: { newEventId: () => string; instance: string },
): IngestItemResult {
  const reject = (field: string, message: string): IngestItemResult => ({ ok: false, rejection: { index, field, message } });
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return reject('', 'each event must be a JSON object');
  const value: Record<string, unknown> = { ...(item as Record<string, unknown>) };
  if (value.usage !== null && typeof value.usage === 'object') value.usage = { ...(value.usage as object) };

  const unknown = unknownField(type, value, '');
  if (unknown !== null) return reject(unknown, `unknown field "${unknown}"`);

  value.event_id ??= fallback.newEventId();
  if (typeof value.event_id !== 'string' || !UUID.test(value.event_id)) {
    return reject('event_id', `must be a UUID, got ${describe(value.event_id)}`);
  }
  value.schema_version ??= INFERENCE_EVENT_SCHEMA_VERSION;
  value.gateway_instance ??= fallback.instance;
  value.usage ??= {};
  for (const f of TIMESTAMP_FIELDS) {
    const v = value[f];
    if (typeof v === 'string') {
      const ms = parseTimestamp(v);
      if (ms === null) return reject(f, `expected ${TIMESTAMP_FORMATS}, got ${describe(v)}`);
      value[f] = ms;
    }
  }
  if (value.latency_ms === undefined && typeof value.started_at === 'number' && typeof value.ended_at === 'number') {
    value.latency_ms = value.ended_at - value.started_at;
  }
  applyDefaults(type, value);

  let firstError: IngestRejection | null = null;
  type.isValid(value, {
    errorHook(path: string[], bad: unknown, badType: avro.Type) {
      if (firstError) return;
      const expected = badType.typeName === 'union' ? JSON.stringify(badType.schema()) : badType.typeName;
      firstError = { index, field: path.join('.'), message: `expected ${expected}, got ${describe(bad)}` };
    },
  });
  if (firstError) return { ok: false, rejection: firstError };

  const event = value as unknown as InferenceEvent;
  if (event.ended_at < event.started_at) return reject('ended_at', 'must not be before started_at');
  if (event.latency_ms < 0) return reject('latency_ms', 'must not be negative');
  return { ok: true, event };
}
