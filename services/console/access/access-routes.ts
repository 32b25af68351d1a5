import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, sendJsonError } from '../../shared/http/json-response';
import { clearedCookie, sessionCookie, sessionSecret } from '../auth';
import { encodeAccessCursor, parseAccessQuery } from './access-query';
import type { AccessLogStore } from './access-log-store';
import type { ClientInfo } from './access-log-writer';
import type { ConsoleAuthenticator } from './authenticate';
import { permissionsOf } from './roles';
import type { ConsoleRoute } from './route-guard';

/**
 * Identity routes: sign-in and sign-out (public), who am I (any role), the
 * sessions and the access log (admins).
 */

const MAX_LOGIN_BODY = 4096;

function readSmallBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      }
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

export interface SignIn {
  auth: ConsoleAuthenticator;
  secure: boolean;
  client: ClientInfo;
}

/** Exchanges a token for a session: the cookie, or null when the token is not accepted. */
export function openSession(token: string | null, s: SignIn): string | null {
  const credential = s.auth.credentials.find(token);
  if (!credential) return null;
  const { secret } = s.auth.sessions.create(credential.digest, credential.name, s.auth.settings.sessionMs, {
    ip: s.client.ip,
    userAgent: s.client.userAgent,
  });
  return sessionCookie(secret, s.secure, s.auth.settings.sessionMs);
}

/** `POST /api/login` with `{ "token": "…" }`: 204 and the session cookie, or 401. */
export async function serveLogin(req: IncomingMessage, res: ServerResponse, s: SignIn): Promise<void> {
  const body = await readSmallBody(req, MAX_LOGIN_BODY);
  let token: string | null;
  try {
    const parsed = body ? (JSON.parse(body) as { token?: unknown }) : null;
    token = typeof parsed?.token === 'string' ? parsed.token : null;
  } catch {
    token = null;
  }
  if (s.auth.credentials.size === 0) {
    sendJsonError(res, 401, 'unauthorized', 'no token is configured (LLM_LOGGER_CONSOLE_TOKEN, or console.tokens in the config file)');
    return;
  }
  const cookie = openSession(token, s);
  if (cookie === null) {
    sendJsonError(res, 401, 'unauthorized', 'token not accepted');
    return;
  }
  res.writeHead(204, { 'set-cookie': cookie });
  res.end();
}

/** `POST /api/logout`: ends the cookie's session (it cannot be used again, even if copied) and clears the cookie. */
export function serveLogout(req: IncomingMessage, res: ServerResponse, s: Pick<SignIn, 'auth' | 'secure'>): void {
  const secret = sessionSecret(req);
  if (secret !== null) s.auth.sessions.revokeSecret(secret);
  res.writeHead(204, { 'set-cookie': clearedCookie(s.secure) });
  res.end();
}

export function accessRoutes(auth: ConsoleAuthenticator, accessLog: AccessLogStore): ConsoleRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/me',
      role: 'viewer',
      handle: ({ res, principal: p }) =>
        sendJson(res, 200, {
          name: p.name,
          role: p.role,
          via: p.via,
          email: p.email,
          groups: p.groups,
          permissions: permissionsOf(p.role),
          session: p.session ? { handle: p.session.handle, expires_at: new Date(p.session.expiresAt).toISOString() } : null,
          access_control: auth.controlled,
        }),
    },
    {
      method: 'GET',
      path: '/api/sessions',
      role: 'admin',
      handle: ({ res, principal }) =>
        sendJson(res, 200, {
          sessions: auth.sessions.list().map((s) => ({
            handle: s.handle,
            name: s.name,
            role: auth.credentials.byDigest(s.credential)?.role ?? null,
            created_at: new Date(s.createdAt).toISOString(),
            expires_at: new Date(s.expiresAt).toISOString(),
            last_seen_at: new Date(s.lastSeenAt).toISOString(),
            ip: s.ip,
            user_agent: s.userAgent,
            current: principal.session?.handle === s.handle,
          })),
        }),
    },
    {
      method: 'DELETE',
      path: '/api/sessions',
      role: 'admin',
      handle: ({ res, url }) => {
        const name = url.searchParams.get('name');
        if (!name) {
          sendJsonError(res, 400, 'invalid_parameter', 'name is required: DELETE /api/sessions?name=<identity> ends every session of that identity', {
            extra: { parameter: 'name' },
          });
          return;
        }
        sendJson(res, 200, { revoked: auth.sessions.revokeName(name) });
      },
    },
    {
      method: 'DELETE',
      path: /^\/api\/sessions\/([^/]+)$/,
      role: 'admin',
      handle: ({ res, params }) => {
        const handle = params[0]!;
        if (!/^[0-9a-f]{16}$/.test(handle)) {
          sendJsonError(res, 400, 'invalid_parameter', 'a session handle is 16 hex digits (GET /api/sessions lists them)', { extra: { parameter: 'handle' } });
          return;
        }
        if (auth.sessions.revokeHandle(handle)) sendJson(res, 200, { revoked: 1 });
        else sendJsonError(res, 404, 'not_found', `no session ${handle} (ended already, or never opened)`);
      },
    },
    {
      method: 'GET',
      path: '/api/access-log',
      role: 'admin',
      handle: ({ res, url }) => {
        const q = parseAccessQuery(url.searchParams);
        if ('parameter' in q) {
          sendJsonError(res, 400, 'invalid_parameter', q.message, { extra: { parameter: q.parameter } });
          return;
        }
        const entries = accessLog.list(q);
        const last = entries.length === q.limit ? entries[entries.length - 1] : undefined;
        sendJson(res, 200, { entries, next_before: last ? encodeAccessCursor(Date.parse(last.at), last.id) : null });
      },
    },
  ];
}
