import type { IncomingMessage } from 'node:http';

/**
 * What a console request presents: `Authorization: Bearer <token>` (API
 * clients) or the session cookie a browser got at sign-in. The cookie holds a
 * random session id, never the token; it is HttpOnly, SameSite=Strict, and
 * it also carries the SSE stream (EventSource cannot send headers).
 */

export const SESSION_COOKIE = 'llm_logger_console';

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function bearerToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  return auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : null;
}

export function sessionSecret(req: IncomingMessage): string | null {
  const v = readCookie(req.headers.cookie, SESSION_COOKIE);
  return v === null || v === '' ? null : v;
}

export function sessionCookie(secret: string, secure: boolean, maxAgeMs: number): string {
  const maxAge = Math.max(1, Math.floor(maxAgeMs / 1000));
  return `${SESSION_COOKIE}=${encodeURIComponent(secret)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? '; Secure' : ''}`;
}
