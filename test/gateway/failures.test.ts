import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { closeAll } from '../support/close-all';

/**
 * The unhappy paths: each gives the client a clear answer and leaves an
 * honest record.
 */

let upstream: StandIn;
let pipeline: Pipeline;
/**
 * For the calls whose client pauses: upstream timeouts of 3 s, not 300 ms. The
 * stand-in runs in this process, and on a loaded machine it can fall silent for
 * 300 ms while it waits for the CPU, which the gateway rightly calls a timeout.
 */
let patient: Pipeline;
const PATIENT_TIMEOUT_MS = 3_000;
let deadPort: number;

beforeAll(async () => {
  upstream = await startStandIn();
  // A port with nothing listening: grab a free one, then close it.
  const probe: Server = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  pipeline = await startPipeline(upstream.url, {
    LLM_LOGGER_UPSTREAM_HEADERS_TIMEOUT_MS: '300',
    LLM_LOGGER_UPSTREAM_BODY_TIMEOUT_MS: '300',
    LLM_LOGGER_MAX_REQUEST_BYTES: String(64 * 1024),
    LLM_LOGGER_UPSTREAM_DEAD_URL: `http://127.0.0.1:${deadPort}`,
    LLM_LOGGER_UPSTREAM_DEAD_FORMAT: 'openai',
    LLM_LOGGER_UPSTREAM_VLLM_URL: `${upstream.url}/prefix`,
    LLM_LOGGER_UPSTREAM_VLLM_FORMAT: 'openai',
    LLM_LOGGER_UPSTREAM_VLLM_PROVIDER: 'vllm',
  });
  patient = await startPipeline(upstream.url, {
    LLM_LOGGER_UPSTREAM_HEADERS_TIMEOUT_MS: String(PATIENT_TIMEOUT_MS),
    LLM_LOGGER_UPSTREAM_BODY_TIMEOUT_MS: String(PATIENT_TIMEOUT_MS),
  });
});

afterAll(() => closeAll(pipeline, patient, upstream));

const chatBody = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi there' }], ...extra });

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${pipeline.gatewayUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

async function eventOf(res: Response): Promise<InferenceEvent> {
  const id = res.headers.get('x-llm-request-id');
  if (!id) throw new Error(`no x-llm-request-id on a ${res.status} answer`);
  return pipeline.waitForEvent(id);
}

/** Raw HTTP, so that paths reach the gateway exactly as written (fetch normalises them). */
function rawRequest(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(pipeline.gatewayUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(chatBody());
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A streamed answer of ~15 MB (more than the sockets buffer), its response
 * paused as soon as its headers arrive: the gateway soon has to stop reading
 * the upstream until the client reads again.
 */
/** A long stream through the patient pipeline, its response paused before the first byte is read. */
function pausedBigStream(): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  const url = new URL(patient.gatewayUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: '/openai/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-stand-in-chunks': '8000', 'x-stand-in-piece-chars': '2000' },
      },
      (res) => {
        res.pause();
        resolve({ req, res });
      },
    );
    req.on('error', reject);
    req.end(chatBody({ stream: true }));
  });
}

describe('routing refusals', () => {
  test('unknown upstream: 404 naming the configured upstreams', async () => {
    const res = await post('/nope/v1/chat/completions', chatBody());
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { type: string; message: string; configured: string[] } };
    expect(body.error.type).toBe('unknown_upstream');
    expect(body.error.configured).toEqual(expect.arrayContaining(['anthropic', 'azure', 'openai', 'vllm']));
    expect(body.error.message).toContain('openai');
  });

  test.each([
    '/openai/../admin',
    '/openai/%2e%2e/admin',
    '/openai/v1%2fchat/completions',
    '/openai/v1/chat@evil.example/completions',
    '//evil.example/v1/chat/completions',
    '/azure/evil.example/openai/deployments/x/chat/completions',
    '/azure/%65vil/openai/deployments/x/chat/completions',
  ])('%s is refused with 400 and never forwarded', async (path) => {
    const before = upstream.requests.length;
    const res = await rawRequest(path);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.type).toBe('invalid_route');
    expect(upstream.requests.length).toBe(before);
  });

  test('azure resource routes to the configured base with the deployment as the model', async () => {
    const res = await post('/azure/my-resource/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21', JSON.stringify({
      messages: [{ role: 'user', content: 'hi' }],
    }), { 'api-key': 'azure-secret-key' });
    expect(res.status).toBe(200);
    const forwarded = upstream.requests[upstream.requests.length - 1]!;
    expect(forwarded.url).toBe('/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21');
    expect(forwarded.headers['api-key']).toBe('azure-secret-key');
    const event = await eventOf(res);
    expect(event).toMatchObject({ upstream: 'azure', provider: 'azure', request_model: 'prod-4o', path: '/openai/deployments/prod-4o/chat/completions' });
    expect(JSON.stringify(event)).not.toContain('azure-secret-key');
    expect(JSON.stringify(event)).not.toContain('api-version');
  });

  test('a configured upstream keeps its base path and provider', async () => {
    const res = await post('/vllm/v1/chat/completions', chatBody({ model: 'meta-llama/Llama-3.1-8B-Instruct' }));
    expect(res.status).toBe(200);
    expect(upstream.requests[upstream.requests.length - 1]!.url).toBe('/prefix/v1/chat/completions');
    const event = await eventOf(res);
    expect(event).toMatchObject({ upstream: 'vllm', provider: 'vllm', cost_micro_usd: null, price_version: null });
    expect(event.usage.source).toBe('provider');
  });
});

