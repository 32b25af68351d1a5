import { indexNameFor, type AuditDocument } from './audit-document';

/**
 * Bulk requests and responses for the Elasticsearch adapter, as pure
 * functions: the request body, and which items to retry or give up on.
 */

/**
 * NDJSON `_bulk` body: each document under its event id, in the index of its
 * own day, with `create`: a document that exists is never replaced, so an
 * event id sent again with other content (a forged or repeated ingest) leaves
 * the first one as it was (Elasticsearch answers 409, which counts as done).
 */
export function bulkBody(prefix: string, docs: AuditDocument[]): string {
  let out = '';
  for (const d of docs) {
    out += `{"create":{"_index":${JSON.stringify(indexNameFor(prefix, Date.parse(d['@timestamp'])))},"_id":${JSON.stringify(d.event_id)}}}\n`;
    out += `${JSON.stringify(d)}\n`;
  }
  return out;
}

export interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } } | null;
}

export interface BulkVerdict {
  /** Positions (in the request) to send again: the cluster pushed back or failed. */
  retry: number[];
  /** Positions the cluster refused for good, with the reason. */
  rejected: { position: number; reason: string }[];
}

/** 429 and 5xx are the cluster's problem (retry); any other error is the document's (DLQ). */
export const retriableStatus = (status: number): boolean => status === 429 || status >= 500;

/** One item of a `_bulk` answer, keyed by its action. */
export type BulkResponseItem = { create?: BulkItemResult; index?: BulkItemResult };

/** 409 on `create`: the document is already there (a redelivery, or an event id sent again): done, not an error. */
export const ALREADY_INDEXED = 409;

export function classifyBulkItems(items: BulkResponseItem[]): BulkVerdict {
  const verdict: BulkVerdict = { retry: [], rejected: [] };
  items.forEach((item, position) => {
    const r = item.create ?? item.index;
    if (!r || (r.status >= 200 && r.status < 300) || r.status === ALREADY_INDEXED) return;
    if (retriableStatus(r.status)) {
      verdict.retry.push(position);
      return;
    }
    const e = r.error ?? {};
    const cause = e.caused_by?.reason ? ` (${e.caused_by.type ?? 'cause'}: ${e.caused_by.reason})` : '';
    verdict.rejected.push({ position, reason: `${r.status} ${e.type ?? 'error'}: ${(e.reason ?? 'rejected').slice(0, 500)}${cause.slice(0, 300)}` });
  });
  return verdict;
}

/** Exponential backoff with full jitter (random in [0, 1) is passed in). */
export function backoffMs(attempt: number, random: number, baseMs = 100, capMs = 5_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
