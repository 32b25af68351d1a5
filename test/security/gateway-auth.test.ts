import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { sha256Hex } from '../../services/gateway/core/gateway-keys';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { CLI, startCli } from '../support/processes';
import { readInferenceEvents } from '../support/read-log';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * Gateway keys, end to end: the official SDKs against the gateway (which
 * injects the OpenAI key) in front of a stand-in upstream. Every refusal is
 * checked for its error, and for what did not happen: no upstream request,
 * no event in the log.
 */

const PROVIDER_KEY = 'sk-provider-key-injected-by-the-gateway-0001';
const KEY_SEARCH = 'llmk_search-app-key-00000000000000000000000';
const KEY_ALICE = 'llmk_alice-key-000000000000000000000000000000';
const KEY_ALICE_ROTATED = 'llmk_alice-key-rotated-11111111111111111111111';
const KEY_BUDGET = 'llmk_tiny-budget-key-2222222222222222222222222';

let upstream: StandIn;
let pipeline: Pipeline;
let dir: string;
let keysFile: string;

function writeKeys(aliceKey: string): void {
  writeFileSync(
    keysFile,
    [
      'keys:',
      `  - { id: search-app, sha256: ${sha256Hex(KEY_SEARCH)}, app: search, team: core, upstreams: [openai], allowUserHeader: true }`,
      `  - { id: alice-key, sha256: ${sha256Hex(aliceKey)}, user: alice, upstreams: [openai, anthropic] }`,
      `  - { id: tiny-budget, sha256: ${sha256Hex(KEY_BUDGET)}, app: budgeted, budget: { usd: 0.000001, period: day } }`,
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  upstream = await startStandIn();
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-keys-'));
  keysFile = join(dir, 'keys.yaml');
  writeKeys(KEY_ALICE);
  pipeline = await startPipeline(upstream.url, {
    LLM_LOGGER_UPSTREAM_OPENAI_API_KEY: PROVIDER_KEY,
    LLM_LOGGER_GATEWAY_KEYS_FILE: keysFile,
  });
});

afterAll(async () => {
  await pipeline.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

const openai = (apiKey: string | null, headers: Record<string, string> = {}, maxRetries = 0): OpenAI =>
  new OpenAI({
    apiKey: apiKey ?? 'unused',
    baseURL: `${pipeline.gatewayUrl}/openai/v1`,
    // No key at all: the SDK's Authorization header removed.
    defaultHeaders: apiKey === null ? { ...headers, authorization: null } : headers,
    maxRetries,
  });
const chat = (client: OpenAI) =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello through a keyed gateway' }] });

async function refusedCount(reason: string): Promise<number> {
  const text = await (await fetch(`${pipeline.gatewayUrl}/metrics`)).text();
  const m = new RegExp(`^llm_logger_gateway_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Runs a call that must be refused; asserts the upstream was not called and nothing was recorded. */
async function refused(call: () => Promise<unknown>, reason: string): Promise<Error & { status?: number; error?: unknown }> {
  const requestsBefore = upstream.requests.length;
  const eventsBefore = (await readInferenceEvents(pipeline.dataDir)).length;
  const metricBefore = await refusedCount(reason);
  const err = await call().then(
    () => {
      throw new Error('expected the call to be refused');
    },
    (e: unknown) => e as Error & { status?: number },
  );
  expect(upstream.requests.length).toBe(requestsBefore);
  await new Promise((r) => setTimeout(r, 50)); // an event would be recorded at the end of the turn
  expect((await readInferenceEvents(pipeline.dataDir)).length).toBe(eventsBefore);
  expect(await refusedCount(reason)).toBe(metricBefore + 1);
  return err;
}

test('a gateway that injects the provider key refuses a client without a gateway key: 401, upstream never called, nothing recorded', async () => {
  const err = await refused(() => chat(openai(null)), 'missing_gateway_key');
  expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  expect(err.status).toBe(401);
  expect(err.message).toContain('this gateway requires a gateway key');
  expect((err as unknown as { error: { type: string } }).error.type).toBe('missing_gateway_key');
});

test('an unknown gateway key: 401, upstream never called, nothing recorded', async () => {
  const err = await refused(() => chat(openai('llmk_made-up-key-99999999999999999999999')), 'unknown_gateway_key');
  expect(err.status).toBe(401);
  expect(err.message).toContain('not valid');
  expect(err.message).not.toContain('made-up');
});

test("a valid key: the upstream gets the provider key, never the gateway key; the event records the key's name and identity", async () => {
  const before = upstream.requests.length;
  const completion = await chat(openai(KEY_SEARCH, { 'x-llm-user': 'bob' }));
  expect(completion.choices[0]!.message.content).toContain('Hello from the stand-in');
  const forwarded = upstream.requests.slice(before);
  expect(forwarded).toHaveLength(1);
  expect(forwarded[0]!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  expect(JSON.stringify(forwarded[0]!.rawHeaders)).not.toContain(KEY_SEARCH);
  const id = (await openai(KEY_SEARCH).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).withResponse()).response.headers.get(
    'x-llm-request-id',
  )!;
  const event = await pipeline.waitForEvent(id);
  expect(event).toMatchObject({ gateway_key_id: 'search-app', app: 'search', user: null, tags: { team: 'core' } });
  const events = await readInferenceEvents(pipeline.dataDir);
  expect(events.find((e) => e.user === 'bob')).toMatchObject({ gateway_key_id: 'search-app', app: 'search', tags: { team: 'core' } });
});

test('a key may only use its upstreams: 403 naming the upstream, upstream never called', async () => {
  const anthropic = new Anthropic({ apiKey: 'sk-ant-own-key', baseURL: `${pipeline.gatewayUrl}/anthropic`, defaultHeaders: { 'x-llm-key': KEY_SEARCH }, maxRetries: 0 });
  const err = await refused(
    () => anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    'upstream_not_allowed',
  );
  expect(err.status).toBe(403);
  expect((err.error as { error: { message: string } }).error.message).toBe('gateway key "search-app" may not use upstream "anthropic"; it may use: openai');
});

test('x-llm-user may not contradict a key for another user: 403 naming the header, upstream never called', async () => {
  const err = await refused(() => chat(openai(KEY_ALICE, { 'x-llm-user': 'mallory' })), 'identity_conflict');
  expect(err.status).toBe(403);
  expect(err.message).toContain('x-llm-user "mallory" conflicts with gateway key "alice-key"');
});

test('with its own provider key, a client sends the gateway key in x-llm-key: neither is recorded, the own key reaches the upstream unchanged', async () => {
  const before = upstream.requests.length;
  const anthropic = new Anthropic({ apiKey: 'sk-ant-own-key-1234', baseURL: `${pipeline.gatewayUrl}/anthropic`, defaultHeaders: { 'x-llm-key': KEY_ALICE }, maxRetries: 0 });
  const { response } = await anthropic.messages
    .create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  const forwarded = upstream.requests.slice(before);
  // This SDK version sends its key as a bearer token (older ones as x-api-key): either way, unchanged.
  const { authorization, 'x-api-key': xApiKey } = forwarded[0]!.headers;
  expect(authorization === 'Bearer sk-ant-own-key-1234' || xApiKey === 'sk-ant-own-key-1234').toBe(true);
  expect(forwarded[0]!.headers['x-llm-key']).toBeUndefined();
  const event = await pipeline.waitForEvent(response.headers.get('x-llm-request-id')!);
  expect(event).toMatchObject({ gateway_key_id: 'alice-key', user: 'alice' });
  expect(JSON.stringify(event)).not.toContain(KEY_ALICE);
});

test('a key whose budget is spent gets 429 with a clear message; the SDK does not retry; upstream never called, nothing recorded', async () => {
  const first = await chat(openai(KEY_BUDGET, {}, 2)).withResponse();
  const event = await pipeline.waitForEvent(first.response.headers.get('x-llm-request-id')!);
  expect(event.cost_micro_usd).toBeGreaterThanOrEqual(1); // the budget is 1 µUSD
  const err = await refused(() => chat(openai(KEY_BUDGET, {}, 2)), 'budget_spent');
  expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  expect(err.message).toMatch(/gateway key "tiny-budget" has spent its budget for this day \(\$0\.\d\d of \$0\.00\); it resets at \d{4}-\d\d-\d\dT00:00:00\.000Z/);
});

test('keys rotate without a restart; a broken key file keeps the keys in use', async () => {
  writeKeys(KEY_ALICE_ROTATED);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const old = await chat(openai(KEY_ALICE)).then(
      () => 200,
      (e: { status?: number }) => e.status,
    );
    if (old === 401) break;
    if (Date.now() > deadline) throw new Error('the rotated key file was not picked up');
    await new Promise((r) => setTimeout(r, 200));
  }
  await expect(chat(openai(KEY_ALICE_ROTATED))).resolves.toBeDefined();

  writeFileSync(keysFile, 'keys:\n  - { id: broken, sha256: not-a-digest }\n');
  const metrics = async (): Promise<string> => (await fetch(`${pipeline.gatewayUrl}/metrics`)).text();
  for (const until = Date.now() + 15_000; !/llm_logger_gateway_key_reloads_total\{outcome="failed"\} [1-9]/.test(await metrics()); ) {
    if (Date.now() > until) throw new Error('the broken key file was not noticed');
    await new Promise((r) => setTimeout(r, 200));
  }
  await expect(chat(openai(KEY_ALICE_ROTATED))).resolves.toBeDefined();
  await expect(chat(openai(KEY_SEARCH))).resolves.toBeDefined();
  writeKeys(KEY_ALICE_ROTATED);
});

test('no gateway key, provider key or digest input is stored anywhere under the data directory', async () => {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(pipeline.dataDir);
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const secret of [PROVIDER_KEY, KEY_SEARCH, KEY_ALICE, KEY_ALICE_ROTATED, KEY_BUDGET]) expect({ f, found: bytes.includes(secret) }).toEqual({ f, found: false });
  }
});

describe('start-up (the real CLI)', () => {
  const run = (args: string[], env: Record<string, string>): { status: number | null; stderr: string; stdout: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout };
  };

  test('a gateway that would inject a provider key without gateway keys refuses to start, naming the setting', () => {
    const r = run(['gateway'], { LLM_LOGGER_DATA_DIR: dir, LLM_LOGGER_GATEWAY_PORT: '0', LLM_LOGGER_UPSTREAM_OPENAI_API_KEY: PROVIDER_KEY });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('LLM_LOGGER_GATEWAY_KEYS_FILE');
    expect(r.stderr).not.toContain(PROVIDER_KEY);
  });

  test('beyond loopback without keys it starts only when opted out, and says so in its log', async () => {
    const env = { LLM_LOGGER_DATA_DIR: join(dir, 'open'), LLM_LOGGER_GATEWAY_HOST: '0.0.0.0', LLM_LOGGER_INGEST_AUTH: 'none' };
    const refusedStart = run(['gateway'], { ...env, LLM_LOGGER_GATEWAY_PORT: '0' });
    expect(refusedStart.status).toBe(2);
    expect(refusedStart.stderr).toContain('LLM_LOGGER_GATEWAY_AUTH=none');
    const cli = await startCli({ ...env, LLM_LOGGER_GATEWAY_AUTH: 'none' }, ['gateway']);
    try {
      const warning = cli
        .output()
        .split('\n')
        .find((l) => l.includes('LLM_LOGGER_GATEWAY_AUTH=none'));
      expect(JSON.parse(warning!)).toMatchObject({ level: 40 });
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  test('llm-logger keys add writes a hashed entry the gateway accepts; keys hash prints the same digest', () => {
    const file = join(dir, 'cli-keys.yaml');
    const added = run(['keys', 'add', '--id', 'cli-made', '--app', 'tool', '--upstreams', 'openai', '--file', file], {});
    expect(added.status).toBe(0);
    const key = added.stdout.trim();
    expect(key).toMatch(/^llmk_[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(sha256Hex(key));
    expect(text).not.toContain(key);
    const hashed = spawnSync(process.execPath, [CLI, 'keys', 'hash'], { input: `${key}\n`, encoding: 'utf8' });
    expect(hashed.stdout.trim()).toBe(sha256Hex(key));
    expect(run(['keys', 'hash', 'short'], {})).toMatchObject({ status: 2, stderr: expect.stringContaining('at least 24 characters') });
    expect(run(['keys', 'add', '--id', 'x', '--upstreams', 'nope', '--file', file], {})).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('keys.1.upstreams.0: no upstream named "nope"'),
    });
  });
});
