import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { closeAll } from '../support/close-all';

/**
 * The official SDKs, pointed at the gateway, get exactly what they get going
 * direct to the (stand-in) provider; and each call is recorded, visible in
 * the console through the log.
 */

let upstream: StandIn;
let pipeline: Pipeline;

beforeAll(async () => {
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url);
});

afterAll(() => closeAll(pipeline, upstream));

const TAGS = {
  'x-llm-user': 'alice',
  'x-llm-app': 'support-bot',
  'x-llm-session': 'sess-42',
  'x-llm-trace-id': 'trace-abc',
  'x-llm-tag-team': 'search',
};

function openai(baseURL: string, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({ apiKey: 'sk-test-key-never-logged', baseURL, defaultHeaders: headers, maxRetries: 0 });
}

function anthropic(baseURL: string, headers: Record<string, string> = {}): Anthropic {
  return new Anthropic({ apiKey: 'sk-ant-test-key-never-logged', baseURL, defaultHeaders: headers, maxRetries: 0 });
}

const PROMPT = 'Say hello to the gateway test, please.';

describe('OpenAI SDK through the gateway', () => {
  test('non-streamed chat: same answer as direct, recorded with usage, cost, tags and bodies', async () => {
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: PROMPT }] };
    const direct = await openai(`${upstream.url}/v1`).chat.completions.create(params);
    const { data, response } = await openai(`${pipeline.gatewayUrl}/openai/v1`, TAGS).chat.completions.create(params).withResponse();
    expect(data).toEqual(direct);

    const eventId = response.headers.get('x-llm-request-id')!;
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);
    const event = await pipeline.waitForEvent(eventId);
    expect(event).toMatchObject({
      upstream: 'openai',
      provider: 'openai',
      endpoint: 'chat.completions',
      request_model: 'gpt-4o-mini',
      response_model: 'gpt-4o-mini',
      streamed: false,
      http_status: 200,
      error_class: null,
      finish_reason: 'stop',
      user: 'alice',
      app: 'support-bot',
      session: 'sess-42',
      trace_id: 'trace-abc',
      tags: { team: 'search' },
      body_captured: true,
      client_cancelled: false,
    });
    expect(event.usage).toEqual({
      input_tokens: direct.usage!.prompt_tokens,
      output_tokens: direct.usage!.completion_tokens,
      cached_input_tokens: null,
      cache_write_tokens: null,
      reasoning_tokens: null,
      source: 'provider',
      cache_write_1h_tokens: null,
      input_audio_tokens: null,
      input_image_tokens: null,
      output_audio_tokens: null,
      output_image_tokens: null,
      note: null,
    });
    expect(event.cost_micro_usd).toBeGreaterThan(0);
    expect(event.price_version).toMatch(/^\d{4}-\d{2}-\d{2}/);
    expect(event.latency_ms).toBeGreaterThan(0);
    expect(event.ttft_ms).not.toBeNull();
    expect(JSON.parse(event.request_body!)).toEqual(params);
    expect(JSON.parse(event.response_body!)).toEqual(direct);
    expect(event.response_text).toBe(direct.choices[0]!.message.content);
    // Neither the key nor the gateway's own headers went anywhere they should not.
    expect(JSON.stringify(event)).not.toContain('sk-test-key');
    const forwarded = upstream.requests[upstream.requests.length - 1]!;
    expect(forwarded.headers.authorization).toBe('Bearer sk-test-key-never-logged');
    expect(Object.keys(forwarded.headers).filter((h) => h.startsWith('x-llm-'))).toEqual([]);

    const list = (await (await fetch(`${pipeline.consoleUrl}/api/requests?user=alice`)).json()) as { requests: { event_id: string }[] };
    expect(list.requests.map((r) => r.event_id)).toContain(eventId);
  });

  test('streamed chat without include_usage: identical chunks, exact usage recorded', async () => {
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: PROMPT }], stream: true as const };
    const collect = async (client: OpenAI): Promise<{ chunks: unknown[]; id: string | null }> => {
      const { data: stream, response } = await client.chat.completions.create(params).withResponse();
      const chunks: unknown[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      return { chunks, id: response.headers.get('x-llm-request-id') };
    };
    const direct = await collect(openai(`${upstream.url}/v1`));
    const viaGateway = await collect(openai(`${pipeline.gatewayUrl}/openai/v1`));
    expect(viaGateway.chunks).toEqual(direct.chunks);
    expect(JSON.stringify(viaGateway.chunks)).not.toContain('usage');

    // The gateway asked the upstream for usage on the client's behalf.
    const forwarded = upstream.requests[upstream.requests.length - 1]!;
    expect(JSON.parse(forwarded.body.toString()).stream_options).toEqual({ include_usage: true });

    const event = await pipeline.waitForEvent(viaGateway.id!);
    expect(event.streamed).toBe(true);
    expect(event.usage.source).toBe('provider');
    expect(event.usage.output_tokens).toBe(8);
    expect(event.usage.input_tokens).toBeGreaterThan(0);
    expect(event.chunk_count).toBeGreaterThan(8);
    expect(event.ttft_ms!).toBeLessThanOrEqual(event.latency_ms);
    expect(event.response_text).toBe((direct.chunks as { choices: { delta: { content?: string } }[] }[]).map((c) => c.choices[0]?.delta.content ?? '').join(''));
  });

  test('streamed chat with include_usage: the client gets its usage chunk untouched', async () => {
    const params = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: PROMPT }],
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const direct: unknown[] = [];
    for await (const c of await openai(`${upstream.url}/v1`).chat.completions.create(params)) direct.push(c);
    const via: unknown[] = [];
    for await (const c of await openai(`${pipeline.gatewayUrl}/openai/v1`).chat.completions.create(params)) via.push(c);
    expect(via).toEqual(direct);
    expect((via[via.length - 1] as { usage: unknown }).usage).not.toBeNull();
  });

  test('raw bytes of a stream are identical through the gateway', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'bytes' }] });
    const get = async (url: string): Promise<string> => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return res.text();
    };
    expect(await get(`${pipeline.gatewayUrl}/openai/v1/chat/completions`)).toBe(await get(`${upstream.url}/v1/chat/completions`));
  });

  test('embeddings are recorded with input tokens and cost', async () => {
    const { data, response } = await openai(`${pipeline.gatewayUrl}/openai/v1`)
      .embeddings.create({ model: 'text-embedding-3-small', input: ['first text', 'second text'] })
      .withResponse();
    expect(data.data).toHaveLength(2);
    const event = await pipeline.waitForEvent(response.headers.get('x-llm-request-id')!);
    expect(event.endpoint).toBe('embeddings');
    expect(event.usage.input_tokens).toBe(data.usage.prompt_tokens);
    expect(event.cost_micro_usd).not.toBeNull();
  });

  test('an upstream 429 reaches the SDK as a RateLimitError and is recorded', async () => {
    const client = openai(`${pipeline.gatewayUrl}/openai/v1`, { 'x-stand-in-status': '429' });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const eventId = (err as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-llm-request-id');
    const event = await pipeline.waitForEvent(eventId!);
    expect(event).toMatchObject({ http_status: 429, error_class: 'rate_limited', error_type: 'requests' });
    expect(event.cost_micro_usd).toBeNull();
  });
});

