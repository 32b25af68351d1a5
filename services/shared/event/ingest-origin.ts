/**
 * How an event that came through `POST /ingest/v1/events` is told apart on
 * the log. Such events carry ids chosen by their sender, who may post them
 * again (an SDK retrying after a timeout); the gateway's own events carry a
 * fresh UUIDv7 each and never repeat. So only ingested records are checked
 * for copies by the aggregator and the roller, and only they are placed by
 * their key (the event id): every copy lands in the partition of the first.
 */

/** Record header: when the gateway accepted the event (epoch ms, its clock). Present only on ingested records. */
export const INGESTED_AT_HEADER = 'x-llm-ingested-at';

/** Headers of an ingested record. */
export function ingestedHeaders(acceptedAt: number): Record<string, string> {
  return { [INGESTED_AT_HEADER]: String(acceptedAt) };
}

/** When an ingested record was accepted, or null for the gateway's own (or a header that is not a time). */
export function ingestedAt(headers: Readonly<Record<string, string>>): number | null {
  const v = headers[INGESTED_AT_HEADER];
  if (v === undefined) return null;
  const at = Number(v);
  return Number.isFinite(at) ? at : null;
}
