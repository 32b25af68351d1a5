import { ACCESS_ACTIONS, type AccessAction } from './access-record';
import { parsePageParams, readParams, type QueryError } from '../request-query';

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
  const text = readParams(params, KNOWN);
  if (typeof text !== 'function') return text;
  const page = parsePageParams(text, ACCESS_MAX_LIMIT, /[\w-]{1,64}/);
  if ('parameter' in page) return page;
  const q: AccessQuery = { actor: text('actor'), action: null, eventId: text('event_id'), from: page.from, to: page.to, limit: page.limit ?? ACCESS_DEFAULT_LIMIT, before: page.before };
  const action = text('action');
  if (action !== null) {
    if (!(ACCESS_ACTIONS as readonly string[]).includes(action)) return { parameter: 'action', message: `action must be one of ${ACCESS_ACTIONS.join(', ')}` };
    q.action = action as AccessAction;
  }
  return q;
}
