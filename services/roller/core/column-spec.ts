import type { InferenceEvent } from '../../shared/event/inference-event';

/**
 * The Parquet columns, in file order: flat typed columns (usage fields lifted
 * to the top level), tags as a map, bodies as strings, then the log position
 * the row came from. The first AVRO_COLUMNS.length columns are the Avro
 * fields of the inference event in schema order (a test holds them to the
 * schema), which lets rows be read straight from Avro bytes.
 *
 * PARQUET_LAYOUT_VERSION changes whenever a column is added, renamed or
 * retyped; readers find it in the file metadata (`llm_logger.layout_version`).
 */
/*
 * 2: gateway_key_id, truncated_fields (event schema v2). 3: the v2 event's
 * usage breakdown (1-hour cache writes, audio and image tokens, usage_note),
 * service_tier and cost_note.
 */
export const PARQUET_LAYOUT_VERSION = 3;

/** A row as it goes in: the event and where it was read from. */
export interface ArchivedEvent {
  event: InferenceEvent;
  partition: number;
  offset: number;
}

export type ColumnKind = 'utf8' | 'int32' | 'int64' | 'float64' | 'timestamp' | 'bool' | 'tags';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  nullable: boolean;
  get(row: ArchivedEvent): unknown;
}

const e = (name: keyof InferenceEvent, kind: ColumnKind, nullable = false): ColumnSpec => ({
  name,
  kind,
  nullable,
  // Fields added by a later schema version are absent from values built by older code: null.
  get: (r) => r.event[name] ?? null,
});
/** Usage fields lifted to the top level; its two strings are prefixed so they read as usage's. */
const u = (name: keyof InferenceEvent['usage']): ColumnSpec => ({
  name: name === 'source' || name === 'note' ? `usage_${name}` : name,
  kind: name === 'source' || name === 'note' ? 'utf8' : 'int64',
  nullable: name !== 'source',
  get: (r) => r.event.usage[name] ?? null,
});

/** Column order in every file. */
export const COLUMNS: readonly ColumnSpec[] = [
  e('event_id', 'utf8'),
  e('schema_version', 'int32'),
  e('started_at', 'timestamp'),
  e('first_token_at', 'timestamp', true),
  e('ended_at', 'timestamp'),
  e('latency_ms', 'float64'),
  e('ttft_ms', 'float64', true),
  e('gateway_instance', 'utf8'),
  e('upstream', 'utf8'),
  e('provider', 'utf8'),
  e('wire_format', 'utf8'),
  e('endpoint', 'utf8'),
  e('method', 'utf8'),
  e('path', 'utf8'),
  e('request_model', 'utf8', true),
  e('response_model', 'utf8', true),
  e('streamed', 'bool'),
  e('http_status', 'int32', true),
  e('error_class', 'utf8', true),
  e('error_type', 'utf8', true),
  e('error_message', 'utf8', true),
  e('finish_reason', 'utf8', true),
  u('input_tokens'),
  u('output_tokens'),
  u('cached_input_tokens'),
  u('cache_write_tokens'),
  u('reasoning_tokens'),
  u('source'),
  u('cache_write_1h_tokens'),
  u('input_audio_tokens'),
  u('input_image_tokens'),
  u('output_audio_tokens'),
  u('output_image_tokens'),
  u('note'),
  e('cost_micro_usd', 'int64', true),
  e('price_version', 'utf8', true),
  e('chunk_count', 'int32'),
  e('request_bytes', 'int64'),
  e('response_bytes', 'int64'),
  e('user', 'utf8', true),
  e('app', 'utf8', true),
  e('session', 'utf8', true),
  e('trace_id', 'utf8', true),
  e('tags', 'tags'),
  e('client_cancelled', 'bool'),
  e('body_captured', 'bool'),
  e('body_truncated', 'bool'),
  e('request_body', 'utf8', true),
  e('response_body', 'utf8', true),
  e('response_text', 'utf8', true),
  e('tool_calls', 'utf8', true),
  e('gateway_key_id', 'utf8', true),
  e('truncated_fields', 'utf8', true),
  e('service_tier', 'utf8', true),
  e('cost_note', 'utf8', true),
  { name: 'log_partition', kind: 'int32', nullable: false, get: (r) => r.partition },
  { name: 'log_offset', kind: 'int64', nullable: false, get: (r) => r.offset },
];

/** The columns that are the event's Avro fields, in schema order. */
export const AVRO_COLUMNS = COLUMNS.slice(0, COLUMNS.length - 2);


