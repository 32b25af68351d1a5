import type { IncomingMessage } from 'node:http';
import { bearerToken, clearedCookie, readCookie, SESSION_COOKIE, sessionCookie, sessionSecret } from './auth';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('console auth', () => {
  it('reads a bearer token and the session cookie separately', () => {
    expect(bearerToken(req({ authorization: 'Bearer abc' }))).toBe('abc');
    expect(bearerToken(req({ authorization: 'Basic abc' }))).toBeNull();
    expect(sessionSecret(req({ cookie: `a=b; ${SESSION_COOKIE}=x%20y` }))).toBe('x y');
    expect(sessionSecret(req({ cookie: `${SESSION_COOKIE}=` }))).toBeNull();
    expect(sessionSecret(req({}))).toBeNull();
    expect(readCookie('a=%E0%A4%A', 'a')).toBeNull();
  });

  it('sets an HttpOnly, SameSite=Strict cookie for the session, Secure behind TLS, and clears it', () => {
    expect(sessionCookie('t', false, 3_600_000)).toMatch(/HttpOnly; SameSite=Strict; Path=\/; Max-Age=3600$/);
    expect(sessionCookie('t', true, 3_600_000)).toMatch(/; Secure$/);
    expect(clearedCookie(false)).toMatch(/Max-Age=0$/);
  });
});
