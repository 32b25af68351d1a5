import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Checks every console response goes through before any route: the Host
 * header (DNS rebinding), the origin of state-changing requests (CSRF), and
 * the security headers of every answer.
 */

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** The host name of a Host header, lower-cased, without port or IPv6 brackets; null when malformed. */
export function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]! : null;
}

/**
 * A page reached under a name that is not the console's (a DNS rebinding
 * attack points an attacker's name at 127.0.0.1) is refused: loopback names
 * and the configured ones only. `127.x.y.z` counts as loopback.
 */
export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  const name = hostName(header);
  if (name === null) return false;
  return LOOPBACK_NAMES.has(name) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name.endsWith('.localhost') || allowed.includes(name);
}

/**
 * A browser sends Origin with every POST/DELETE; one from another site is
 * refused (SameSite=Strict already keeps the cookie off such requests; this
 * also covers sign-in forms posted from elsewhere). Clients that send no
 * Origin (curl, scripts) are not browsers on another site.
 */
export function sameOriginOrNone(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/**
 * The dashboard is Vite-built modules and stylesheets from this origin, with
 * no inline script or style: nothing else may run, and no page may frame it.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function setSecurityHeaders(res: ServerResponse, secure: boolean): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  res.setHeader('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
  if (secure) res.setHeader('strict-transport-security', 'max-age=31536000');
}
