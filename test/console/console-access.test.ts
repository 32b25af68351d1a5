import { startPipeline, type Pipeline } from '../support/pipeline';
import { openSse } from '../support/sse-client';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { closeAll } from '../support/close-all';

/** LLM_LOGGER_CONSOLE_TOKEN: nothing (page, API, live stream) without a valid token. */

const TOKEN = 'console-token-for-tests-0001';
const OTHER = 'second-console-token-0002';
let upstream: StandIn;
let pipeline: Pipeline;
let eventId: string;

beforeAll(async () => {
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url, { LLM_LOGGER_CONSOLE_TOKEN: `${TOKEN}, ${OTHER}` });
  const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a confidential prompt' }] }),
  });
  eventId = res.headers.get('x-llm-request-id')!;
  await res.text();
  for (let i = 0; i < 250; i++) {
    const seen = await fetch(`${pipeline.consoleUrl}/api/requests/${eventId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (seen.status === 200) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the call never reached the console');
});

afterAll(() => closeAll(pipeline, upstream));

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${pipeline.consoleUrl}${path}`, { headers, redirect: 'manual' });

test('without a token the API answers 401, the page sends to the login, and no prompt is served', async () => {
  for (const path of ['/api/requests', `/api/requests/${eventId}`, '/api/alerts', '/api/live', '/api/aggregates?window=1m&groupBy=overall']) {
    const res = await get(path);
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('confidential');
  }
  for (const path of ['/', '/assets/index.js', '/index.html']) {
    const res = await get(path);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login');
  }
  expect((await get('/api/requests', { authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);
  expect((await get('/api/requests', { cookie: 'llm_logger_console=wrong-token-000000000' })).status).toBe(401);
  const login = await get('/login');
  expect(login.status).toBe(200);
  expect(await login.text()).toContain('Access token');
  // Health and metrics stay open for probes and scrapers.
  expect((await get('/healthz')).status).toBe(200);
});

test('any configured token opens the API as a bearer token', async () => {
  for (const token of [TOKEN, OTHER]) {
    const res = await get(`/api/requests/${eventId}`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
  }
});

test('a browser exchanges the token for an HttpOnly cookie that also carries the live stream', async () => {
  const posted = await fetch(`${pipeline.consoleUrl}/api/login`, { method: 'POST', body: JSON.stringify({ token: TOKEN }) });
  expect(posted.status).toBe(204);
  expect(posted.headers.get('set-cookie')).toMatch(/^llm_logger_console=.+; HttpOnly; SameSite=Strict/);
  const refused = await fetch(`${pipeline.consoleUrl}/api/login`, { method: 'POST', body: JSON.stringify({ token: 'nope' }) });
  expect(refused.status).toBe(401);

  const viaLink = await get(`/login?token=${TOKEN}`);
  expect(viaLink.status).toBe(302);
  expect(viaLink.headers.get('location')).toBe('/');
  const cookie = viaLink.headers.get('set-cookie')!.split(';')[0]!;
  expect((await get('/api/requests', { cookie })).status).toBe(200);
  expect((await get('/', { cookie })).status).toBe(200);
  const sse = await openSse(`${pipeline.consoleUrl}/api/live`, { cookie });
  try {
    expect(sse.status).toBe(200);
    await sse.waitFor((m) => m.event === 'snapshot');
  } finally {
    sse.close();
  }
  const unauthorizedSse = await openSse(`${pipeline.consoleUrl}/api/live`);
  expect(unauthorizedSse.status).toBe(401);
});
