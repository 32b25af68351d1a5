import type { InferenceEvent } from './inference-event';

/**
 * What "model" means everywhere llm-logger groups or filters calls (the
 * aggregates' `model` and `model_upstream` groups, the console's breakdown,
 * `GET /api/requests?model=`, alert rules): the model the call asked for,
 * whatever its outcome. A provider answers `gpt-4o` with a dated snapshot
 * (`gpt-4o-2024-08-06`) only when it answers at all, so grouping by the
 * answer put a model's failures and its successes in two rows. The request
 * names the model for every call, failed or not; the snapshot that served it
 * is kept as its own dimension (`served_model`). A call that named no model
 * (an endpoint without one, an ingested event without `request_model`) falls
 * back to the model of the answer. Imported by the dashboard too: no Node
 * modules here.
 */
export function modelOf(e: Pick<InferenceEvent, 'request_model' | 'response_model'>): string | null {
  return e.request_model ?? e.response_model;
}

/** The model the provider says served the call (its answer's `model`); null when there was no answer. */
export function servedModelOf(e: Pick<InferenceEvent, 'response_model'>): string | null {
  return e.response_model;
}
