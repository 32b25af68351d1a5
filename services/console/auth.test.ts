import type { IncomingMessage } from 'node:http';
import { presentedToken, readCookie, SESSION_COOKIE, sessionCookie, tokenMatches } from './auth';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('console auth', () => {
  const tokens = ['first-token-0123456789', 'second-token-0123456789'];

  it('accepts any configured token and nothing else', () => {
    expect(tokenMatches(tokens, 'first-token-0123456789')).toBe(true);
    expect(tokenMatches(tokens, 'second-token-0123456789')).toBe(true);
    expect(tokenMatches(tokens, 'first-token-012345678')).toBe(false);
    expect(tokenMatches(tokens, '')).toBe(false);
    expect(tokenMatches(tokens, null)).toBe(false);
    expect(tokenMatches([], 'anything')).toBe(false);
  });

  it('reads a bearer token first, then the session cookie', () => {
    expect(presentedToken(req({ authorization: 'Bearer abc' }))).toBe('abc');
    expect(presentedToken(req({ cookie: `a=b; ${SESSION_COOKIE}=x%20y` }))).toBe('x y');
    expect(presentedToken(req({}))).toBeNull();
    expect(readCookie('a=%E0%A4%A', 'a')).toBeNull();
  });

  it('sets an HttpOnly, SameSite=Strict cookie, Secure behind TLS', () => {
    expect(sessionCookie('t', false)).toMatch(/HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    expect(sessionCookie('t', true)).toMatch(/; Secure$/);
  });
});
