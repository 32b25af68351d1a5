import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { accessControlled, type ConsoleAccessSettings, type ConsoleCredential, type SsoSettings } from '../../shared/config/console-access';
import { AddressMatcher, normalizeAddress } from './address-match';
import type { AccessVia } from './access-record';
import { highestRole, type ConsoleRole } from './roles';
import type { SessionRow, SessionStore } from './session-store';

/**
 * Who is asking. In order: a single-sign-on proxy's user header (only from
 * a trusted proxy address: the same header from anywhere else is refused),
 * a bearer token, the session cookie. With no access control configured the
 * caller is the local operator (the console then binds loopback and checks
 * the Host header).
 */

export interface Principal {
  name: string;
  role: ConsoleRole;
  via: AccessVia;
  email: string | null;
  groups: string[];
  /** The session a cookie carried; null otherwise. */
  session: SessionRow | null;
}

export interface Denial {
  status: 401 | 403;
  code: 'unauthorized' | 'untrusted_proxy' | 'no_role';
  message: string;
  /** The cookie names a session that is gone: clear it. */
  clearCookie: boolean;
}

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; denial: Denial };

export interface Presented {
  headers: IncomingHttpHeaders;
  /** The socket's peer address. */
  peer: string;
  bearer: string | null;
  sessionSecret: string | null;
}

const digestOf = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** Tokens compared as digests, in constant time, against every configured one (neither length nor match leaks). */
export class CredentialTable {
  private readonly entries: { credential: ConsoleCredential; digest: Buffer }[];

  constructor(credentials: readonly ConsoleCredential[]) {
    this.entries = credentials.map((c) => ({ credential: c, digest: Buffer.from(c.digest, 'hex') }));
  }

  get size(): number {
    return this.entries.length;
  }

  find(token: string | null): ConsoleCredential | null {
    if (token === null || token === '') return null;
    const d = digestOf(token);
    let found: ConsoleCredential | null = null;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found = e.credential;
    return found;
  }

  byDigest(digest: string): ConsoleCredential | null {
    return this.entries.find((e) => e.credential.digest === digest)?.credential ?? null;
  }

  digests(): Set<string> {
    return new Set(this.entries.map((e) => e.credential.digest));
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const s = Array.isArray(v) ? v.join(',') : v;
  return s === undefined || s.trim() === '' ? null : s.trim();
}

/** The identity a trusted SSO proxy asserts, mapped to a role (pure). */
export function ssoPrincipal(headers: IncomingHttpHeaders, sso: SsoSettings): Principal | Denial {
  const user = header(headers, sso.userHeader)!;
  const email = header(headers, sso.emailHeader);
  const groups = (header(headers, sso.groupsHeader) ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  const role = highestRole(groups.flatMap((g) => (sso.groups[g] ? [sso.groups[g]] : []))) ?? sso.defaultRole;
  if (role === null) {
    return {
      status: 403,
      code: 'no_role',
      message: `signed in as ${user}, but none of the groups (${groups.join(', ') || 'none'}) maps to a console role (console.sso.groups in the config file)`,
      clearCookie: false,
    };
  }
  return { name: user, role, via: 'sso', email, groups, session: null };
}

const isDenial = (x: Principal | Denial): x is Denial => 'status' in x;

export class ConsoleAuthenticator {
  readonly credentials: CredentialTable;
  readonly controlled: boolean;
  private readonly proxies: AddressMatcher | null;

  constructor(
    readonly settings: ConsoleAccessSettings,
    readonly sessions: SessionStore,
  ) {
    this.credentials = new CredentialTable(settings.credentials);
    this.controlled = accessControlled(settings);
    this.proxies = settings.sso ? new AddressMatcher(settings.sso.trustedProxies) : null;
  }

  /** Whether the peer is a configured SSO proxy (its X-Forwarded-For is then believed for the access log). */
  fromTrustedProxy(peer: string): boolean {
    return this.proxies?.matches(peer) ?? false;
  }

  authenticate(p: Presented): AuthOutcome {
    const sso = this.settings.sso;
    if (sso && header(p.headers, sso.userHeader) !== null) {
      if (!this.fromTrustedProxy(p.peer)) {
        return {
          ok: false,
          denial: {
            status: 403,
            code: 'untrusted_proxy',
            message: `${sso.userHeader} came from ${normalizeAddress(p.peer)}, which is not in console.sso.trustedProxies: single-sign-on headers are believed only from the proxy`,
            clearCookie: false,
          },
        };
      }
      const principal = ssoPrincipal(p.headers, sso);
      return isDenial(principal) ? { ok: false, denial: principal } : { ok: true, principal };
    }
    if (p.bearer !== null) {
      const c = this.credentials.find(p.bearer);
      if (c) return { ok: true, principal: { name: c.name, role: c.role, via: 'token', email: null, groups: [], session: null } };
      return { ok: false, denial: unauthorized('this token is not accepted', false) };
    }
    if (p.sessionSecret !== null) {
      const session = this.sessions.lookup(p.sessionSecret);
      const c = session ? this.credentials.byDigest(session.credential) : null;
      if (session && c) return { ok: true, principal: { name: c.name, role: c.role, via: 'session', email: null, groups: [], session } };
      // A session of a token taken out of the configuration ends here too.
      if (session) this.sessions.revokeHandle(session.handle);
      if (this.controlled) return { ok: false, denial: unauthorized('the session has ended (signed out, expired or revoked): sign in again at /login', true) };
    }
    if (!this.controlled) return { ok: true, principal: { name: 'local', role: 'admin', via: 'open', email: null, groups: [], session: null } };
    return { ok: false, denial: unauthorized('this console needs a token: Authorization: Bearer <token>, or sign in at /login', false) };
  }
}

function unauthorized(message: string, clearCookie: boolean): Denial {
  return { status: 401, code: 'unauthorized', message, clearCookie };
}
