import { parseTimestamp, TIMESTAMP_FORMATS } from '../../shared/time';
import { ACCESS_ACTIONS, type AccessAction } from './access-record';
import type { QueryError } from '../request-query';

/**
 * Parameters of `GET /api/access-log` (admins): `actor`, `action`,
 * `event_id`, `from`, `to`, `limit` (1-1000, default 100), `before` (the
 * `next_before` of the previous page). A bad one is an error that names it.
 */

export interface AccessQuery {
  actor: string | null;
  action: AccessAction | null;
  eventId: string | null;
  /** Epoch ms, inclusive. */
  from: number | null;
  /** Epoch ms, exclusive. */
  to: number | null;
  limit: number;
  before: { at: number; id: string } | null;
}

export const ACCESS_DEFAULT_LIMIT = 100;
export const ACCESS_MAX_LIMIT = 1000;
const KNOWN = ['actor', 'action', 'event_id', 'from', 'to', 'limit', 'before'];

export function encodeAccessCursor(at: number, id: string): string {
  return Buffer.from(`${at}:${id}`).toString('base64url');
}

export function parseAccessQuery(params: URLSearchParams): AccessQuery | QueryError {
  for (const key of params.keys()) {
    if (!KNOWN.includes(key)) return { parameter: key, message: `unknown parameter "${key}"; known: ${KNOWN.join(', ')}` };
  }
  const text = (name: string): string | null => {
    const v = params.get(name);
    return v === null || v === '' ? null : v;
  };
  const q: AccessQuery = { actor: text('actor'), action: null, eventId: text('event_id'), from: null, to: null, limit: ACCESS_DEFAULT_LIMIT, before: null };
  const action = text('action');
  if (action !== null) {
    if (!(ACCESS_ACTIONS as readonly string[]).includes(action)) return { parameter: 'action', message: `action must be one of ${ACCESS_ACTIONS.join(', ')}` };
    q.action = action as AccessAction;
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
    if (!Number.isInteger(n) || n < 1 || n > ACCESS_MAX_LIMIT) return { parameter: 'limit', message: `limit must be an integer from 1 to ${ACCESS_MAX_LIMIT}` };
    q.limit = n;
  }
  const before = text('before');
  if (before !== null) {
    const m = /^(\d{1,16}):([\w-]{1,64})$/.exec(Buffer.from(before, 'base64url').toString('utf8'));
    if (!m) return { parameter: 'before', message: 'before must be a cursor returned as next_before' };
    q.before = { at: Number(m[1]), id: m[2]! };
  }
  return q;
}
