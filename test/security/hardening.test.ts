import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import OpenAI, { AzureOpenAI } from 'openai';
import type { AggregateRow } from '../../services/console/aggregates-contract';
import { startAlertRunner } from '../../services/console/alerts/alert-runner';
import { sha256Hex } from '../../services/gateway/core/gateway-keys';
import { alertsFileSchema } from '../../services/shared/config/alert-rules';
import type { EventLog } from '../../services/shared/log/event-log';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { CLI } from '../support/processes';
import { readInferenceEvents } from '../support/read-log';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * The review's hardening items, each as an attacker would try it: a client
 * that sends its body one byte a second, an upstream stream that never ends
 * (or a line that never ends), a 40 KB model name, `<!channel>` in a Slack
 * alert, the gateway's Azure key pointed at another resource, and a query
 * that reads /etc/passwd. Bounds are deliberately generous: only an unbounded
 * (or super-linear) behaviour would miss them.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Live heap after full collections: what is still held, not garbage. */
function heapHeld(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
const MB = 1024 * 1024;

let upstream: StandIn;
let pipeline: Pipeline;
/** A gateway with short client timeouts, for the slow client only (this busy test process could miss them elsewhere). */
let impatient: Pipeline;

beforeAll(async () => {
  upstream = await startStandIn();
  impatient = await startPipeline(upstream.url, { LLM_LOGGER_CLIENT_HEADERS_TIMEOUT_MS: '1000', LLM_LOGGER_CLIENT_REQUEST_TIMEOUT_MS: '2000' });
  pipeline = await startPipeline(upstream.url, {
    LLM_LOGGER_RESPONSE_TEXT_MAX_CHARS: '65536',
    LLM_LOGGER_STREAM_EVENT_MAX_CHARS: '65536',
    LLM_LOGGER_CAPTURE_MAX_BYTES: '65536',
    LLM_LOGGER_SAMPLE_RATE: '0',
  });
});

afterAll(async () => {
  await pipeline.close();
  await impatient.close();
  await upstream.close();
});

async function refusedCount(reason: string, p = pipeline): Promise<number> {
  const text = await (await fetch(`${p.gatewayUrl}/metrics`)).text();
  const m = new RegExp(`^llm_logger_gateway_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** The event, once the console has it; connection hiccups of the busy test process are retried. */
async function eventually(id: string): Promise<Awaited<ReturnType<Pipeline['waitForEvent']>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await pipeline.waitForEvent(id, 20_000);
    } catch (err) {
      if (attempt >= 3 || (err as Error).message.includes('not visible')) throw err;
    }
  }
}

test('a request body sent at 1 byte per second is cut off with 408 after LLM_LOGGER_CLIENT_REQUEST_TIMEOUT_MS; nothing forwarded or recorded', async () => {
  const requestsBefore = upstream.requests.length;
  const eventsBefore = (await readInferenceEvents(impatient.dataDir)).length;
  const timeoutsBefore = await refusedCount('client_timeout', impatient);
  const { port } = new URL(impatient.gatewayUrl);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  socket.write('POST /openai/v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  const drip = setInterval(() => socket.write(' '), 1_000);
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString()));
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  clearInterval(drip);
  // The 1,000-byte body would take 1,000 s at this pace: it was cut off long before.
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { type: string; message: string } };
  expect(body.error.type).toBe('request_timeout');
  expect(body.error.message).toContain('LLM_LOGGER_CLIENT_REQUEST_TIMEOUT_MS (2000 ms)');
  expect(upstream.requests.length).toBe(requestsBefore);
  expect((await readInferenceEvents(impatient.dataDir)).length).toBe(eventsBefore);
  expect(await refusedCount('client_timeout', impatient)).toBe(timeoutsBefore + 1);
});

test('a slow request after an answered one on the same keep-alive connection also gets 408', async () => {
  const { port } = new URL(impatient.gatewayUrl);
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString()));
  socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
  for (const until = Date.now() + 5_000; !answer.includes('\r\n\r\n'); ) {
    if (Date.now() > until) throw new Error('no answer to the first request');
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  answer = '';
  socket.write('POST /openai/v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  const drip = setInterval(() => socket.write(' '), 1_000);
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  clearInterval(drip);
  expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
});

test('a stream that never ends: memory stays bounded, the event keeps at most LLM_LOGGER_RESPONSE_TEXT_MAX_CHARS and says it was cut', async () => {
  const client = new OpenAI({
    apiKey: 'sk-own-key',
    baseURL: `${pipeline.gatewayUrl}/openai/v1`,
    maxRetries: 0,
    defaultHeaders: { 'x-stand-in-endless': 'text', 'x-llm-sample': '1' },
  });
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'never stop' }] })
    .withResponse();
  let chars = 0;
  let baseline = 0;
  let grown = 0;
  for await (const chunk of stream) {
    chars += chunk.choices[0]?.delta.content?.length ?? 0;
    if (baseline === 0 && chars >= 2_000_000) baseline = heapHeld();
    if (chars >= 18_000_000) {
      grown = heapHeld() - baseline; // measured while the call is still open
      break; // the client goes away
    }
  }
  // 16 million characters of answer passed while measured: kept, they would hold at least 16 MB.
  expect(grown).toBeLessThan(8 * MB);
  const event = await eventually(response.headers.get('x-llm-request-id')!);
  expect(event.client_cancelled).toBe(true);
  expect(event.response_text!.length).toBeLessThanOrEqual(65_536);
  expect(event.truncated_fields).toContain('response_text');
  // The tokens of the dropped text still count (estimated from what was kept).
  expect(event.usage.output_tokens).toBeGreaterThan(1_000_000);
}, 90_000);

test('a line that never ends: memory stays bounded, the client still gets the bytes, the event says an event was skipped', async () => {
  const controller = new AbortController();
  const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-stand-in-endless': 'line', 'x-llm-sample': '1' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one line' }] }),
    signal: controller.signal,
  });
  const id = res.headers.get('x-llm-request-id')!;
  const reader = res.body!.getReader();
  let bytes = 0;
  let baseline = 0;
  while (bytes < 18 * MB) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended');
    bytes += value.length;
    if (baseline === 0 && bytes >= 2 * MB) baseline = heapHeld();
  }
  const grown = heapHeld() - baseline;
  controller.abort();
  expect(grown).toBeLessThan(8 * MB);
  const event = await eventually(id);
  expect(event.truncated_fields).toContain('stream_event');
  expect(event.response_body!.length).toBeLessThanOrEqual(65_536);
}, 90_000);

test('40 KB model names: every event carries at most 256 characters of them, flagged, and memory does not keep them', async () => {
  const client = new OpenAI({ apiKey: 'sk-own-key', baseURL: `${pipeline.gatewayUrl}/openai/v1`, maxRetries: 0 });
  let last = '';
  /** Heap kept after 400 calls, each with a model name of its own (as an attacker would send them: a repeated one hits every cache once). */
  const keptAfterCalls = async (tag: string, nameChars: number): Promise<number> => {
    const recorded = upstream.requests.length;
    const before = heapHeld();
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const model = `${tag}-${batch}-${i}-`.padEnd(nameChars, 'm');
          const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
          last = response.headers.get('x-llm-request-id')!;
        }),
      );
    }
    await pipeline.waitForEvent(last);
    // The stand-in keeps every request it got, names included: not the gateway's memory.
    upstream.requests.splice(recorded);
    return heapHeld() - before;
  };
  await keptAfterCalls('warm-up', 32); // code and tables loaded at first use are not what is measured
  // 400 new groups per model for the aggregator and the console either way: the names' length must not matter.
  const short = await keptAfterCalls('short', 32);
  const long = await keptAfterCalls('long', 40 * 1024);
  // 400 names of 40 KB are 16 MB: kept anywhere (a price cache, an aggregate group, the console), they would show.
  expect(long - short).toBeLessThan(8 * MB);
  const event = await pipeline.waitForEvent(last);
  expect(event.request_model).toHaveLength(256);
  expect(event.response_model).toHaveLength(256);
  expect(event.truncated_fields).toBe('request_model,response_model');
  const list = (await (await fetch(`${pipeline.consoleUrl}/api/requests?limit=5`)).json()) as { requests: { model: string }[] };
  for (const r of list.requests) expect(r.model.length).toBeLessThanOrEqual(256);
}, 120_000);

test('a Slack alert escapes <!channel>, < > and & from the traffic (a user name here), so no one is paged by a user name', async () => {
  const received: string[] = [];
  const receiver: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const now = Date.now();
  const row = (group: string): AggregateRow => ({
    windowStart: new Date(now - 3_600_000).toISOString(),
    windowEnd: new Date(now).toISOString(),
    group,
    final: false,
    calls: 1,
    errors: 0,
    errorsByClass: {},
    errorRate: 0,
    cancelled: 0,
    late: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    costMicroUsd: 5_000_000,
    latencyMs: { p50: 1, p90: 1, p95: 1, p99: 1 },
    ttftMs: null,
    outputTokensPerSecond: null,
  });
  const runner = startAlertRunner({
    config: alertsFileSchema.parse({
      webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, format: 'slack' }],
      rules: [{ name: 'spend', kind: 'cost', per: 'day', budgetUsd: 1, scope: 'user' }],
    }),
    source: () => Promise.resolve([row('<!channel> & <https://evil.example|click here>')]),
    log: { append: () => Promise.resolve() } as unknown as EventLog,
    registry: createMetricsRegistry(),
    logger: createLogger('silent', 'test'),
    onTransition: () => undefined,
    now: () => now,
  });
  try {
    expect((await runner.evaluate()).map((t) => t.state)).toEqual(['firing']);
    expect(received).toHaveLength(1);
    const text = (JSON.parse(received[0]!) as { text: string }).text;
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt;');
    expect(text).not.toMatch(/<!channel>|<https:/);
  } finally {
    await runner.stop();
    await new Promise((r) => receiver.close(r));
  }
});

describe('Azure resources with an injected Azure key', () => {
  const KEY = 'llmk_azure-client-key-0000000000000000000000';
  const AZURE_KEY = 'azure-provider-key-injected-0001';
  let azure: Pipeline;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-azure-'));
    writeFileSync(join(dir, 'keys.yaml'), `keys:\n  - { id: azure-client, sha256: ${sha256Hex(KEY)} }\n`);
    azure = await startPipeline(upstream.url, {
      LLM_LOGGER_UPSTREAM_AZURE_API_KEY: AZURE_KEY,
      LLM_LOGGER_AZURE_RESOURCES: 'contoso-prod',
      LLM_LOGGER_GATEWAY_KEYS_FILE: join(dir, 'keys.yaml'),
    });
  });

  afterAll(async () => {
    await azure.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (resource: string): AzureOpenAI =>
    new AzureOpenAI({ apiKey: KEY, baseURL: `${azure.gatewayUrl}/azure/${resource}/openai`, apiVersion: '2024-10-21', deployment: 'gpt-4o-mini', maxRetries: 0 });
  const chat = (resource: string) => client(resource).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

  test('a resource outside LLM_LOGGER_AZURE_RESOURCES is refused with 403 naming the setting; the key is sent nowhere, nothing recorded', async () => {
    const azureRequests = (): number => upstream.requests.filter((r) => r.url.startsWith('/openai/deployments/')).length;
    const requestsBefore = azureRequests();
    const eventsBefore = (await readInferenceEvents(azure.dataDir)).length;
    const err = (await chat('attacker-resource').catch((e: unknown) => e)) as { status: number; message: string };
    expect(err.status).toBe(403);
    expect(err.message).toContain('Azure resource "attacker-resource" is not in LLM_LOGGER_AZURE_RESOURCES');
    expect(azureRequests()).toBe(requestsBefore);
    await new Promise((r) => setTimeout(r, 50));
    expect((await readInferenceEvents(azure.dataDir)).length).toBe(eventsBefore);
  });

  test('a listed resource gets the injected Azure key', async () => {
    const before = upstream.requests.length;
    await chat('contoso-prod');
    const forwarded = upstream.requests.slice(before).filter((r) => r.url.startsWith('/openai/deployments/'));
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.headers['api-key']).toBe(AZURE_KEY);
  });
});

describe('llm-logger query reads only the archive', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-query-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const query = (sql: string): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, 'query', sql], { env: { PATH: process.env.PATH ?? '', LLM_LOGGER_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  test(`SELECT * FROM read_csv('/etc/passwd') is refused, naming why; nothing is read`, () => {
    const r = query("SELECT * FROM read_csv('/etc/passwd')");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Permission Error');
    expect(r.stderr).toContain('llm-logger query reads only the archive');
    expect(r.stdout).not.toContain('root');
  });

  test('URLs, other files and writes are refused too; the archive itself still answers', () => {
    expect(query("SELECT * FROM read_text('https://example.com/')").stderr).toContain('Permission Error');
    expect(query("SELECT * FROM read_blob('/proc/self/environ')").stderr).toContain('Permission Error');
    expect(query("COPY (SELECT 1) TO '/tmp/llm-logger-query-escape.csv'").stderr).toContain('Permission Error');
    // Even into the archive's own directory (which it may read): no writes.
    const inArchive = join(dataDir, 'parquet', 'llm_inference', 'planted.parquet');
    expect(query(`COPY (SELECT 1 AS x) TO '${inArchive}' (FORMAT parquet)`).stderr).toContain('only read-only statements run');
    expect(existsSync(inArchive)).toBe(false);
    expect(query('SET enable_external_access = true').stderr).toContain('only read-only statements run');
    expect(query('SELECT 1; SELECT 2').stderr).toContain('exactly one SQL statement');
    const ok = query('SELECT count(*) AS n FROM llm_inference');
    expect(ok).toMatchObject({ status: 0, stdout: expect.stringContaining('(1 row)') });
  });
});
