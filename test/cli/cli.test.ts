import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownVariables } from '../../services/shared/config/config';
import { CLI, REPO_ROOT, startCli } from '../support/processes';
import { readInferenceEvents } from '../support/read-log';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/** The `llm-logger` command as users run it: a real process. */

let upstream: StandIn;
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'llm-logger-cli-'));
  dirs.push(d);
  return d;
}

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  upstream = await startStandIn();
});

afterAll(async () => {
  await upstream?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('--help lists every command of the contract', () => {
  const r = run(['--help']);
  expect(r.status).toBe(0);
  for (const c of ['start', 'gateway', 'aggregator', 'indexer', 'roller', 'console', 'topology', 'schemas', 'tail', 'search', 'query']) {
    expect(r.stdout).toContain(`  ${c}`);
  }
  expect(run(['tail', '--help']).stdout).toContain('llm-logger tail');
});

test('topology render prints the Strimzi resources; apply and schemas register need their backends', () => {
  const render = run(['topology', 'render']);
  expect(render.status).toBe(0);
  expect(render.stdout).toContain('kind: KafkaTopic');
  expect(render.stdout).toContain('kind: KafkaUser');
  expect(run(['topology', 'apply'])).toMatchObject({ status: 2, stderr: expect.stringContaining('LLM_LOGGER_KAFKA_BROKERS') });
  expect(run(['schemas', 'register'])).toMatchObject({ status: 2, stderr: expect.stringContaining('LLM_LOGGER_SCHEMA_REGISTRY_URL') });
});

test('an unknown command is refused', () => {
  const r = run(['frobnicate']);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('unknown command "frobnicate"');
});

test.each([
  [{ LLM_LOGGER_GATEWAY_PORT: 'abc' }, 'LLM_LOGGER_GATEWAY_PORT'],
  [{ LLM_LOGGER_AUDIT_MODE: 'paranoid' }, 'LLM_LOGGER_AUDIT_MODE'],
  [{ LLM_LOGGER_SAMPLE_RATE: '1.5' }, 'LLM_LOGGER_SAMPLE_RATE'],
  [{ LLM_LOGGER_GATEWAY_PROT: '8080' }, 'LLM_LOGGER_GATEWAY_PROT'],
  [{ LLM_LOGGER_UPSTREAM_VLLM_URL: 'http://127.0.0.1:1' }, 'LLM_LOGGER_UPSTREAM_VLLM_FORMAT'],
  [{ LLM_LOGGER_UPSTREAM_INGEST_URL: 'http://127.0.0.1:1', LLM_LOGGER_UPSTREAM_INGEST_FORMAT: 'openai' }, 'reserved'],
])('bad configuration %j refuses to start, naming %s', (env, named) => {
  const r = run(['start'], { LLM_LOGGER_DATA_DIR: tempDir(), ...env });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(named);
});

test('a bad config file is refused naming the file and the key', () => {
  const dir = tempDir();
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'upstreams:\n  vllm:\n    url: http://127.0.0.1:8000\n    fromat: openai\n');
  const r = run(['start', '--config', file], { LLM_LOGGER_DATA_DIR: dir });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toContain('fromat');
});

test('tail prints calls as they are recorded, from another process', async () => {
  const dataDir = tempDir();
  const cli = await startCli({ LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url });
  const tail = spawn(process.execPath, [CLI, 'tail'], { env: { PATH: process.env.PATH ?? '', LLM_LOGGER_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    tail.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise<void>((resolve) => tail.stderr.once('data', () => resolve()));
    const res = await fetch(`${cli.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-user': 'tailer' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'tail me' }] }),
    });
    const id = res.headers.get('x-llm-request-id')!;
    await res.text();
    for (let i = 0; i < 100 && !out.includes(id); i++) await new Promise((r) => setTimeout(r, 50));
    const line = out.split('\n').find((l) => l.includes(id))!;
    expect(line).toContain('openai');
    expect(line).toContain('gpt-4o-mini');
    expect(line).toContain('200');
    expect(line).toContain('user=tailer');
  } finally {
    tail.kill('SIGINT');
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('SIGTERM lets a stream in flight finish, records it, then exits 0', async () => {
  const dataDir = tempDir();
  const cli = await startCli({ LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url });
  const res = await fetch(`${cli.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-stand-in-chunks': '20', 'x-stand-in-chunk-delay-ms': '50' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'slow' }] }),
  });
  const id = res.headers.get('x-llm-request-id')!;
  cli.child.kill('SIGTERM');
  const text = await res.text();
  expect(text).toContain('data: [DONE]');
  expect(await cli.exited).toBe(0);
  // The event reached the log before the process exited.
  const events = await readInferenceEvents(dataDir);
  expect(events.find((e) => e.event_id === id)?.usage.output_tokens).toBe(20);
});

test('the README configuration table lists every LLM_LOGGER_ variable the code reads', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  for (const v of knownVariables()) expect(readme).toContain(`| \`${v}\``);
  for (const suffix of ['URL', 'FORMAT', 'PROVIDER', 'API_KEY']) expect(readme).toContain(`\`LLM_LOGGER_UPSTREAM_<NAME>_${suffix}\``);
});
