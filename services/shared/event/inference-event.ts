import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';

/**
 * The inference event as TypeScript sees it. Field names follow the Avro
 * schema in schemas/inference-event.v2.avsc (the source of truth) so values
 * go to and from Avro without a mapping layer.
 */
export interface Usage {
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  source: 'provider' | 'estimated' | 'none';
  /*
   * Added in schema v2 (optional here so code that builds events without
   * them still compiles; decoding always fills them, null by default).
   */
  /** Of cache_write_tokens, those written with the 1-hour TTL; the rest are 5-minute writes. */
  cache_write_1h_tokens?: number | null;
  /** Of input_tokens / output_tokens, the audio and image tokens. */
  input_audio_tokens?: number | null;
  input_image_tokens?: number | null;
  output_audio_tokens?: number | null;
  output_image_tokens?: number | null;
  /** Why a count is null although the upstream sent one (negative, fractional, beyond 2^53). */
  note?: string | null;
}

export interface InferenceEvent {
  event_id: string;
  schema_version: number;
  started_at: number;
  first_token_at: number | null;
  ended_at: number;
  latency_ms: number;
  ttft_ms: number | null;
  gateway_instance: string;
  upstream: string;
  provider: string;
  wire_format: string;
  endpoint: string;
  method: string;
  path: string;
  request_model: string | null;
  response_model: string | null;
  streamed: boolean;
  http_status: number | null;
  error_class: ErrorClass | null;
  error_type: string | null;
  error_message: string | null;
  finish_reason: string | null;
  usage: Usage;
  cost_micro_usd: number | null;
  price_version: string | null;
  chunk_count: number;
  request_bytes: number;
  response_bytes: number;
  user: string | null;
  app: string | null;
  session: string | null;
  trace_id: string | null;
  tags: Record<string, string>;
  client_cancelled: boolean;
  body_captured: boolean;
  body_truncated: boolean;
  request_body: string | null;
  response_body: string | null;
  response_text: string | null;
  tool_calls: string | null;
  /**
   * v2. Optional here so that events written before v2 (and values built by
   * older code) still type-check; decoding always fills them (default null).
   */
  gateway_key_id?: string | null;
  truncated_fields?: string | null;
  /** v2: the processing tier the provider reported (or an ingested event declares); it selects the price. */
  service_tier?: string | null;
  /** v2: how the cost was priced when not at base rates, or why it is null although usage is known. */
  cost_note?: string | null;
}

export const ERROR_CLASSES = [
  'client_error',
  'rate_limited',
  'server_error',
  'upstream_unreachable',
  'upstream_timeout',
  'stream_error',
  'client_cancelled',
  'gateway_error',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

export const INFERENCE_EVENT_SCHEMA_VERSION = 2;
export const INFERENCE_EVENT_SUBJECT = 'llm.inference.v1-value';

export const INFERENCE_EVENT_SCHEMA_FILE = 'inference-event.v2.avsc';

/** schemas/ at the repository root, from sources (services/…) or compiled output (dist/services/…). */
export const SCHEMAS_DIR = existsSync(join(__dirname, '..', '..', '..', 'schemas'))
  ? join(__dirname, '..', '..', '..', 'schemas')
  : join(__dirname, '..', '..', '..', '..', 'schemas');

export function readSchemaText(file: string): string {
  return readFileSync(join(SCHEMAS_DIR, file), 'utf8');
}

let cachedType: avro.Type | null = null;

/** The current inference event type (parsed once). */
export function inferenceEventType(): avro.Type {
  cachedType ??= avro.Type.forSchema(JSON.parse(readSchemaText(INFERENCE_EVENT_SCHEMA_FILE)) as avro.Schema);
  return cachedType;
}

