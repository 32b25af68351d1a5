/**
 * Timestamps accepted from users (API parameters, ingested events): epoch
 * milliseconds, or ISO-8601 with a date, a time and an explicit zone. A time
 * without a zone is refused rather than read in the server's local zone.
 */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

export function parseTimestamp(value: string): number | null {
  if (/^\d{1,16}$/.test(value)) return Number(value);
  if (!ISO_WITH_ZONE.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export const TIMESTAMP_FORMATS = 'epoch milliseconds or ISO-8601 with a zone (e.g. 2026-11-27T10:00:00Z)';
