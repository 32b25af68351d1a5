/**
 * Largest distance from the epoch, in ms, a JavaScript Date can hold
 * (±100,000,000 days). An event time beyond it has no date: no ISO string, no
 * daily index, no hour directory can be made of it, so every consumer would
 * fail on the event however often it tried. Ingest refuses such times; an
 * event that reached the log anyway (written by another producer) is poison.
 */
export const MAX_DATE_MS = 8.64e15;

/** Why these event times cannot be dates (the first field at fault), or null. */
export function eventTimeProblem(times: Record<string, number | null>): string | null {
  for (const [field, value] of Object.entries(times)) {
    if (value === null) continue;
    if (!Number.isFinite(value) || Math.abs(value) > MAX_DATE_MS) return `${field} ${value} is not a date (epoch ms within ±${MAX_DATE_MS})`;
  }
  return null;
}
