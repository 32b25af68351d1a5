import { z } from 'zod';
import { CONSOLE_ROLES } from './roles';

/**
 * One record of the access log (`llm.access.v1`): somebody read bodies
 * (prompts, answers) or searched them through the console. JSON, one record
 * per read, keyed by the actor's name: a small topic that SIEMs, log
 * shippers and scripts read without a schema registry. `v` is the shape's
 * version; fields are only ever added.
 */

export const ACCESS_ACTIONS = [
  /** GET /api/requests/:id with its bodies. */
  'request_bodies',
  /** GET /api/requests whose answer previews were sent. */
  'request_previews',
  /** GET /api/search (and `llm-logger search`): the query, its filters and the calls whose snippets were sent. */
  'search',
  /** GET /api/live with prompt and answer text (one record per connection). */
  'live_text',
  /** POST /api/admin/erase: a user's bodies erased (the user in `filters`). */
  'erase',
] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export const ACCESS_VIA = ['token', 'session', 'sso', 'open', 'cli'] as const;
export type AccessVia = (typeof ACCESS_VIA)[number];

const accessRecordSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1),
  at: z.iso.datetime(),
  actor: z.object({
    name: z.string(),
    role: z.enum(CONSOLE_ROLES),
    /** How the actor was identified: bearer token, session cookie, SSO proxy headers, no access control (loopback), or the CLI. */
    via: z.enum(ACCESS_VIA),
    email: z.string().nullable(),
    groups: z.array(z.string()),
  }),
  action: z.enum(ACCESS_ACTIONS),
  /** The calls whose bodies (or text from them) were sent. */
  event_ids: z.array(z.string()),
  /** Search words as typed; null for other actions. */
  query: z.string().nullable(),
  /** The other parameters of the request (filters, paging), as sent. */
  filters: z.record(z.string(), z.string()),
  /** Matches found (search) or calls listed; null when not applicable. */
  results: z.number().int().nonnegative().nullable(),
  client: z.object({
    /** The address the console saw (the proxy's when there is one). */
    ip: z.string(),
    /** X-Forwarded-For as a trusted proxy sent it; null otherwise. */
    forwarded_for: z.string().nullable(),
    user_agent: z.string().nullable(),
  }),
  /** The console (LLM_LOGGER_INSTANCE) that served the read. */
  console: z.string(),
});

export type AccessRecord = z.infer<typeof accessRecordSchema>;

/** Longest user agent and query kept (a record must stay small). */
const MAX_TEXT = 2_000;

export function clip(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

export function encodeAccessRecord(r: AccessRecord): Buffer {
  return Buffer.from(JSON.stringify(r));
}

/** A record from the topic, or null for a value that is not one (skipped: it is not ours to fix). */
export function decodeAccessRecord(value: Buffer): AccessRecord | null {
  try {
    const parsed = accessRecordSchema.safeParse(JSON.parse(value.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
