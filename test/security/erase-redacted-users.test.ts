import { TOPICS } from '../../topology/topics';
import { readInferenceEvents, readRecords } from '../support/read-log';
import { eraseCli, runCli } from '../support/erase-helpers';
import { startFullPipeline, until, type FullPipeline } from '../support/redaction-pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * Erasure under redaction policy `all`, where every store holds a user id
 * that a rule matches redacted (issue 22, points 4 and 7 together): `erase
 * --user carol@example.com` erases the id as stored when it stays apart from
 * others (action `hash`), and is refused, naming `--user` and the way out,
 * when it is masked (`[REDACTED:email]` stands for every such user).
 */

const CAROL = 'carol@example.com';

async function call(p: FullPipeline, user: string, content: string): Promise<string> {
  const res = await fetch(`${p.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-llm-user': user },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  expect(res.status).toBe(200);
  await res.text();
  return res.headers.get('x-llm-request-id')!;
}

describe.each([
  ['hash', true],
  ['mask', false],
] as const)('policy all, mode %s', (mode, erasable) => {
  let upstream: StandIn;
  let p: FullPipeline;
  let env: Record<string, string>;

  beforeAll(async () => {
    upstream = await startStandIn();
    const settings = { LLM_LOGGER_REDACTION_POLICY: 'all', LLM_LOGGER_REDACTION_MODE: mode };
    p = await startFullPipeline(upstream.url, settings);
    env = { LLM_LOGGER_DATA_DIR: p.dataDir, LLM_LOGGER_LOG_LEVEL: 'warn', ...settings };
  }, 60_000);

  afterAll(async () => {
    await p?.close();
    await upstream?.close();
  });

  test(erasable ? 'erase --user <raw id> erases the id as stored, and no one else' : 'erase --user <raw id> is refused naming --user, and nothing is erased', async () => {
    const carols = await call(p, CAROL, 'carol asks about zebras');
    const dans = await call(p, 'dan@example.com', 'dan asks about zebras');
    await until('the console', async () => (await Promise.all([carols, dans].map((id) => fetch(`${p.consoleUrl}/api/requests/${id}`)))).every((r) => r.status === 200));
    const before = await readInferenceEvents(p.dataDir);
    const stored = before.find((e) => e.event_id === carols)!.user!;
    expect(stored).toEqual(erasable ? expect.stringMatching(/^\[email:[0-9a-f]{16}\]$/) : '[REDACTED:email]');

    if (!erasable) {
      const run = await runCli(['erase', '--user', CAROL], env);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('--user');
      expect(run.stderr).toContain('"[REDACTED:email]"');
      expect(run.stderr).toContain('LLM_LOGGER_REDACTION_MODE=hash');
      expect(run.stdout).toBe('');
      const api = await fetch(`${p.consoleUrl}/api/admin/erase`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: CAROL }) });
      expect(api.status).toBe(400);
      expect(await api.json()).toMatchObject({ error: { parameter: 'user', message: expect.stringContaining('user is stored as "[REDACTED:email]"') } });
      expect(readRecords(p.dataDir, TOPICS.erasures)).toHaveLength(0);
      expect(await readInferenceEvents(p.dataDir)).toEqual(before);
      return;
    }
    const { run, report } = await eraseCli(CAROL, env);
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`stored as "${stored}"`);
    expect(report).toMatchObject({ user: stored, complete: true });
    const after = new Map((await readInferenceEvents(p.dataDir)).map((e) => [e.event_id, e]));
    expect(after.get(carols)).toMatchObject({ user: stored, request_body: null, response_body: null, response_text: null });
    expect(after.get(dans)).toEqual(before.find((e) => e.event_id === dans));
    await until('the console view', async () => {
      const detail = (await (await fetch(`${p.consoleUrl}/api/requests/${carols}`)).json()) as { request_body: string | null };
      return detail.request_body === null;
    });
    const dan = (await (await fetch(`${p.consoleUrl}/api/requests/${dans}`)).json()) as { request_body: string | null };
    expect(dan.request_body).toContain('dan asks about zebras');
  }, 90_000);
});