describe('gateway headers', () => {
  test('an unknown x-llm-* header is refused naming it', async () => {
    const res = await post('/openai/v1/chat/completions', chatBody(), { 'x-llm-usr': 'typo' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('x-llm-usr');
  });

  test('x-llm-sample must be 0 or 1', async () => {
    const res = await post('/openai/v1/chat/completions', chatBody(), { 'x-llm-sample': 'yes' });
    expect(res.status).toBe(400);
  });

  test('x-llm-sample: 0 keeps metadata but no bodies', async () => {
    const res = await post('/openai/v1/chat/completions', chatBody(), { 'x-llm-sample': '0' });
    const event = await eventOf(res);
    expect(event.body_captured).toBe(false);
    expect(event.request_body).toBeNull();
    expect(event.response_body).toBeNull();
    expect(event.response_text).toBeNull();
    expect(event.usage.input_tokens).not.toBeNull();
  });

  test('hop-by-hop headers and those named in Connection are not forwarded', async () => {
    const url = new URL(pipeline.gatewayUrl);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: '/openai/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'keep-alive, x-private', 'x-private': 'secret', te: 'trailers', 'x-keep': 'yes' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(chatBody());
    });
    const forwarded = upstream.requests[upstream.requests.length - 1]!;
    expect(forwarded.headers['x-private']).toBeUndefined();
    expect(forwarded.headers['te']).toBeUndefined();
    expect(forwarded.headers['x-keep']).toBe('yes');
  });
});

