import type { InferenceEvent } from './inference-event';

/**
 * `truncated_fields` (event schema v2) names every field of an event that
 * was cut or left out for size, whoever cut it: the gateway's bounds on each
 * field (services/gateway/core/field-caps.ts) as the event is built, and the
 * log's record limit (record-fit.ts) as it is encoded. One list, so a reader
 * has one place to look.
 */

/** The `truncated_fields` value naming `names` after those already named (each once), or null when none. */
export function truncatedFields(existing: string | null | undefined, names: readonly string[]): string | null {
  const all = existing ? existing.split(',') : [];
  for (const n of names) if (!all.includes(n)) all.push(n);
  return all.length > 0 ? all.join(',') : null;
}

/** `event` with `names` added to its `truncated_fields`. */
export function markTruncated(event: InferenceEvent, names: readonly string[]): InferenceEvent {
  return { ...event, truncated_fields: truncatedFields(event.truncated_fields, names) };
}
