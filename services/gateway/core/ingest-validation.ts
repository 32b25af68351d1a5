import type avro from 'avsc';
import { INFERENCE_EVENT_SCHEMA_VERSION, type InferenceEvent } from '../../shared/event/inference-event';
import { parseTimestamp, TIMESTAMP_FORMATS } from '../../shared/time';
import { FIELD_MAX_CHARS, type CappedField } from './field-caps';

/**
 * Validation of events posted to `POST /ingest/v1/events`. Pure: ids, the
 * instance name and the clock come in as arguments. Each item is checked
 * against the Avro schema; the first problem is reported with the field's path.
 */

export interface IngestRejection {
  index: number;
  field: string;
  message: string;
}

export type IngestItemResult = { ok: true; event: InferenceEvent; notes: IngestNote[] } | { ok: false; rejection: IngestRejection };

/** The earliest time an event may carry: nothing older is an LLM call, and a unit mistake (seconds for ms) lands here. */
export const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);
/** How far ahead of the gateway's clock an event may be stamped (a client's clock may run a little fast). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000; // 5 min

export interface IngestContext {
  newEventId: () => string;
  /** Recorded as `gateway_instance` whatever the item says (`ingest:<token id>`): a caller cannot pose as a gateway. */
  instance: string;
  /** The gateway's clock (epoch ms): timestamps later than this plus MAX_CLOCK_SKEW_MS are refused. */
  now: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMESTAMP_FIELDS = ['started_at', 'first_token_at', 'ended_at'] as const;
/** Counts, sizes, durations and cost: a negative one is a forgery or a bug, never a fact. */
const NON_NEGATIVE = ['latency_ms', 'ttft_ms', 'cost_micro_usd', 'chunk_count', 'request_bytes', 'response_bytes'] as const;
const NON_NEGATIVE_USAGE = [
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'cache_write_1h_tokens',
  'input_audio_tokens',
  'input_image_tokens',
  'output_audio_tokens',
  'output_image_tokens',
] as const;

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
  fallback: IngestContext,
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
  const notes: IngestNote[] = [];
  // Fields only the gateway may set: the caller's value is replaced, and the answer says so.
  if (value.gateway_instance !== undefined && value.gateway_instance !== fallback.instance) {
    notes.push({
      index,
      field: 'gateway_instance',
      note: 'gateway_instance_replaced',
      message: `gateway_instance is set by the gateway for ingested events: recorded as ${JSON.stringify(fallback.instance)}, not ${describe(value.gateway_instance)}`,
    });
  }
  value.gateway_instance = fallback.instance;
  if (value.gateway_key_id !== undefined && value.gateway_key_id !== null) {
    notes.push({
      index,
      field: 'gateway_key_id',
      note: 'gateway_key_id_cleared',
      message: 'gateway_key_id names the gateway key of a call made through the gateway: ingested events are recorded without one',
    });
  }
  value.gateway_key_id = null;
  value.usage ??= {};
  const given = { started_at: value.started_at, first_token_at: value.first_token_at, ended_at: value.ended_at };
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
  for (const f of TIMESTAMP_FIELDS) {
    const t = event[f];
    if (t === null) continue;
    if (t < EARLIEST_EVENT_MS) return reject(f, `must be on or after 2000-01-01T00:00:00Z, got ${describe(given[f])}`);
    if (t > fallback.now + MAX_CLOCK_SKEW_MS) {
      return reject(f, `is more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of the gateway's clock (${new Date(fallback.now).toISOString()}), got ${describe(given[f])}`);
    }
  }
  if (event.ended_at < event.started_at) return reject('ended_at', 'must not be before started_at');
  if (event.first_token_at !== null && (event.first_token_at < event.started_at || event.first_token_at > event.ended_at)) {
    return reject('first_token_at', 'must be between started_at and ended_at');
  }
  for (const f of NON_NEGATIVE) {
    const v = event[f];
    if (v !== null && v < 0) return reject(f, `must not be negative, got ${describe(v)}`);
  }
  for (const f of NON_NEGATIVE_USAGE) {
    const v = event.usage[f];
    if (v != null && v < 0) return reject(`usage.${f}`, `must not be negative, got ${describe(v)}`);
  }
  if (event.http_status !== null && (event.http_status < 100 || event.http_status > 599)) {
    return reject('http_status', `must be an HTTP status from 100 to 599, got ${describe(event.http_status)}`);
  }
  for (const f of Object.keys(FIELD_MAX_CHARS) as CappedField[]) {
    const v = event[f];
    if (v != null && v.length > FIELD_MAX_CHARS[f]) return reject(f, `must be at most ${FIELD_MAX_CHARS[f]} characters, got ${v.length}`);
  }
  return { ok: true, event, notes };
}

/** What an accepted item's age means for the stores that keep data for a limited time. */
export interface IngestNote {
  index: number;
  field: string;
  note: 'outside_console_view' | 'late_for_aggregates' | 'past_index_retention' | 'gateway_instance_replaced' | 'gateway_key_id_cleared';
  message: string;
}

export interface IngestHorizons {
  /** The console lists calls that started within this many ms (LLM_LOGGER_CONSOLE_VIEW_HOURS). */
  consoleViewMs: number;
  /** The aggregator counts an event in its own window up to this many ms behind the newest event (LLM_LOGGER_AGGREGATOR_GRACE_MS). */
  aggregatorGraceMs: number;
  /** The audit index keeps a day's documents this many days (LLM_LOGGER_RETENTION_DAYS). */
  indexRetentionDays: number;
}

const DAY_MS = 24 * 3_600_000;

/**
 * Notes for an accepted event that is old (a back-fill): every event is kept
 * in the log and the Parquet archive, but the console's request list, the
 * aggregates' windows and the audit index each look back only so far.
 */
export function ingestNotes(event: InferenceEvent, index: number, now: number, h: IngestHorizons): IngestNote[] {
  const notes: IngestNote[] = [];
  const age = (t: number): string => `${Math.round(((now - t) / 3_600_000) * 10) / 10} h ago`;
  if (event.started_at < now - h.consoleViewMs) {
    notes.push({
      index,
      field: 'started_at',
      note: 'outside_console_view',
      message:
        `started ${age(event.started_at)}, outside the console's view window (${h.consoleViewMs / 3_600_000} h, LLM_LOGGER_CONSOLE_VIEW_HOURS): ` +
        'kept in the log and the Parquet archive, not listed by the console',
    });
  }
  if (event.ended_at < now - h.aggregatorGraceMs) {
    notes.push({
      index,
      field: 'ended_at',
      note: 'late_for_aggregates',
      message:
        `ended ${age(event.ended_at)}: the aggregator adds it to its own window only while that window is still open ` +
        `(up to ${h.aggregatorGraceMs} ms behind the newest event, LLM_LOGGER_AGGREGATOR_GRACE_MS); otherwise it is counted as late in the window open when it arrives`,
    });
  }
  const dayStart = event.started_at - (event.started_at % DAY_MS);
  if (dayStart + DAY_MS <= now - h.indexRetentionDays * DAY_MS) {
    notes.push({
      index,
      field: 'started_at',
      note: 'past_index_retention',
      message: `its day is past the audit index's retention (${h.indexRetentionDays} days, LLM_LOGGER_RETENTION_DAYS): the index's next retention sweep may remove it, so search may not find it`,
    });
  }
  return notes;
}
