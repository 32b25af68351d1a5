import { request } from 'node:http';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { accessRecords, TOKENS } from '../support/console-identities';

/**
 * DNS rebinding: a console without access control (loopback, the default)
 * answers only under loopback names and LLM_LOGGER_CONSOLE_ALLOWED_HOSTS. A
 * page under an attacker's name that resolves to 127.0.0.1 gets a 403 and
 * nothing else.
 */

let upstream: StandIn;
let open: Pipeline;
let eventId: string;

/** A GET with the Host header we choose (fetch would set its own). */
function getWithHost(base: string, path: string, host: string | null, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const options = { host: url.hostname, port: url.port, path: url.pathname + url.search, setHost: false, headers: host === null ? headers : { host, ...headers } };
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  upstream = await startStandIn();
  open = await startPipeline(upstream.url, { LLM_LOGGER_CONSOLE_ALLOWED_HOSTS: 'llm-console.internal' });
  const res = await fetch(`${open.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a rebinding target prompt' }] }),
  });
  eventId = res.headers.get('x-llm-request-id')!;
  await res.text();
  await open.waitForEvent(eventId);
});

afterAll(async () => {
  await open?.close();
  await upstream?.close();
});

test('a request under another host name is refused with 403 naming the setting, and serves nothing', async () => {
  const port = new URL(open.consoleUrl).port;
  const recorded = accessRecords(open.dataDir).length;
  for (const path of ['/', `/api/requests/${eventId}`, '/api/requests', '/api/search?q=rebinding', '/metrics', '/api/live']) {
    const res = await getWithHost(open.consoleUrl, path, `attacker.example:${port}`);
    expect({ path, status: res.status }).toEqual({ path, status: 403 });
    expect(res.body).toContain('host_not_allowed');
    expect(res.body).toContain('LLM_LOGGER_CONSOLE_ALLOWED_HOSTS');
    expect(res.body).not.toContain('rebinding target');
  }
  // An empty Host is refused by the console; none at all already by node's HTTP server (400).
  expect((await getWithHost(open.consoleUrl, '/', '')).status).toBe(403);
  expect((await getWithHost(open.consoleUrl, '/', null)).status).toBe(400);
  // No body was read, so no access record was written.
  expect(accessRecords(open.dataDir).length).toBe(recorded);
});

test('loopback names and the configured host are served; health answers under any name', async () => {
  const port = new URL(open.consoleUrl).port;
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `llm-console.internal:${port}`]) {
    const res = await getWithHost(open.consoleUrl, `/api/requests/${eventId}`, host);
    expect({ host, status: res.status }).toEqual({ host, status: 200 });
  }
  expect((await getWithHost(open.consoleUrl, '/healthz', 'attacker.example')).status).toBe(200);
});

test('a console with access control is not bound to a host name unless one is configured', async () => {
  const guarded = await startPipeline(upstream.url, { LLM_LOGGER_CONSOLE_TOKEN: TOKENS.admin });
  try {
    const res = await getWithHost(guarded.consoleUrl, '/api/requests', 'console.example.com', { authorization: `Bearer ${TOKENS.admin}` });
    expect(res.status).toBe(200);
    // The name alone opens nothing.
    expect((await getWithHost(guarded.consoleUrl, '/api/requests', 'localhost')).status).toBe(401);
  } finally {
    await guarded.close();
  }
});