describe('upstream failures', () => {
  test('unreachable upstream: 502 with a clear message, recorded', async () => {
    const res = await post('/dead/v1/chat/completions', chatBody());
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('upstream_unreachable');
    expect(body.error.message).toMatch(/unreachable/);
    const event = await eventOf(res);
    expect(event).toMatchObject({ http_status: 502, error_class: 'upstream_unreachable', upstream: 'dead' });
    expect(event.usage.source).toBe('none');
  });

  test('upstream that never answers: 504, recorded as a timeout', async () => {
    const res = await post('/openai/v1/chat/completions', chatBody(), { 'x-stand-in-hang': 'headers' });
    expect(res.status).toBe(504);
    const event = await eventOf(res);
    expect(event).toMatchObject({ http_status: 504, error_class: 'upstream_timeout' });
  });

  test("a stream's headers reach the client as soon as the upstream sends them, before its first event", async () => {
    // The first event comes 200 ms after the headers (this pipeline's body timeout is 300 ms).
    const res = await post('/openai/v1/chat/completions', chatBody({ stream: true }), { 'x-stand-in-first-event-delay-ms': '200' });
    const headersAt = Date.now();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    // Had the gateway held the headers back until the first event, they would have come with it.
    expect(Date.now() - headersAt).toBeGreaterThanOrEqual(120);
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"usage"'); // the client did not ask for usage
  });

  test('stream that stalls mid-way: the client sees a broken stream, the event a timeout with partial usage', async () => {
    const res = await post('/openai/v1/chat/completions', chatBody({ stream: true }), { 'x-stand-in-hang': 'body' });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    const event = await eventOf(res);
    expect(event.error_class).toBe('upstream_timeout');
    expect(event.http_status).toBe(200);
  });

  test('a client that stops reading a long stream for longer than the body timeout still gets all of it', async () => {
    const { res } = await pausedBigStream();
    await sleep(PATIENT_TIMEOUT_MS + 1_000); // longer than the body timeout, but waiting for the client is not upstream silence
    const body = await new Promise<string>((resolve, reject) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(Buffer.concat(parts).toString()));
      res.on('error', reject); // cut short
      res.resume();
    });
    expect(body.length).toBeGreaterThan(10_000_000);
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const event = await patient.waitForEvent(String(res.headers['x-llm-request-id']));
    expect(event.error_class).toBeNull();
    expect(event.usage.output_tokens).toBe(8_000);
  }, 30_000);

  test.each([
    ['openai', 'error-401-invalid-api-key', 401, 'client_error'],
    ['openai', 'error-429-rate-limit', 429, 'rate_limited'],
    ['anthropic', 'error-529-overloaded', 529, 'server_error'],
  ] as const)('%s %s passes through untouched and is recorded', async (provider, fixture, status, errorClass) => {
    const path = provider === 'openai' ? '/openai/v1/chat/completions' : '/anthropic/v1/messages';
    const direct = await fetch(`${upstream.url}${provider === 'openai' ? '/v1/chat/completions' : '/v1/messages'}`, {
      method: 'POST',
      headers: { 'x-stand-in-fixture': `${provider}/${fixture}` },
      body: chatBody(),
    });
    const res = await post(path, chatBody(), { 'x-stand-in-fixture': `${provider}/${fixture}` });
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(await direct.text());
    const event = await eventOf(res);
    expect(event.http_status).toBe(status);
    expect(event.error_class).toBe(errorClass);
    expect(event.error_message).toBeTruthy();
  });

  test('an error event inside a 200 stream is recorded as stream_error', async () => {
    const res = await post('/anthropic/v1/messages', chatBody({ stream: true }), { 'x-stand-in-fixture': 'anthropic/messages-stream-error' });
    expect(res.status).toBe(200);
    await res.text();
    const event = await eventOf(res);
    expect(event.error_class).toBe('stream_error');
    expect(event.error_type).toBe('overloaded_error');
  });
});

describe('client behaviour', () => {
  test('client disconnect mid-stream aborts the upstream and records a cancelled call with partial usage', async () => {
    const abortedBefore = upstream.aborted.length;
    const controller = new AbortController();
    const res = await post('/openai/v1/chat/completions', chatBody({ stream: true }), {
      'x-stand-in-chunks': '200',
      'x-stand-in-chunk-delay-ms': '10',
    }).then((r) => r);
    const id = res.headers.get('x-llm-request-id')!;
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    controller.abort();
    const event = await pipeline.waitForEvent(id);
    expect(event.client_cancelled).toBe(true);
    expect(event.error_class).toBe('client_cancelled');
    expect(event.usage.source).toBe('estimated');
    expect(event.usage.output_tokens).toBeGreaterThan(0);
    expect(event.usage.output_tokens).toBeLessThan(200);
    expect(event.usage.input_tokens).toBeGreaterThan(0);
    // The gateway let go of the upstream too.
    for (let i = 0; i < 100 && upstream.aborted.length === abortedBefore; i++) await sleep(10);
    expect(upstream.aborted.length).toBeGreaterThan(abortedBefore);
  });

  test('a client that disconnects while the gateway waits for it to read: the call ends, recorded as cancelled', async () => {
    const { req, res } = await pausedBigStream();
    res.on('error', () => undefined);
    await sleep(500);
    req.destroy();
    const event = await patient.waitForEvent(String(res.headers['x-llm-request-id']));
    expect(event.client_cancelled).toBe(true);
    expect(event.error_class).toBe('client_cancelled');
  });

  test('a body over the limit gets 413 and is not forwarded', async () => {
    const before = upstream.requests.length;
    const res = await post('/openai/v1/chat/completions', chatBody({ padding: 'x'.repeat(70 * 1024) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('LLM_LOGGER_MAX_REQUEST_BYTES');
    expect(upstream.requests.length).toBe(before);
  });

  test('malformed JSON is forwarded as is and recorded', async () => {
    const res = await post('/openai/v1/chat/completions', '{"model": "gpt-4o", oops');
    expect(res.status).toBe(400); // the upstream's verdict
    expect(upstream.requests[upstream.requests.length - 1]!.body.toString()).toBe('{"model": "gpt-4o", oops');
    const event = await eventOf(res);
    expect(event).toMatchObject({ http_status: 400, error_class: 'client_error', request_model: null });
    expect(event.request_body).toBe('{"model": "gpt-4o", oops');
  });
});
