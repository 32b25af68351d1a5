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
const KNOWN = ['user', 'app', 'model', 'served_model', 'upstream', 'status', 'from', 'to', 'limit', 'before'];

export function encodeCursor(startedAt: number, eventId: string): string {
  return Buffer.from(`${startedAt}:${eventId}`).toString('base64url');
}

/** The parameters, or an error naming the first unknown one; empty values read as absent. */
export function readParams(params: URLSearchParams, known: readonly string[]): ((name: string) => string | null) | QueryError {
  for (const key of params.keys()) {
    if (!known.includes(key)) return { parameter: key, message: `unknown parameter "${key}"; known: ${known.join(', ')}` };
  }
  return (name) => {
    const v = params.get(name);
    return v === null || v === '' ? null : v;
  };
}

/** The paging parameters every list shares: `from`, `to`, `limit`, `before` (a cursor: `<epoch ms>:<id>`, base64url). */
export interface PageParams {
  from: number | null;
  to: number | null;
  /** Null when not given (each list has its default). */
  limit: number | null;
  before: { at: number; id: string } | null;
}

export function parsePageParams(text: (name: string) => string | null, maxLimit: number, cursorId: RegExp): PageParams | QueryError {
  const page: PageParams = { from: null, to: null, limit: null, before: null };
  for (const name of ['from', 'to'] as const) {
    const v = text(name);
    if (v !== null) {
      const ms = parseTimestamp(v);
      if (ms === null) return { parameter: name, message: `${name} must be ${TIMESTAMP_FORMATS}` };
      page[name] = ms;
    }
  }
  const limit = text('limit');
  if (limit !== null) {
    const n = /^\d{1,6}$/.test(limit) ? Number(limit) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > maxLimit) return { parameter: 'limit', message: `limit must be an integer from 1 to ${maxLimit}` };
    page.limit = n;
  }
  const before = text('before');
  if (before !== null) {
    const m = new RegExp(`^(\\d{1,16}):(${cursorId.source})$`).exec(Buffer.from(before, 'base64url').toString('utf8'));
    if (!m) return { parameter: 'before', message: 'before must be a cursor returned as next_before' };
    page.before = { at: Number(m[1]), id: m[2]! };
  }
  return page;
}

export function parseRequestQuery(params: URLSearchParams): RequestQuery | QueryError {
  const text = readParams(params, KNOWN);
  if (typeof text !== 'function') return text;
  const page = parsePageParams(text, MAX_LIMIT, /[0-9a-f-]{36}/);
  if ('parameter' in page) return page;
  const q: RequestQuery = {
    user: text('user'),
    app: text('app'),
    model: text('model'),
    servedModel: text('served_model'),
    upstream: text('upstream'),
    status: null,
    from: page.from,
    to: page.to,
    limit: page.limit ?? DEFAULT_LIMIT,
    before: page.before && { startedAt: page.before.at, eventId: page.before.id },
  };
  const status = text('status');
  if (status !== null) {
    q.status = parseStatusFilter(status);
    if (q.status === null) return { parameter: 'status', message: `status must be ${STATUS_FILTER_HELP}` };
  }
  return q;
}

export function isQueryError(q: RequestQuery | QueryError): q is QueryError {
  return (q as QueryError).parameter !== undefined;
}
