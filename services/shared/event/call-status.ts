import type { InferenceEvent } from './inference-event';

/**
 * How a call ended, and the `status` filter that the console's request list,
 * the audit search and the CLI all read the same way: an HTTP code (`200`), a
 * class (`4xx`), or an outcome (`ok`, `error`, `cancelled`).
 */

export type CallOutcome = 'ok' | 'error' | 'cancelled';

/** Cancelled by the client; else an error (the gateway's, or an upstream 4xx/5xx); else ok. */
export function outcomeOf(e: Pick<InferenceEvent, 'client_cancelled' | 'error_class' | 'http_status'>): CallOutcome {
  if (e.client_cancelled) return 'cancelled';
  return e.error_class !== null || (e.http_status !== null && e.http_status >= 400) ? 'error' : 'ok';
}

export type StatusFilter =
  | { kind: 'code'; code: number }
  | { kind: 'class'; min: number; max: number }
  | { kind: 'outcome'; outcome: CallOutcome };

export const STATUS_FILTER_HELP = 'an HTTP code (200), a class (4xx) or ok|error|cancelled';

/** The filter, or null when the value is none of STATUS_FILTER_HELP. */
export function parseStatusFilter(raw: string): StatusFilter | null {
  const v = raw.trim().toLowerCase();
  if (/^[1-5]\d\d$/.test(v)) return { kind: 'code', code: Number(v) };
  if (/^[1-5]xx$/.test(v)) {
    const base = Number(v[0]) * 100;
    return { kind: 'class', min: base, max: base + 99 };
  }
  if (v === 'ok' || v === 'error' || v === 'cancelled') return { kind: 'outcome', outcome: v };
  return null;
}
