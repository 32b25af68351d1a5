import type { InferenceEvent } from '../../shared/event/inference-event';

/**
 * The fields of an inference event the aggregator reads. It decodes events
 * with a reader schema of only these fields (Avro schema resolution skips
 * the rest: bodies, tags, ids), which is most of the decoding cost saved.
 */
export const AGGREGATED_FIELDS = [
  'first_token_at',
  'ended_at',
  'latency_ms',
  'ttft_ms',
  'upstream',
  'provider',
  'request_model',
  'response_model',
  'error_class',
  'usage',
  'cost_micro_usd',
  'user',
  'app',
  'client_cancelled',
] as const satisfies readonly (keyof InferenceEvent)[];

export type AggregatedEvent = Pick<InferenceEvent, (typeof AGGREGATED_FIELDS)[number]>;
