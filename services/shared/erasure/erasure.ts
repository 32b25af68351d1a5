import type { InferenceEvent } from '../event/inference-event';

/**
 * What erasing a user means, in one place (pure). `llm-logger erase --user u`
 * removes the bodies of u's calls that started before the erase and keeps
 * their metadata (times, model, tokens, cost, status, user, app, tags), so
 * accounting, aggregates and budgets still add up. The erasure itself is
 * kept (llm.erasures.v1) so that every consumer strips the same calls when
 * they reach it later (a lagging consumer, a replay, a rebuilt view).
 */

/** The fields an erasure empties. `error_message` too: an upstream's error can quote the prompt. */
export const ERASED_FIELDS = ['request_body', 'response_body', 'response_text', 'tool_calls', 'error_message'] as const;
export type ErasedField = (typeof ERASED_FIELDS)[number];

/** The record on llm.erasures.v1 (JSON, keyed by user). */
export interface Erasure {
  user: string;
  /** Epoch ms: calls of the user that started at or before this are erased. */
  erased_at: number;
  /** Who asked: `cli` (llm-logger erase) or `console` (POST /api/admin/erase). */
  source: string;
}

/** User ids are free-form strings from `x-llm-user` or ingest; this bounds what an erase accepts. */
export const MAX_USER_CHARS = 1024;

/** Why a user id cannot be erased, or null when it can. */
export function checkUser(user: unknown): string | null {
  if (typeof user !== 'string') return 'must be a string (the user id as recorded, e.g. from x-llm-user)';
  if (user.length === 0) return 'must not be empty';
  if (user.length > MAX_USER_CHARS) return `must be at most ${MAX_USER_CHARS} characters`;
  return null;
}

export function encodeErasure(e: Erasure): Buffer {
  return Buffer.from(JSON.stringify({ user: e.user, erased_at: e.erased_at, source: e.source }));
}

/** Parses a record of llm.erasures.v1; throws naming the bad field. */
export function decodeErasure(value: Buffer): Erasure {
  const r = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  if (checkUser(r.user) !== null) throw new Error('erasure record: bad or missing field "user"');
  if (typeof r.erased_at !== 'number' || !Number.isFinite(r.erased_at)) throw new Error('erasure record: bad or missing field "erased_at"');
  return { user: r.user as string, erased_at: r.erased_at, source: typeof r.source === 'string' ? r.source : 'unknown' };
}

export function hasBodies(e: Pick<InferenceEvent, ErasedField>): boolean {
  return ERASED_FIELDS.some((f) => e[f] !== null);
}

/** The event without its bodies (a copy; `body_captured` still says whether the gateway had captured them). */
export function stripBodies(e: InferenceEvent): InferenceEvent {
  return { ...e, request_body: null, response_body: null, response_text: null, tool_calls: null, error_message: null };
}

/**
 * The erasures a process knows, by user (the newest wins). `generation`
 * grows with every change, so a writer can tell whether one arrived while
 * it was writing (and check what it wrote again).
 */
export class ErasureList {
  private readonly byUser = new Map<string, number>();
  private readonly listeners = new Set<(e: Erasure) => void>();
  generation = 0;

  get size(): number {
    return this.byUser.size;
  }

  /** Adds an erasure; answers whether it changed anything (an older or equal one for the user does not). */
  add(e: Erasure): boolean {
    const known = this.byUser.get(e.user);
    if (known !== undefined && known >= e.erased_at) return false;
    this.byUser.set(e.user, e.erased_at);
    this.generation++;
    for (const fn of this.listeners) fn(e);
    return true;
  }

  erasedAt(user: string | null): number | null {
    return user === null ? null : (this.byUser.get(user) ?? null);
  }

  covers(user: string | null, startedAt: number): boolean {
    const at = this.erasedAt(user);
    return at !== null && startedAt <= at;
  }

  /** The event as a consumer may keep it: without bodies when an erasure covers it. */
  apply(e: InferenceEvent): InferenceEvent {
    return this.byUser.size > 0 && this.covers(e.user, e.started_at) && hasBodies(e) ? stripBodies(e) : e;
  }

  /** Called after each change (a writer erases what it may have written just before). Returns the unsubscribe. */
  onChange(fn: (e: Erasure) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
