import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startCli, type RunningCli } from '../support/processes';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/** `npm start` (embedded everything): audit search in the console and the terminal, no Elasticsearch. */

let upstream: StandIn;
let cli: RunningCli;
let dataDir: string;
const ids: string[] = [];

function search(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'search', ...args], {
    env: { PATH: process.env.PATH ?? '', LLM_LOGGER_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function call(content: string, user: string): Promise<string> {
  const res = await fetch(`${cli.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-llm-user': user },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  await res.text();
  return res.headers.get('x-llm-request-id')!;
}

beforeAll(async () => {
  upstream = await startStandIn();
  dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-search-'));
  cli = await startCli({ LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url });
  ids.push(await call('Where is my green bicycle? Write to dave@example.net', 'dave'));
  ids.push(await call('The bicycle is green and fast', 'erin'));
  ids.push(await call('Nothing to see here', 'erin'));
  // Indexing is asynchronous (through the log): wait until the last call is searchable.
  for (let i = 0; i < 200; i++) {
    const r = (await (await fetch(`${cli.consoleUrl}/api/search?q=nothing`)).json()) as { total: number };
    if (r.total === 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  cli?.child.kill('SIGTERM');
  await cli?.exited;
  await upstream?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('GET /api/search finds a phrase, newest first, with highlighted snippets', async () => {
  const res = await fetch(`${cli.consoleUrl}/api/search?q=${encodeURIComponent('"green bicycle"')}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { backend: string; total: number; hits: { event_id: string; user: string; highlights: { prompt: string[] } }[] };
  expect(body.backend).toBe('embedded');
  expect(body.total).toBe(1);
  expect(body.hits[0]).toMatchObject({ event_id: ids[0], user: 'dave' });
  // FTS5 marks a phrase as one span, Elasticsearch word by word.
  expect(body.hits[0]!.highlights.prompt[0]).toMatch(/<mark>green(<\/mark> <mark>| )bicycle<\/mark>\? Write to \[REDACTED:email\]/);

  const words = (await (await fetch(`${cli.consoleUrl}/api/search?q=bicycle+green`)).json()) as { hits: { event_id: string }[] };
  expect(words.hits.map((h) => h.event_id)).toEqual([ids[1], ids[0]]);
  const filtered = (await (await fetch(`${cli.consoleUrl}/api/search?q=bicycle&user=erin&status=200`)).json()) as { hits: { event_id: string }[] };
  expect(filtered.hits.map((h) => h.event_id)).toEqual([ids[1]]);
});

test('redacted values are not findable', async () => {
  for (const q of ['dave@example.net', 'example']) {
    const r = (await (await fetch(`${cli.consoleUrl}/api/search?q=${encodeURIComponent(q)}`)).json()) as { total: number };
    expect(r.total).toBe(0);
  }
});

test('a bad parameter is a 400 naming it', async () => {
  const res = await fetch(`${cli.consoleUrl}/api/search?q=x&status=teapot`);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { parameter: string } }).error.parameter).toBe('status');
});

test('llm-logger search prints the matching calls from another process', () => {
  const r = search(['green', 'bicycle', '--user', 'dave']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(ids[0]);
  expect(r.stdout).toContain('[green] [bicycle]');
  expect(r.stderr).toContain('1-1 of 1 (embedded index)');
  const json = JSON.parse(search(['bicycle', '--json']).stdout) as { total: number };
  expect(json.total).toBe(2);
  expect(search(['no-such-words-anywhere']).status).toBe(1);
  expect(search(['x', '--status', 'teapot'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--status') });
});
