import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseAddressBlock } from '../../console/access/address-match';
import { CONSOLE_ROLES, type ConsoleRole } from '../../console/access/roles';

/**
 * The `console:` key of the config file: who may use the console and as what
 * role. Identities come from tokens (only their SHA-256 digests are written
 * down) or from a single-sign-on proxy in front of the console (oauth2-proxy
 * and the like), whose headers are believed only from the listed addresses.
 *
 * ```yaml
 * console:
 *   tokens:
 *     - { name: alice, role: auditor, sha256: <printf %s "$TOKEN" | sha256sum> }
 *   sso:
 *     trustedProxies: [127.0.0.1, 10.42.0.0/16]
 *     groups: { llm-admins: admin, compliance: auditor, engineering: viewer }
 * ```
 */

const role = z.enum(CONSOLE_ROLES);
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an HTTP header name (letters, digits, "-")')
  .transform((h) => h.toLowerCase());

const tokenEntry = z
  .object({
    name: z.string().regex(/^[^\s,][^,]{0,199}$/, 'must be 1-200 characters, without commas or a leading space'),
    role,
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be the SHA-256 digest of the token in hex (64 digits): printf %s "$TOKEN" | sha256sum')
      .transform((h) => h.toLowerCase()),
  })
  .strict();

const ssoSchema = z
  .object({
    trustedProxies: z
      .array(z.string().refine((s) => parseAddressBlock(s) !== null, 'must be an IP address or a CIDR block, e.g. 10.0.0.0/8'))
      .min(1, 'list the addresses of the proxy: its headers are refused from anywhere else'),
    userHeader: headerName.default('x-forwarded-user'),
    emailHeader: headerName.default('x-forwarded-email'),
    groupsHeader: headerName.default('x-forwarded-groups'),
    groups: z.record(z.string().min(1), role).default({}),
    /** Role of a signed-in user in no mapped group; unset = refused. */
    defaultRole: role.optional(),
  })
  .strict();

export const consoleFileSchema = z
  .object({
    tokens: z.array(tokenEntry).default([]),
    sso: ssoSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.tokens.forEach((t, i) => {
      if (seen.has(t.sha256)) ctx.addIssue({ code: 'custom', path: ['tokens', i, 'sha256'], message: 'the same token is listed twice' });
      seen.add(t.sha256);
    });
  });

export type ConsoleFileSettings = z.infer<typeof consoleFileSchema>;

/** A token the console accepts: only its digest is kept. */
export interface ConsoleCredential {
  /** Who the token is: recorded in the access log. */
  name: string;
  role: ConsoleRole;
  /** SHA-256 of the token, hex. */
  digest: string;
}

export interface SsoSettings {
  trustedProxies: string[];
  userHeader: string;
  emailHeader: string;
  groupsHeader: string;
  groups: Record<string, ConsoleRole>;
  defaultRole: ConsoleRole | null;
}

export interface ConsoleAccessSettings {
  credentials: ConsoleCredential[];
  sso: SsoSettings | null;
  /** A session (the cookie a sign-in gives) ends this long after it started. */
  sessionMs: number;
  /** Host names accepted in the Host header besides loopback ones (always checked when there is no access control). */
  allowedHosts: string[];
  cookieSecure: 'auto' | 'always';
  /** A second listener for /healthz, /readyz and /metrics without access control; null = none. */
  metricsPort: number | null;
}

export const tokenDigest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * `LLM_LOGGER_CONSOLE_TOKEN` tokens are admins (named `token:<digest prefix>`):
 * before roles existed a token opened everything, and a deployment that only
 * sets that variable must keep someone who can read the access log.
 */
export function buildConsoleAccess(
  envTokens: readonly string[],
  file: ConsoleFileSettings | undefined,
  scalars: { sessionHours: number; allowedHosts: string | undefined; cookieSecure: 'auto' | 'always'; metricsPort: number | undefined },
): ConsoleAccessSettings {
  // A token in both places is the file's: there it has a name and a role.
  const credentials: ConsoleCredential[] = (file?.tokens ?? []).map((t) => ({ name: t.name, role: t.role, digest: t.sha256 }));
  for (const t of envTokens) {
    const digest = tokenDigest(t);
    if (!credentials.some((c) => c.digest === digest)) credentials.push({ name: `token:${digest.slice(0, 8)}`, role: 'admin', digest });
  }
  const sso = file?.sso;
  return {
    credentials,
    sso: sso
      ? {
          trustedProxies: sso.trustedProxies,
          userHeader: sso.userHeader,
          emailHeader: sso.emailHeader,
          groupsHeader: sso.groupsHeader,
          groups: sso.groups,
          defaultRole: sso.defaultRole ?? null,
        }
      : null,
    sessionMs: Math.round(scalars.sessionHours * 3_600_000),
    allowedHosts: (scalars.allowedHosts ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    cookieSecure: scalars.cookieSecure,
    metricsPort: scalars.metricsPort ?? null,
  };
}

/** Whether anyone must identify themselves to use the console. */
export function accessControlled(a: ConsoleAccessSettings): boolean {
  return a.credentials.length > 0 || a.sso !== null;
}
