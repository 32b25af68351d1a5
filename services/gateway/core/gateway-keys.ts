import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { CallTags } from './tagging';
import type { BudgetPeriod } from './key-budget';

/**
 * Gateway keys: what a client presents to call the gateway, mapped to an
 * identity (user, app, team), the upstreams it may use and an optional
 * budget. Pure: the key file's parsed document comes in, a lookup table goes
 * out. The file holds SHA-256 digests only, so reading it (or a backup of it)
 * gives no usable key; keys are long random strings (`llm-logger keys add`),
 * for which an unsalted digest is safe, unlike passwords.
 */

export const KEY_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Keys shorter than this are refused by `llm-logger keys hash`: a digest protects only a key that cannot be guessed. */
export const MIN_KEY_CHARS = 24;
/** The header a client sends its gateway key in when it also sends its own provider key. */
export const GATEWAY_KEY_HEADER = 'x-llm-key';
const IDENTITY_CHARS = 256;

const budgetSchema = z
  .object({
    usd: z.number().positive().max(1e9),
    period: z.enum(['day', 'month']),
  })
  .strict();

const keySchema = z
  .object({
    id: z.string().regex(KEY_ID, `must match ${KEY_ID.source} (it is recorded on events as gateway_key_id)`),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/i, 'must be the hex SHA-256 of the key (`llm-logger keys hash`), never the key')
      .transform((h) => h.toLowerCase()),
    user: z.string().min(1).max(IDENTITY_CHARS).optional(),
    app: z.string().min(1).max(IDENTITY_CHARS).optional(),
    team: z.string().min(1).max(IDENTITY_CHARS).optional(),
    upstreams: z.array(z.string().min(1)).min(1).optional(),
    allowUserHeader: z.boolean().default(false),
    budget: budgetSchema.optional(),
  })
  .strict();

export const keyFileSchema = z.object({ keys: z.array(keySchema) }).strict();

export interface GatewayKey {
  /** The key's name: recorded as `gateway_key_id`, shown in logs and errors. Never the key. */
  id: string;
  user: string | null;
  app: string | null;
  /** Recorded as the tag `team`. */
  team: string | null;
  /** null: every upstream. */
  upstreams: ReadonlySet<string> | null;
  /** The client may name the user with `x-llm-user` (an app key serving many users). */
  allowUserHeader: boolean;
  budget: { microUsd: number; period: BudgetPeriod } | null;
}

/** Keys by the SHA-256 digest (hex) of the key. */
export type KeyTable = ReadonlyMap<string, GatewayKey>;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A key file's document as a table, or the problems found, each naming its place (`keys.2.upstreams.0`). */
export function parseKeyFile(doc: unknown, upstreamNames: ReadonlySet<string>): { table: KeyTable } | { problems: string[] } {
  const parsed = keyFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(file)'}: ${i.message}`) };
  }
  const problems: string[] = [];
  const table = new Map<string, GatewayKey>();
  const ids = new Set<string>();
  parsed.data.keys.forEach((k, i) => {
    if (ids.has(k.id)) problems.push(`keys.${i}.id: "${k.id}" is used by an earlier key`);
    if (table.has(k.sha256)) problems.push(`keys.${i}.sha256: the same key is listed twice`);
    k.upstreams?.forEach((u, j) => {
      if (!upstreamNames.has(u)) problems.push(`keys.${i}.upstreams.${j}: no upstream named "${u}" (configured: ${[...upstreamNames].sort().join(', ')})`);
    });
    ids.add(k.id);
    table.set(k.sha256, {
      id: k.id,
      user: k.user ?? null,
      app: k.app ?? null,
      team: k.team ?? null,
      upstreams: k.upstreams ? new Set(k.upstreams) : null,
      allowUserHeader: k.allowUserHeader,
      budget: k.budget ? { microUsd: Math.round(k.budget.usd * 1_000_000), period: k.budget.period } : null,
    });
  });
  return problems.length > 0 ? { problems } : { table };
}

export type KeyCarrier = 'x-llm-key' | 'authorization' | 'x-api-key' | 'api-key';

export interface PresentedKey {
  key: string;
  /** The header it came in; a provider-credential header that carried it is not forwarded. */
  carrier: KeyCarrier;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The gateway key a request presents. `x-llm-key` always (the client then
 * sends its own provider key as usual); when the gateway injects the
 * upstream's provider key, the SDK's own credential header carries it
 * instead: `Authorization: Bearer <key>` (OpenAI SDK, Anthropic `authToken`),
 * `x-api-key` (Anthropic SDK) or `api-key` (Azure OpenAI SDK).
 */
export function presentedKey(headers: IncomingHttpHeaders, injects: boolean): PresentedKey | null {
  const explicit = single(headers[GATEWAY_KEY_HEADER]);
  if (explicit !== undefined && explicit.trim() !== '') return { key: explicit.trim(), carrier: 'x-llm-key' };
  if (!injects) return null;
  const auth = single(headers.authorization);
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? { key: m[1]!, carrier: 'authorization' } : null;
  }
  const xApiKey = single(headers['x-api-key']);
  if (xApiKey !== undefined && xApiKey.trim() !== '') return { key: xApiKey.trim(), carrier: 'x-api-key' };
  const apiKey = single(headers['api-key']);
  if (apiKey !== undefined && apiKey.trim() !== '') return { key: apiKey.trim(), carrier: 'api-key' };
  return null;
}

/** Whether the client sends a provider credential of its own (beyond the header that carried the gateway key). */
export function sendsOwnCredential(headers: IncomingHttpHeaders, carrier: KeyCarrier | null): boolean {
  return (
    (carrier !== 'authorization' && headers.authorization !== undefined) ||
    (carrier !== 'x-api-key' && headers['x-api-key'] !== undefined) ||
    (carrier !== 'api-key' && headers['api-key'] !== undefined)
  );
}

export interface IdentityConflict {
  header: string;
  message: string;
}

/**
 * Puts the key's identity on the call. What the key names is fixed: a
 * different `x-llm-app` or `x-llm-tag-team` is refused. `x-llm-user` may
 * name the user only when the key allows it (`allowUserHeader`), or when it
 * repeats the key's own user.
 */
export function applyKeyIdentity(tags: CallTags, key: GatewayKey): IdentityConflict | null {
  if (tags.user !== null && tags.user !== key.user && !key.allowUserHeader) {
    return {
      header: 'x-llm-user',
      message: key.user
        ? `x-llm-user "${tags.user}" conflicts with gateway key "${key.id}", which is for user "${key.user}"`
        : `gateway key "${key.id}" may not name the user with x-llm-user (allowUserHeader is not set for it)`,
    };
  }
  if (key.app !== null && tags.app !== null && tags.app !== key.app) {
    return { header: 'x-llm-app', message: `x-llm-app "${tags.app}" conflicts with gateway key "${key.id}", which is for app "${key.app}"` };
  }
  const team = tags.tags.team;
  if (key.team !== null && team !== undefined && team !== key.team) {
    return { header: 'x-llm-tag-team', message: `x-llm-tag-team "${team}" conflicts with gateway key "${key.id}", which is for team "${key.team}"` };
  }
  tags.user ??= key.user;
  tags.app ??= key.app;
  if (key.team !== null) tags.tags.team = key.team;
  return null;
}
