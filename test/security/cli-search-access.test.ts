import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { accessRecords, NAMES, TOKENS, until, writeAccessConfig } from '../support/console-identities';
import { CLI, startCli, type RunningCli } from '../support/processes';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * `llm-logger search` is an audit search too: straight on the index it is
 * recorded as `cli:<os user>` before anything is printed; through the
 * console (`--console`) the console checks the token's role and records it
 * under the token's name.
 */

let upstream: StandIn;
let cli: RunningCli;
let dir: string;
let dataDir: string;
let config: string;
let eventId: string;

/** Runs `llm-logger search` as another process (asynchronously: the console answers it in this one's child). */
function search(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'search', ...args], {
      env: { PATH: process.env.PATH ?? '', LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_CONFIG: config, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  upstream = await startStandIn();
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-cli-search-'));
  dataDir = join(dir, 'data');
  config = writeAccessConfig(dir);
  cli = await startCli({ LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_CONFIG: config, LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url });
  const res = await fetch(`${cli.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-llm-user': 'quinn' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the narwhal ledger is overdue' }] }),
  });
  eventId = res.headers.get('x-llm-request-id')!;
  await res.text();
  await until(
    async () => ((await (await fetch(`${cli.consoleUrl}/api/search?q=narwhal`, { headers: { authorization: `Bearer ${TOKENS.auditor}` } })).json()) as { total: number }).total > 0,
    10_000,
    'indexed',
  );
}, 40_000);

afterAll(async () => {
  cli?.child.kill('SIGTERM');
  await cli?.exited;
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a search on the index is recorded as cli:<user> with its query, filters and hits, then printed', async () => {
  const before = accessRecords(dataDir).length;
  const r = await search(['narwhal', '--user', 'quinn', '--json']);
  expect(r.status).toBe(0);
  expect((JSON.parse(r.stdout) as { hits: { event_id: string }[] }).hits.map((h) => h.event_id)).toEqual([eventId]);
  const added = accessRecords(dataDir).slice(before);
  expect(added).toEqual([
    expect.objectContaining({
      action: 'search',
      query: 'narwhal',
      filters: { user: 'quinn' },
      event_ids: [eventId],
      results: 1,
      actor: { name: `cli:${userInfo().username}`, role: 'admin', via: 'cli', email: null, groups: [] },
    }),
  ]);
}, 30_000);

test('--console searches through the console as the token\'s identity, and the console records it', async () => {
  const before = accessRecords(dataDir).length;
  const r = await search(['narwhal', '--console', cli.consoleUrl, '--json'], { LLM_LOGGER_CONSOLE_TOKEN: TOKENS.auditor });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(eventId);
  expect(accessRecords(dataDir).slice(before)).toEqual([
    expect.objectContaining({ action: 'search', query: 'narwhal', actor: expect.objectContaining({ name: NAMES.auditor, via: 'token' }), client: expect.objectContaining({ user_agent: 'llm-logger search' }) }),
  ]);
}, 30_000);

test('--console with a viewer\'s token is refused (exit 3, the role named), prints no hit and records nothing', async () => {
  const before = accessRecords(dataDir).length;
  const r = await search(['narwhal', '--console', cli.consoleUrl], { LLM_LOGGER_CONSOLE_TOKEN: TOKENS.viewer });
  expect(r.status).toBe(3);
  expect(r.stderr).toContain('needs the auditor role');
  expect(r.stdout).toBe('');
  expect(accessRecords(dataDir).length).toBe(before);
}, 30_000);
