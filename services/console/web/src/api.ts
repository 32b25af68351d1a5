import type { AggregateGroupBy, AggregateRow, AggregatesAnswer, AggregateWindow } from '../../aggregates-contract';

/** Fetch helpers for the console API (same origin; the session cookie rides along). */

export type { AggregateGroupBy, AggregateRow, AggregatesAnswer, AggregateWindow };

export type { RequestSummary } from '../../requests-store';
export type { AlertTransition } from '../../alerts/alert-tracker';
export type { AccessRecord } from '../../access/access-record';
import type { ConsoleRole } from '../../access/roles';

/** `GET /api/me`: who the console takes this page's user for, and what the role may read. */
export interface Me {
  name: string;
  role: ConsoleRole;
  via: 'token' | 'session' | 'sso' | 'open';
  email: string | null;
  groups: string[];
  permissions: { bodies: boolean; search: boolean; access_log: boolean; sessions: boolean };
  session: { handle: string; expires_at: string } | null;
  access_control: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.href = '/login';
    throw new ApiError(401, 'sign in needed');
  }
  const body = (await res.json().catch(() => null)) as (T & { error?: { message?: string } }) | null;
  if (!res.ok) throw new ApiError(res.status, body?.error?.message ?? `${path} answered ${res.status}`);
  return body as T;
}

/** `rollup`: one row per group over the whole range, its percentiles merged from every window's sketch. */
export function aggregates(window: AggregateWindow, groupBy: AggregateGroupBy, from: number, to: number, rollup = false): Promise<AggregatesAnswer> {
  const q = new URLSearchParams({ window, groupBy, from: String(from), to: String(to), rollup: String(rollup) });
  return getJson(`/api/aggregates?${q}`);
}

export async function signOut(): Promise<void> {
  await fetch('/api/logout', { method: 'POST' });
  location.href = '/login';
}
