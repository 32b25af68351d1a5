import { parseStatusFilter, STATUS_FILTER_HELP, type StatusFilter } from '../shared/event/call-status';
import { parseTimestamp, TIMESTAMP_FORMATS } from '../shared/time';

/**
 * Query parameters of `GET /api/requests`, parsed and checked in one place.
 * A bad parameter is an error that names it.
 */


export interface RequestQuery {
  user: string | null;
  app: string | null;
  /** The model the calls asked for (modelOf). */
  model: string | null;
  /** The model that answered them (`served_model`). */
  servedModel: string | null;
  upstream: string | null;
  status: StatusFilter | null;
  /** Epoch ms, inclusive. */
  from: number | null;
  /** Epoch ms, exclusive. */
  to: number | null;
  limit: number;
  /** Cursor from a previous page: rows strictly older than this one. */
  before: { startedAt: number; eventId: string } | null;
}

export interface QueryError {
  parameter: string;
  message: string;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;
const KNOWN = new Set(['user', 'app', 'model', 'served_model', 'upstream', 'status', 'from', 'to', 'limit', 'before']);

export function encodeCursor(startedAt: number, eventId: string): string {
  return Buffer.from(`${startedAt}:${eventId}`).toString('base64url');
}

export function parseRequestQuery(params: URLSearchParams): RequestQuery | QueryError {
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) return { parameter: key, message: `unknown parameter "${key}"; known: ${[...KNOWN].join(', ')}` };
  }
  const text = (name: string): string | null => {
    const v = params.get(name);
    return v === null || v === '' ? null : v;
  };
  const q: RequestQuery = {
    user: text('user'),
    app: text('app'),
    model: text('model'),
    servedModel: text('served_model'),
    upstream: text('upstream'),
    status: null,
    from: null,
    to: null,
    limit: DEFAULT_LIMIT,
    before: null,
  };
  const status = text('status');
  if (status !== null) {
    q.status = parseStatusFilter(status);
    if (q.status === null) return { parameter: 'status', message: `status must be ${STATUS_FILTER_HELP}` };
  }
  for (const name of ['from', 'to'] as const) {
    const v = text(name);
    if (v !== null) {
      const ms = parseTimestamp(v);
      if (ms === null) return { parameter: name, message: `${name} must be ${TIMESTAMP_FORMATS}` };
      q[name] = ms;
    }
  }
  const limit = text('limit');
  if (limit !== null) {
    const n = /^\d{1,6}$/.test(limit) ? Number(limit) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      return { parameter: 'limit', message: `limit must be an integer from 1 to ${MAX_LIMIT}` };
    }
    q.limit = n;
  }
  const before = text('before');
  if (before !== null) {
    const decoded = Buffer.from(before, 'base64url').toString('utf8');
    const m = /^(\d+):([0-9a-f-]{36})$/.exec(decoded);
    if (!m) return { parameter: 'before', message: 'before must be a cursor returned as next_before' };
    q.before = { startedAt: Number(m[1]), eventId: m[2]! };
  }
  return q;
}

export function isQueryError(q: RequestQuery | QueryError): q is QueryError {
  return (q as QueryError).parameter !== undefined;
}
