import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessRecord } from '../../services/console/access/access-record';
import { accessRecords, bearer, NAMES, TOKENS, until, writeAccessConfig } from '../support/console-identities';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { openSse } from '../support/sse-client';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * Console access by role, and the access log: a viewer never gets a body,
 * an auditor does and every such read is recorded (read back from
 * llm.access.v1 in the embedded log), an admin sees the log. Each refusal
 * names what is missing and leaves the access log as it was.
 */

const PROMPT = 'the zebra keeper asks about a confidential diagnosis';
let upstream: StandIn;
let pipeline: Pipeline;
let configDir: string;
let eventId: string;
let answer: string;

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${pipeline.consoleUrl}${path}`, { headers, redirect: 'manual' });
const records = (): AccessRecord[] => accessRecords(pipeline.dataDir);

/** Runs `act` and answers the access records it added. */
async function added(act: () => Promise<unknown>): Promise<AccessRecord[]> {
  const before = records().length;
  await act();
  return records().slice(before);
}

async function call(prompt: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-llm-user': 'alice', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }),
  });
  await res.text();
  return res.headers.get('x-llm-request-id')!;
}

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'llm-logger-console-access-'));
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url, { LLM_LOGGER_CONFIG: writeAccessConfig(configDir), LLM_LOGGER_CONSOLE_METRICS_PORT: '0' }, { indexer: true });
  eventId = await call(PROMPT);
  const event = await pipeline.waitForEvent(eventId, 10_000, bearer('auditor'));
  answer = event.response_text!;
  expect(answer.length).toBeGreaterThan(20);
  // Searchable once the indexer has it.
  await until(async () => ((await (await get('/api/search?q=zebra', bearer('auditor'))).json()) as { total: number }).total > 0, 10_000, 'indexed');
}, 30_000);

afterAll(async () => {
  await pipeline?.close();
  await upstream?.close();
  rmSync(configDir, { recursive: true, force: true });
});

describe('viewer', () => {
  test('reads a call\'s metadata without its bodies, and nothing is recorded', async () => {
    let body = '';
    const recorded = await added(async () => {
      const res = await get(`/api/requests/${eventId}`, bearer('viewer'));
      expect(res.status).toBe(200);
      body = await res.text();
    });
    const event = JSON.parse(body) as Record<string, unknown>;
    expect(event).toMatchObject({ event_id: eventId, user: 'alice', request_model: 'gpt-4o-mini', http_status: 200, bodies_withheld: true });
    expect(event).toMatchObject({ request_body: null, response_body: null, response_text: null, tool_calls: null });
    expect((event.usage as { output_tokens: number }).output_tokens).toBeGreaterThan(0);
    expect(body).not.toContain('zebra');
    expect(body).not.toContain(answer.slice(0, 30));
    expect(recorded).toEqual([]);
  });

  test('lists calls without answer previews, and nothing is recorded', async () => {
    let body = '';
    const recorded = await added(async () => {
      const res = await get('/api/requests?limit=10', bearer('viewer'));
      expect(res.status).toBe(200);
      body = await res.text();
    });
    const { requests } = JSON.parse(body) as { requests: { event_id: string; response_preview: string | null }[] };
    expect(requests.find((r) => r.event_id === eventId)).toMatchObject({ response_preview: null });
    expect(body).not.toContain(answer.slice(0, 30));
    expect(recorded).toEqual([]);
  });

  test('cannot search: 403 naming the auditor role; nothing is searched or recorded', async () => {
    let res!: Response;
    const recorded = await added(async () => (res = await get('/api/search?q=zebra', bearer('viewer'))));
    expect(res.status).toBe(403);
    const error = ((await res.json()) as { error: { code: string; message: string; required_role: string } }).error;
    expect(error).toMatchObject({ code: 'forbidden', required_role: 'auditor' });
    expect(error.message).toContain('needs the auditor role; vera is a viewer');
    expect(recorded).toEqual([]);
  });

  test('cannot read the access log or the sessions: 403 naming the admin role', async () => {
    for (const path of ['/api/access-log', '/api/sessions']) {
      const res = await get(path, bearer('viewer'));
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { required_role: string } }).error.required_role).toBe('admin');
    }
  });

  test('follows the live tail without prompt or answer text, and nothing is recorded', async () => {
    const before = records().length;
    const sse = await openSse(`${pipeline.consoleUrl}/api/live`, bearer('viewer'));
    try {
      expect(sse.status).toBe(200);
      await sse.waitFor((m) => m.event === 'snapshot');
      const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-stand-in-chunk-delay-ms': '40', 'x-stand-in-chunks': '20' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a secret streamed prompt' }] }),
      });
      const id = res.headers.get('x-llm-request-id')!;
      await res.text();
      await sse.waitFor((m) => m.event === 'finished' && (m.data as { event_id: string }).event_id === id, 5_000);
      const mine = sse.messages.filter((m) => (m.data as { event_id?: string }).event_id === id);
      expect(mine.filter((m) => m.event === 'progress').length).toBeGreaterThan(0);
      for (const m of mine) {
        const d = m.data as { prompt?: string | null; text?: string; response_preview?: string | null };
        if (m.event === 'started') expect(d.prompt).toBeNull();
        if (m.event === 'progress') expect(d.text).toBe('');
        if (m.event === 'finished') expect(d.response_preview).toBeNull();
      }
      expect(JSON.stringify(sse.messages)).not.toContain('secret streamed prompt');
    } finally {
      sse.close();
    }
    expect(records().length).toBe(before);
  });
});

describe('auditor', () => {
  test('reads a call\'s bodies, and the read is recorded: who, which call, when, from where', async () => {
    const from = Date.now();
    let event!: { request_body: string; response_text: string };
    const recorded = await added(async () => {
      const res = await get(`/api/requests/${eventId}`, { ...bearer('auditor'), 'user-agent': 'audit-script/1.0' });
      expect(res.status).toBe(200);
      event = (await res.json()) as typeof event;
    });
    expect(event.request_body).toContain('zebra');
    expect(event.response_text).toBe(answer);
    expect(recorded).toHaveLength(1);
    const r = recorded[0]!;
    expect(r).toMatchObject({
      v: 1,
      action: 'request_bodies',
      event_ids: [eventId],
      actor: { name: NAMES.auditor, role: 'auditor', via: 'token', email: null, groups: [] },
      client: { ip: '127.0.0.1', forwarded_for: null, user_agent: 'audit-script/1.0' },
      console: 'test-gateway',
    });
    expect(Date.parse(r.at)).toBeGreaterThanOrEqual(from);
    expect(Date.parse(r.at)).toBeLessThanOrEqual(Date.now());
  });

  test('searches prompts and answers, and the search is recorded with its query, filters and the calls it returned', async () => {
    let page!: { total: number; hits: { event_id: string }[] };
    const recorded = await added(async () => {
      const res = await get('/api/search?q=zebra&user=alice&limit=5', bearer('auditor'));
      expect(res.status).toBe(200);
      page = (await res.json()) as typeof page;
    });
    expect(page.hits.map((h) => h.event_id)).toContain(eventId);
    expect(recorded).toEqual([
      expect.objectContaining({
        action: 'search',
        query: 'zebra',
        filters: { user: 'alice', limit: '5' },
        event_ids: page.hits.map((h) => h.event_id),
        results: page.total,
        actor: expect.objectContaining({ name: NAMES.auditor }),
      }),
    ]);
  });

  test('answer previews in the list and text in the live tail are recorded too', async () => {
    const listed = await added(async () => {
      const { requests } = (await (await get('/api/requests?limit=5', bearer('auditor'))).json()) as { requests: { event_id: string; response_preview: string }[] };
      expect(requests.find((r) => r.event_id === eventId)?.response_preview).toBe(answer.slice(0, 300));
    });
    expect(listed).toEqual([expect.objectContaining({ action: 'request_previews', filters: { limit: '5' }, event_ids: expect.arrayContaining([eventId]) })]);
    const live = await added(async () => {
      const sse = await openSse(`${pipeline.consoleUrl}/api/live`, bearer('auditor'));
      await sse.waitFor((m) => m.event === 'snapshot');
      sse.close();
    });
    expect(live).toEqual([expect.objectContaining({ action: 'live_text', event_ids: [], actor: expect.objectContaining({ name: NAMES.auditor }) })]);
  });

  test('may ask for metadata only: bodies=false, preview=false and text=false read nothing and record nothing', async () => {
    const recorded = await added(async () => {
      const detail = (await (await get(`/api/requests/${eventId}?bodies=false`, bearer('auditor'))).json()) as { response_text: null; bodies_withheld: boolean };
      expect(detail).toMatchObject({ response_text: null, bodies_withheld: true });
      const list = await (await get('/api/requests?preview=false', bearer('auditor'))).text();
      expect(list).not.toContain(answer.slice(0, 30));
      const sse = await openSse(`${pipeline.consoleUrl}/api/live?text=false`, bearer('auditor'));
      await sse.waitFor((m) => m.event === 'snapshot');
      sse.close();
    });
    expect(recorded).toEqual([]);
    const bad = await get(`/api/requests/${eventId}?bodies=maybe`, bearer('auditor'));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { parameter: string } }).error.parameter).toBe('bodies');
  });

  test('cannot read the access log: 403', async () => {
    expect((await get('/api/access-log', bearer('auditor'))).status).toBe(403);
  });
});

describe('admin', () => {
  test('sees every read in the access log, filtered and paged, newest first', async () => {
    const written = records();
    expect(written.length).toBeGreaterThanOrEqual(4);
    // The console's own consumer fills the admins' view from the topic.
    const { entries } = await until(async () => {
      const page = (await (await get('/api/access-log?limit=1000', bearer('admin'))).json()) as { entries: AccessRecord[] };
      return page.entries.length >= written.length ? page : null;
    }, 5_000, 'access log view caught up');
    expect(new Set(entries.map((e) => e.id))).toEqual(new Set(written.map((r) => r.id)));
    expect(entries.map((e) => e.at)).toEqual([...entries.map((e) => e.at)].sort().reverse());

    const searches = (await (await get(`/api/access-log?actor=${NAMES.auditor}&action=search`, bearer('admin'))).json()) as { entries: AccessRecord[] };
    expect(searches.entries.length).toBeGreaterThanOrEqual(1);
    expect(searches.entries.every((e) => e.action === 'search' && e.actor.name === NAMES.auditor)).toBe(true);
    const ofCall = (await (await get(`/api/access-log?event_id=${eventId}&action=request_bodies`, bearer('admin'))).json()) as { entries: AccessRecord[] };
    expect(ofCall.entries.length).toBeGreaterThanOrEqual(1);
    expect(ofCall.entries.every((e) => e.event_ids.includes(eventId))).toBe(true);

    const first = (await (await get('/api/access-log?limit=2', bearer('admin'))).json()) as { entries: AccessRecord[]; next_before: string };
    const second = (await (await get(`/api/access-log?limit=2&before=${first.next_before}`, bearer('admin'))).json()) as { entries: AccessRecord[] };
    expect(second.entries.map((e) => e.id)).toEqual(entries.slice(2, 4).map((e) => e.id));
  });

  test('a bad access-log parameter is named (400), and nothing else changes', async () => {
    const recorded = await added(async () => {
      const res = await get('/api/access-log?action=destroy', bearer('admin'));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { parameter: string; message: string } }).error).toMatchObject({ parameter: 'action', message: expect.stringContaining('request_bodies') });
    });
    expect(recorded).toEqual([]);
  });
});

describe('single sign-on', () => {
  const sso = (user: string, groups: string) => ({ 'x-forwarded-user': user, 'x-forwarded-email': `${user}@example.com`, 'x-forwarded-groups': groups, 'x-forwarded-for': '203.0.113.7' });

  test('headers from the trusted proxy map groups to roles: an auditor reads bodies, recorded with the SSO identity', async () => {
    const me = (await (await get('/api/me', sso('carol', 'engineering,compliance'))).json()) as { name: string; role: string; via: string };
    expect(me).toMatchObject({ name: 'carol', role: 'auditor', via: 'sso' });
    const recorded = await added(async () => expect((await get(`/api/requests/${eventId}`, sso('carol', 'engineering,compliance'))).status).toBe(200));
    expect(recorded).toEqual([
      expect.objectContaining({
        actor: { name: 'carol', role: 'auditor', via: 'sso', email: 'carol@example.com', groups: ['engineering', 'compliance'] },
        client: expect.objectContaining({ ip: '127.0.0.1', forwarded_for: '203.0.113.7' }),
      }),
    ]);
  });

  test('a group mapped to viewer gets no bodies; a user in no mapped group is refused (403)', async () => {
    const detail = (await (await get(`/api/requests/${eventId}`, sso('dan', 'engineering'))).json()) as { bodies_withheld: boolean };
    expect(detail.bodies_withheld).toBe(true);
    const res = await get('/api/requests', sso('erin', 'sales'));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'no_role', message: expect.stringContaining('sales') });
  });
});

describe('sessions', () => {
  const login = async (token: string): Promise<string> => {
    const res = await fetch(`${pipeline.consoleUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(res.status).toBe(204);
    return res.headers.get('set-cookie')!.split(';')[0]!;
  };

  test('sign-in gives a random session id, never the token; sign-out ends it even for a copied cookie', async () => {
    const cookie = await login(TOKENS.auditor);
    expect(cookie).toMatch(/^llm_logger_console=[\w-]{43}$/);
    expect(cookie).not.toContain(TOKENS.auditor);
    expect(((await (await get('/api/me', { cookie })).json()) as { name: string; via: string })).toMatchObject({ name: NAMES.auditor, via: 'session' });
    const out = await fetch(`${pipeline.consoleUrl}/api/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^llm_logger_console=; .*Max-Age=0/);
    const replay = await get('/api/requests', { cookie });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });

  test('an admin lists and revokes a session: its cookie stops working at once, others stay', async () => {
    const viewer = await login(TOKENS.viewer);
    const second = await login(TOKENS.viewer);
    const auditor = await login(TOKENS.auditor);
    const handle = ((await (await get('/api/me', { cookie: viewer })).json()) as { session: { handle: string } }).session.handle;
    const { sessions } = (await (await get('/api/sessions', bearer('admin'))).json()) as { sessions: { handle: string; name: string; role: string }[] };
    expect(sessions.find((s) => s.handle === handle)).toMatchObject({ name: NAMES.viewer, role: 'viewer' });
    // An auditor may not revoke.
    expect((await fetch(`${pipeline.consoleUrl}/api/sessions/${handle}`, { method: 'DELETE', headers: bearer('auditor') })).status).toBe(403);
    expect((await get('/api/me', { cookie: viewer })).status).toBe(200);
    const res = await fetch(`${pipeline.consoleUrl}/api/sessions/${handle}`, { method: 'DELETE', headers: bearer('admin') });
    expect(res.status).toBe(200);
    expect((await get('/api/me', { cookie: viewer })).status).toBe(401);
    expect((await get('/api/me', { cookie: second })).status).toBe(200);
    expect((await fetch(`${pipeline.consoleUrl}/api/sessions/${handle}`, { method: 'DELETE', headers: bearer('admin') })).status).toBe(404);
    // By name: every remaining session of that identity, and only those.
    const byName = (await (await fetch(`${pipeline.consoleUrl}/api/sessions?name=${NAMES.viewer}`, { method: 'DELETE', headers: bearer('admin') })).json()) as { revoked: number };
    expect(byName.revoked).toBe(1);
    expect((await get('/api/me', { cookie: second })).status).toBe(401);
    expect((await get('/api/me', { cookie: auditor })).status).toBe(200);
  });

  test('a sign-in posted from another site is refused (403) and opens no session', async () => {
    const before = ((await (await get('/api/sessions', bearer('admin'))).json()) as { sessions: unknown[] }).sessions.length;
    const res = await fetch(`${pipeline.consoleUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
      body: JSON.stringify({ token: TOKENS.admin }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('cross_origin');
    expect(((await (await get('/api/sessions', bearer('admin'))).json()) as { sessions: unknown[] }).sessions.length).toBe(before);
  });
});

describe('headers and metrics', () => {
  test('pages carry a Content Security Policy with frame-ancestors \'none\' and the other security headers', async () => {
    for (const [path, headers] of [['/', bearer('viewer')], ['/login', {}], ['/api/me', bearer('viewer')]] as const) {
      const res = await get(path, headers);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
    expect((await get('/api/me', bearer('viewer'))).headers.get('cache-control')).toBe('no-store');
    // The sign-in page needs no inline script: its script and style are files of their own.
    const login = await (await get('/login')).text();
    expect(login).not.toMatch(/<script>|<style>/);
    expect((await get('/login.js')).status).toBe(200);
  });

  test('/metrics on the console port needs an identity; the metrics port serves it to Prometheus', async () => {
    const open = await get('/metrics');
    expect(open.status).toBe(401);
    expect(await open.text()).not.toContain('llm_logger_');
    expect((await get('/metrics', bearer('viewer'))).status).toBe(200);
    const scraped = await fetch(`${pipeline.consoleMetricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('llm_logger_console_access_records_total');
    expect((await get('/healthz')).status).toBe(200);
  });
});

describe('after a restart', () => {
  test('a token taken out of the configuration ends its sessions; the others survive the restart', async () => {
    const login = async (token: string) =>
      (await fetch(`${pipeline.consoleUrl}/api/login`, { method: 'POST', body: JSON.stringify({ token }) })).headers.get('set-cookie')!.split(';')[0]!;
    const viewer = await login(TOKENS.viewer);
    const auditor = await login(TOKENS.auditor);
    await pipeline.restartConsole({ LLM_LOGGER_CONFIG: writeAccessConfig(configDir, { roles: ['auditor', 'admin'] }) });
    expect((await get('/api/me', { cookie: viewer })).status).toBe(401);
    expect((await get('/api/requests', bearer('viewer'))).status).toBe(401);
    expect((await get('/api/me', { cookie: auditor })).status).toBe(200);
  }, 20_000);

  test('SSO headers from an address that is not a trusted proxy are refused (403), whatever they claim', async () => {
    await pipeline.restartConsole({ LLM_LOGGER_CONFIG: writeAccessConfig(configDir, { trustedProxies: ['10.0.0.0/8'] }) });
    const recorded = await added(async () => {
      const res = await get(`/api/requests/${eventId}`, { 'x-forwarded-user': 'mallory', 'x-forwarded-groups': 'llm-admins', ...bearer('auditor') });
      expect(res.status).toBe(403);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('untrusted_proxy');
      expect(error.message).toContain('127.0.0.1');
      expect(error.message).toContain('trustedProxies');
    });
    expect(recorded).toEqual([]);
  }, 20_000);

  test('the admins\' view is rebuilt from llm.access.v1 when the console starts without it', async () => {
    const written = records();
    rmSync(join(pipeline.dataDir, 'console', 'access-log.db'), { force: true });
    rmSync(join(pipeline.dataDir, 'console', 'access-log.db-wal'), { force: true });
    rmSync(join(pipeline.dataDir, 'console', 'access-log.db-shm'), { force: true });
    await pipeline.restartConsole({ LLM_LOGGER_CONFIG: writeAccessConfig(configDir) });
    const { entries } = await until(async () => {
      const page = (await (await get('/api/access-log?limit=1000', bearer('admin'))).json()) as { entries: AccessRecord[] };
      return page.entries.length >= written.length ? page : null;
    }, 5_000, 'rebuilt');
    expect(entries.map((e) => e.id).sort()).toEqual(written.map((r) => r.id).sort());
  }, 20_000);
});
