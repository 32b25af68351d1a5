import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Console access with `LLM_LOGGER_CONSOLE_TOKEN`. API clients send
 * `Authorization: Bearer <token>`; a browser exchanges the token once (login
 * form or `/login?token=…`) for an HttpOnly, SameSite=Strict cookie, which
 * also carries the SSE stream (EventSource cannot send headers). Tokens are
 * compared as SHA-256 digests with a constant-time compare, against every
 * configured token, so neither the length nor the matching token leaks.
 */

export const SESSION_COOKIE = 'llm_logger_console';
const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function tokenMatches(tokens: readonly string[], candidate: string | null): boolean {
  if (candidate === null || candidate === '') return false;
  const c = digest(candidate);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(digest(t), c) || ok;
  return ok;
}

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

/** The credential a request presents: a bearer token, else the session cookie. */
export function presentedToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return readCookie(req.headers.cookie, SESSION_COOKIE);
}

export function sessionCookie(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${COOKIE_MAX_AGE_S}${secure ? '; Secure' : ''}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}

export const LOGIN_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>llm-logger console: sign in</title>
<style>body{font:15px system-ui,sans-serif;background:#0f172a;color:#e2e8f0;display:grid;place-items:center;height:100vh;margin:0}
form{background:#1e293b;padding:2rem;border-radius:10px;min-width:320px}input{width:100%;box-sizing:border-box;padding:.6rem;margin:.8rem 0;border-radius:6px;border:1px solid #475569;background:#0f172a;color:inherit}
button{padding:.6rem 1.2rem;border:0;border-radius:6px;background:#6366f1;color:white;cursor:pointer}.err{color:#f87171;min-height:1.2em}</style></head>
<body><form id="f"><h2>llm-logger console</h2><label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<div class="err" id="err"></div><button type="submit">Sign in</button></form>
<script>document.getElementById('f').addEventListener('submit',async(e)=>{e.preventDefault();
const r=await fetch('/api/login',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({token:document.getElementById('token').value})});
if(r.ok)location.href='/';else document.getElementById('err').textContent='That token is not valid.';});</script></body></html>`;