describe('Anthropic SDK through the gateway', () => {
  const params = { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user' as const, content: PROMPT }] };

  test('non-streamed message: same answer as direct, recorded', async () => {
    const direct = await anthropic(upstream.url).messages.create(params);
    const { data, response } = await anthropic(`${pipeline.gatewayUrl}/anthropic`, TAGS).messages.create(params).withResponse();
    expect(data).toEqual(direct);
    const event = await pipeline.waitForEvent(response.headers.get('x-llm-request-id')!);
    expect(event).toMatchObject({
      upstream: 'anthropic',
      provider: 'anthropic',
      wire_format: 'anthropic',
      endpoint: 'messages',
      response_model: 'claude-sonnet-4-6',
      finish_reason: 'end_turn',
      user: 'alice',
    });
    expect(event.usage.input_tokens).toBe(direct.usage.input_tokens);
    expect(event.usage.output_tokens).toBe(direct.usage.output_tokens);
    expect(event.usage.source).toBe('provider');
    expect(event.cost_micro_usd).toBeGreaterThan(0);
    const forwarded = upstream.requests[upstream.requests.length - 1]!;
    // The SDK's credential header (x-api-key or authorization) reaches the upstream unchanged.
    expect(JSON.stringify(forwarded.headers)).toContain('sk-ant-test-key-never-logged');
    expect(JSON.stringify(event)).not.toContain('sk-ant-test');
  });

  test('streamed message: identical events and final message, usage recorded', async () => {
    const run = async (client: Anthropic): Promise<{ events: unknown[]; final: unknown; id: string | null }> => {
      const stream = client.messages.stream(params);
      const events: unknown[] = [];
      stream.on('streamEvent', (e) => events.push(e));
      const final = await stream.finalMessage();
      const response = await stream.withResponse();
      return { events, final, id: response.response.headers.get('x-llm-request-id') };
    };
    const direct = await run(anthropic(upstream.url));
    const via = await run(anthropic(`${pipeline.gatewayUrl}/anthropic`));
    expect(via.events).toEqual(direct.events);
    expect(via.final).toEqual(direct.final);
    const event = await pipeline.waitForEvent(via.id!);
    expect(event.streamed).toBe(true);
    expect(event.usage.output_tokens).toBe(8);
    expect(event.usage.source).toBe('provider');
    expect(event.finish_reason).toBe('end_turn');
  });
});
