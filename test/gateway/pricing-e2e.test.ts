import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { loadFixture } from '../fixtures/load-fixtures';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { loadPriceTable } from '../../services/shared/pricing';

/**
 * What providers bill, end to end: golden fixtures replayed by the stand-in
 * upstream to the official SDKs through the gateway, and the events' usage,
 * service tier and cost against the bundled prices worked out by hand.
 */

let upstream: StandIn;
let pipeline: Pipeline;
const version = loadPriceTable().version;

beforeAll(async () => {
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url);
});

afterAll(async () => {
  await pipeline.close();
  await upstream.close();
});

function replaying(fixture: string) {
  return { 'x-stand-in-fixture': fixture };
}

test('Anthropic 1-hour cache writes are recorded apart and priced at 2× input', async () => {
  const fixture = loadFixture('anthropic', 'messages-cache-1h');
  const client = new Anthropic({ baseURL: `${pipeline.gatewayUrl}/anthropic`, apiKey: 'sk-ant-test', defaultHeaders: replaying('anthropic/messages-cache-1h') });
  const { data, response } = await client.messages.create(fixture.request as Anthropic.MessageCreateParamsNonStreaming).withResponse();
  expect(data.usage.cache_creation?.ephemeral_1h_input_tokens).toBe(4_200);
  const event = await pipeline.waitForEvent(response.headers.get('x-llm-request-id')!);
  expect(event.usage).toMatchObject({ input_tokens: 5_421, cache_write_tokens: 5_400, cache_write_1h_tokens: 4_200, cached_input_tokens: 0, output_tokens: 38 });
  expect(event).toMatchObject({ service_tier: 'standard', price_version: version, cost_note: null });
  // 21 × $3 + 1,200 × $3.75 + 4,200 × $6 + 38 × $15 per million (priced as 5-minute writes it would be 20,883).
  expect(event.cost_micro_usd).toBe(63 + 4_500 + 25_200 + 570);
});

test('an OpenAI stream on the flex tier records the tier and is priced at half', async () => {
  const fixture = loadFixture('openai', 'chat-stream-flex');
  const client = new OpenAI({ baseURL: `${pipeline.gatewayUrl}/openai/v1`, apiKey: 'sk-test', defaultHeaders: replaying('openai/chat-stream-flex') });
  const { data: stream, response } = await client.chat.completions
    .create(fixture.request as OpenAI.ChatCompletionCreateParamsStreaming)
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  expect(text).toBe(fixture.meta.expected.text);
  const event = await pipeline.waitForEvent(response.headers.get('x-llm-request-id')!);
  expect(event).toMatchObject({ service_tier: 'flex', cost_note: 'service tier flex (×0.5)', price_version: version });
  // (19 × $1.10 + 203 × $4.40) / 2 per million, o4-mini
  expect(event.cost_micro_usd).toBe(Math.round((19 * 1.1 + 203 * 4.4) / 2));
});

test('audio tokens are recorded and priced at the audio prices', async () => {
  const fixture = loadFixture('openai', 'chat-audio');
  const client = new OpenAI({ baseURL: `${pipeline.gatewayUrl}/openai/v1`, apiKey: 'sk-test', defaultHeaders: replaying('openai/chat-audio') });
  const { response } = await client.chat.completions.create(fixture.request as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
  const event = await pipeline.waitForEvent(response.headers.get('x-llm-request-id')!);
  expect(event.usage).toMatchObject({ input_tokens: 71, input_audio_tokens: 56, input_image_tokens: 0, output_tokens: 142, output_audio_tokens: 118 });
  // 15 text × $2.50 + 56 audio × $40 in; 24 text × $10 + 118 audio × $80 out (per million)
  expect(event.cost_micro_usd).toBe(Math.round(37.5 + 2_240 + 240 + 9_440));
  expect(event.service_tier).toBe('default');
});

test('a tier the table does not price leaves the cost unknown, saying why', async () => {
  const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-stand-in-service-tier': 'scale' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(res.status).toBe(200);
  const event = await pipeline.waitForEvent(res.headers.get('x-llm-request-id')!);
  expect(event).toMatchObject({ service_tier: 'scale', cost_micro_usd: null, price_version: null, cost_note: `no price for service tier scale of openai/gpt-4o in prices ${version}` });
  expect(await (await fetch(`${pipeline.gatewayUrl}/metrics`)).text()).toContain('llm_logger_gateway_unpriced_total{provider="openai",reason="unknown_service_tier"} 1');
});
