/**
 * The sign-in page. Its script and style are files of their own (served
 * without a session, like the page) so that the console's Content Security
 * Policy needs no 'unsafe-inline'.
 */

export const LOGIN_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>llm-logger console: sign in</title><link rel="stylesheet" href="/login.css"><script type="module" src="/login.js"></script></head>
<body><form id="f"><h2>llm-logger console</h2><label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<div class="err" id="err"></div><button type="submit">Sign in</button></form></body></html>`;

export const LOGIN_CSS = `body{font:15px system-ui,sans-serif;background:#0f172a;color:#e2e8f0;display:grid;place-items:center;height:100vh;margin:0}
form{background:#1e293b;padding:2rem;border-radius:10px;min-width:320px}input{width:100%;box-sizing:border-box;padding:.6rem;margin:.8rem 0;border-radius:6px;border:1px solid #475569;background:#0f172a;color:inherit}
button{padding:.6rem 1.2rem;border:0;border-radius:6px;background:#6366f1;color:white;cursor:pointer}.err{color:#f87171;min-height:1.2em}
`;

export const LOGIN_JS = `document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: document.getElementById('token').value }) });
  if (r.ok) location.href = '/';
  else document.getElementById('err').textContent = 'That token is not valid.';
});
`;
