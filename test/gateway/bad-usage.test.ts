import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * An upstream that reports nonsense token counts (negative, fractional,
 * beyond 2^53, not a number). Before, such an event failed its Avro encoding
 * and was dropped, and a negative count made every `/metrics` scrape answer
 * 500. Now the client gets the upstream's answer as always, the event is
 * recorded with the count null and the reason in `usage.note`, its cost is
 * null with `cost_note` saying why, and `/metrics` keeps answering, counting
 * the refusals by kind.
 */

let upstream: StandIn;
let pipeline: Pipeline;

beforeAll(async () => {
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url);
});

afterAll(async () => {
  await pipeline.close();
  await upstream.close();
});

async function call(path: string, body: unknown, usage: string): Promise<{ id: string; status: number; text: string }> {
  const res = await fetch(`${pipeline.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-test', 'x-stand-in-usage': usage },
    body: JSON.stringify(body),
  });
  return { id: res.headers.get('x-llm-request-id')!, status: res.status, text: await res.text() };
}

const chat = (stream: boolean, includeUsage = false) => ({
  model: 'gpt-4o-mini',
  stream,
  ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
  messages: [{ role: 'user', content: 'Count my tokens, please.' }],
});

test.each([
  ['a negative prompt count', '/openai/v1/chat/completions', chat(false), '{"prompt_tokens":-5}', { input_tokens: null, output_tokens: 8 }, 'prompt_tokens: -5 is negative'],
  ['a fractional completion count', '/openai/v1/chat/completions', chat(false), '{"completion_tokens":2.5}', { input_tokens: 6, output_tokens: null }, 'completion_tokens: 2.5 is not a whole number'],
  [
    'a count beyond 2^53, streamed (the client asked for usage)',
    '/openai/v1/chat/completions',
    chat(true, true),
    '{"prompt_tokens":9007199254740993}',
    { input_tokens: null, output_tokens: 8 },
    'prompt_tokens: 9007199254740992 is larger than 2^53',
  ],
  [
    'a negative audio detail, streamed (the gateway asked for usage)',
    '/openai/v1/chat/completions',
    chat(true),
    '{"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":-1}}',
    { input_tokens: 6, output_tokens: 8, input_audio_tokens: null },
    'prompt_tokens_details.audio_tokens: -1 is negative',
  ],
  [
    'a count sent as a string (Anthropic)',
    '/anthropic/v1/messages',
    { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Count my tokens, please.' }] },
    '{"output_tokens":"8"}',
    { input_tokens: 6, output_tokens: null },
    'output_tokens: "8" is not a number',
  ],
  [
    'a negative cache read, streamed (Anthropic): the prompt total is unknown too',
    '/anthropic/v1/messages',
    { model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Count my tokens, please.' }] },
    '{"cache_read_input_tokens":-40}',
    { input_tokens: null, cached_input_tokens: null, output_tokens: 8 },
    'cache_read_input_tokens: -40 is negative',
  ],
])('%s: the client gets its answer, the event is recorded with the count unknown and why, /metrics answers', async (_name, path, body, usage, counts, note) => {
  const r = await call(path, body, usage);
  // The client gets the upstream's answer (the gateway is not the judge of its numbers).
  expect(r.status).toBe(200);
  expect(r.text).toMatch((body as { stream?: boolean }).stream ? /\[DONE\]|message_stop/ : /"usage":\{/);
  const event = await pipeline.waitForEvent(r.id);
  expect(event.usage).toMatchObject({ ...counts, source: 'provider', note });
  expect(event).toMatchObject({ http_status: 200, error_class: null, cost_micro_usd: null, price_version: null });
  expect(event.cost_note).toBe('no cost: the upstream reported counts that are not token counts (see usage.note)');
  const metrics = await fetch(`${pipeline.gatewayUrl}/metrics`);
  expect(metrics.status).toBe(200);
});

test('the refusals are counted by kind, the priced calls still count their tokens, and every scrape answers 200', async () => {
  const ok = await call('/openai/v1/chat/completions', chat(false), '{}');
  expect((await pipeline.waitForEvent(ok.id)).cost_micro_usd).toBeGreaterThan(0);
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${pipeline.gatewayUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('llm_logger_gateway_usage_rejected_total{upstream="openai",kind="negative"} 2');
    expect(text).toContain('llm_logger_gateway_usage_rejected_total{upstream="openai",kind="fractional"} 1');
    expect(text).toContain('llm_logger_gateway_usage_rejected_total{upstream="openai",kind="too_large"} 1');
    expect(text).toContain('llm_logger_gateway_usage_rejected_total{upstream="anthropic",kind="not_a_number"} 1');
    expect(text).toContain('llm_logger_gateway_usage_rejected_total{upstream="anthropic",kind="negative"} 1');
    expect(text).toContain('llm_logger_gateway_unpriced_total{provider="openai",reason="invalid_usage"} 4');
    expect(text).toMatch(/llm_logger_gateway_tokens_total\{upstream="openai",direction="input"\} \d+/);
    expect(text).not.toMatch(/llm_logger_gateway_tokens_total\{[^}]*\} -/);
  }
});
