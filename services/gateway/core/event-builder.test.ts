import { INFERENCE_EVENT_SCHEMA_VERSION, inferenceEventType, type InferenceEvent } from '../../shared/event/inference-event';
import { sampleObservation as observation, sampleResponse as response, sampleUsage as usage, SAMPLE_PROMPT as PROMPT, SAMPLE_STARTED_AT as STARTED_AT } from '../../../test/support/sample-observation';
import { buildInferenceEvent, classifyStatus, type CallObservation, type EventDeps } from './event-builder';
import type { TokenUsage } from './wire/types';

/**
 * A fixed "tokenizer" (one token per character) and a price of 1 µUSD per
 * input token and 2 per output token for every model except `mystery-model`,
 * which has no price. Pure functions, so assertions stay exact.
 */
const deps: EventDeps = {
  estimateTokens: (_model, text) => text.length,
  price: (_provider, model, usage: TokenUsage, serviceTier) =>
    model === 'mystery-model'
      ? { costMicroUsd: null, priceVersion: 'test-prices-1' }
      : usage.rejected
        ? { costMicroUsd: null, priceVersion: null, note: 'no cost: refused counts' }
        : {
            costMicroUsd: ((usage.inputTokens ?? 0) + 2 * (usage.outputTokens ?? 0)) * (serviceTier === 'priority' ? 2 : 1),
            priceVersion: 'test-prices-1',
            note: serviceTier === 'priority' ? 'service tier priority' : null,
          },
};

function build(partial: Partial<CallObservation> = {}): InferenceEvent {
  const event = buildInferenceEvent(observation(partial), deps);
  // Every event the builder makes must be encodable as the Avro record.
  const problems: string[] = [];
  inferenceEventType().isValid(event, { errorHook: (path) => problems.push(path.join('.')) });
  expect(problems).toEqual([]);
  return event;
}

/** The v2 usage fields of a call whose usage reports no breakdown. */
const NO_BREAKDOWN = {
  cache_write_1h_tokens: null,
  input_audio_tokens: null,
  input_image_tokens: null,
  output_audio_tokens: null,
  output_image_tokens: null,
  note: null,
};

describe('buildInferenceEvent: bounds and identity', () => {
  it('records the gateway key by name, and no truncation when nothing was cut', () => {
    const e = build({ gatewayKeyId: 'search-prod' });
    expect(e.gateway_key_id).toBe('search-prod');
    expect(e.truncated_fields).toBeNull();
    expect(build().gateway_key_id).toBeNull();
  });

  it('cuts a 40 KB model name (request and answer) to 256 characters, prices the cut name and flags both fields', () => {
    const huge = 'm'.repeat(40_000);
    const priced: string[] = [];
    const e = buildInferenceEvent(observation({ request: { model: huge, stream: false, includeUsage: false, promptText: PROMPT }, response: response({ servedModel: huge, usage: usage({ inputTokens: 1, outputTokens: 1 }) }) }), {
      ...deps,
      price: (provider, model, u, tier) => {
        priced.push(model);
        return deps.price(provider, model, u, tier);
      },
    });
    expect(e.request_model).toHaveLength(256);
    expect(e.response_model).toHaveLength(256);
    expect(priced.map((m) => m.length)).toEqual([256]);
    expect(e.truncated_fields).toBe('request_model,response_model');
  });

  it('cuts the answer text and tool calls to LLM_LOGGER_RESPONSE_TEXT_MAX_CHARS, keeping tool_calls valid JSON', () => {
    const e = buildInferenceEvent(
      observation({ response: response({ text: 'a'.repeat(100), toolCalls: [{ id: 't', name: 'get', arguments: 'x'.repeat(100) }], usage: usage({ inputTokens: 1, outputTokens: 1 }) }) }),
      { ...deps, responseTextMaxChars: 120 },
    );
    expect(e.response_text).toBe('a'.repeat(100));
    expect(JSON.parse(e.tool_calls!)).toEqual([{ id: 't', name: 'get', arguments: 'x'.repeat(17) }]);
    expect(e.truncated_fields).toBe('tool_calls');
  });

  it('flags text dropped while streaming and skipped events, and scales the output estimate to what was dropped', () => {
    const e = build({
      streamed: true,
      cancelled: true,
      response: response({ usage: null, text: 'abcd' }),
      answerCut: { cutChars: 12, skippedEvents: 1 },
    });
    expect(e.truncated_fields).toBe('response_text,stream_event');
    // 4 characters kept (4 "tokens"), 12 dropped: 16 in all.
    expect(e.usage).toMatchObject({ output_tokens: 16, source: 'estimated' });
  });

  it('cuts an oversized error message and path', () => {
    const e = build({ apiPath: `/${'p'.repeat(5_000)}`, status: 500, failure: { errorClass: 'upstream_unreachable', message: 'e'.repeat(10_000) } });
    expect(e.path).toHaveLength(2_048);
    expect(e.error_message).toHaveLength(4_096);
    expect(e.truncated_fields).toBe('path,error_message');
  });
});

describe('buildInferenceEvent', () => {
  it('uses provider-reported usage as-is and prices it', () => {
    const e = build();
    expect(e.usage).toEqual({
      ...NO_BREAKDOWN,
      input_tokens: 11,
      output_tokens: 3,
      cached_input_tokens: 0,
      cache_write_tokens: null,
      reasoning_tokens: null,
      source: 'provider',
    });
    expect(e.cost_micro_usd).toBe(11 + 2 * 3);
    expect(e.price_version).toBe('test-prices-1');
    expect(e.error_class).toBeNull();
    expect(e.request_model).toBe('gpt-4o-mini');
    expect(e.response_model).toBe('gpt-4o-mini-2024-07-18');
  });

  it('copies the call description and tags', () => {
    const e = build();
    expect(e).toMatchObject({
      event_id: '01890a5d-ac96-774b-bcce-b302099a8057',
      schema_version: INFERENCE_EVENT_SCHEMA_VERSION,
      gateway_instance: 'gw-1',
      upstream: 'openai',
      provider: 'openai',
      wire_format: 'openai',
      endpoint: 'chat.completions',
      method: 'POST',
      path: '/v1/chat/completions',
      http_status: 200,
      streamed: false,
      finish_reason: 'stop',
      request_bytes: 120,
      response_bytes: 300,
      user: 'alice',
      app: 'search',
      session: null,
      trace_id: null,
      tags: { team: 'core' },
      client_cancelled: false,
    });
  });

  it('estimates input and output of a cancelled stream that reported no usage', () => {
    const e = build({
      streamed: true,
      cancelled: true,
      response: response({ usage: null, text: 'Hel', finishReason: null, chunkCount: 2 }),
    });
    expect(e.usage).toMatchObject({ input_tokens: PROMPT.length, output_tokens: 3, source: 'estimated' });
    expect(e.cost_micro_usd).toBe(PROMPT.length + 2 * 3);
    expect(e.client_cancelled).toBe(true);
    expect(e.error_class).toBe('client_cancelled');
    expect(e.error_message).toContain('client disconnected');
    expect(e.chunk_count).toBe(2);
  });

  it('counts tool-call names and arguments in the estimated output', () => {
    const e = build({
      cancelled: true,
      response: response({ usage: null, text: '', toolCalls: [{ id: 'c1', name: 'get', arguments: '{"q":1}' }] }),
    });
    expect(e.usage.output_tokens).toBe('get{"q":1}'.length);
  });

  it('keeps a reported input count and estimates only the missing output', () => {
    // Anthropic reports input at message_start; a cut stream never gets message_delta's output.
    const e = build({
      upstream: 'anthropic',
      provider: 'anthropic',
      wireFormat: 'anthropic',
      endpoint: 'messages',
      apiPath: '/v1/messages',
      streamed: true,
      cancelled: true,
      request: { model: 'claude-sonnet-4-5', stream: true, includeUsage: false, promptText: PROMPT },
      response: response({
        servedModel: 'claude-sonnet-4-5-20250929',
        usage: usage({ inputTokens: 25, outputTokens: null, cachedInputTokens: 5 }),
        text: 'Hi th',
      }),
    });
    expect(e.usage).toEqual({
      ...NO_BREAKDOWN,
      input_tokens: 25,
      output_tokens: 5,
      cached_input_tokens: 5,
      cache_write_tokens: null,
      reasoning_tokens: null,
      source: 'estimated',
    });
  });

  it('estimates an answered call that reported no usage', () => {
    const e = build({ response: response({ usage: null, text: 'Hello!' }) });
    expect(e.usage).toMatchObject({ input_tokens: PROMPT.length, output_tokens: 6, source: 'estimated' });
  });

  it('estimates zero output tokens for embeddings', () => {
    const e = build({
      endpoint: 'embeddings',
      apiPath: '/v1/embeddings',
      response: response({ usage: null, text: '', finishReason: null }),
    });
    expect(e.usage).toMatchObject({ input_tokens: PROMPT.length, output_tokens: 0, source: 'estimated' });
  });

  it.each([
    [400, 'client_error'],
    [401, 'client_error'],
    [404, 'client_error'],
    [429, 'rate_limited'],
    [500, 'server_error'],
    [529, 'server_error'],
  ] as const)('records a %d answer as %s without usage or cost', (status, errorClass) => {
    const e = build({
      status,
      response: response({
        servedModel: null,
        usage: null,
        text: '',
        finishReason: null,
        error: { type: 'some_error', message: 'it failed' },
      }),
    });
    expect(e.http_status).toBe(status);
    expect(e.error_class).toBe(errorClass);
    expect(e.error_type).toBe('some_error');
    expect(e.error_message).toBe('it failed');
    expect(e.usage).toEqual({
      ...NO_BREAKDOWN,
      input_tokens: null,
      output_tokens: null,
      cached_input_tokens: null,
      cache_write_tokens: null,
      reasoning_tokens: null,
      source: 'none',
    });
    expect(e.cost_micro_usd).toBeNull();
    expect(e.price_version).toBeNull();
  });

  // accountUsage skips estimation for an error status only when the call was
  // not cancelled (`if (!produced && !obs.cancelled)`): a client that hangs up
  // while a 429/4xx/5xx error body is being relayed gets its prompt billed,
  // although the model never ran.
  test('bills nothing for an error answer the client hung up on', () => {
    const e = build({
      status: 429,
      cancelled: true,
      response: response({
        servedModel: null,
        usage: null,
        text: '',
        finishReason: null,
        error: { type: 'rate_limit_exceeded', message: 'Rate limit reached' },
      }),
    });
    expect(e.usage.source).toBe('none');
    expect(e.cost_micro_usd).toBeNull();
  });

  it('records a gateway-side failure with its class and message', () => {
    const e = build({
      status: null,
      response: null,
      responseBytes: 0,
      failure: { errorClass: 'upstream_timeout', message: 'no response headers within 600000 ms' },
      timings: { startedAt: STARTED_AT, startMono: 1000, firstByteMono: null, endMono: 601_000 },
    });
    expect(e.error_class).toBe('upstream_timeout');
    expect(e.error_message).toBe('no response headers within 600000 ms');
    expect(e.http_status).toBeNull();
    expect(e.usage.source).toBe('none');
    expect(e.cost_micro_usd).toBeNull();
    expect(e.response_model).toBeNull();
    expect(e.finish_reason).toBeNull();
    expect(e.chunk_count).toBe(0);
    expect(e.response_text).toBeNull();
  });

  it('classifies an in-stream error under a 200 as stream_error', () => {
    const e = build({
      streamed: true,
      response: response({
        usage: usage({ inputTokens: 11, outputTokens: 2 }),
        error: { type: 'overloaded_error', message: 'Overloaded' },
      }),
    });
    expect(e.http_status).toBe(200);
    expect(e.error_class).toBe('stream_error');
    expect(e.error_type).toBe('overloaded_error');
    expect(e.error_message).toBe('Overloaded');
  });

  it('lets the price function decide for an unknown model', () => {
    const e = build({
      request: { model: 'mystery-model', stream: false, includeUsage: false, promptText: PROMPT },
      response: response({ servedModel: null, usage: usage({ inputTokens: 4, outputTokens: 4 }) }),
    });
    expect(e.request_model).toBe('mystery-model');
    expect(e.usage.source).toBe('provider');
    expect(e.cost_micro_usd).toBeNull();
    expect(e.price_version).toBe('test-prices-1');
  });

  it('prices by the served model when the upstream names one', () => {
    const e = build({
      request: { model: 'gpt-4o-mini', stream: false, includeUsage: false, promptText: PROMPT },
      response: response({ servedModel: 'mystery-model', usage: usage({ inputTokens: 4, outputTokens: 4 }) }),
    });
    expect(e.cost_micro_usd).toBeNull();
  });

  it('uses the Azure deployment as request_model when the body names none', () => {
    const e = build({
      upstream: 'azure',
      provider: 'azure',
      apiPath: '/openai/deployments/gpt4o-prod/chat/completions',
      deployment: 'gpt4o-prod',
      request: { model: null, stream: false, includeUsage: false, promptText: PROMPT },
    });
    expect(e.request_model).toBe('gpt4o-prod');
  });

  it('prefers the body model over the Azure deployment', () => {
    const e = build({ deployment: 'gpt4o-prod' });
    expect(e.request_model).toBe('gpt-4o-mini');
  });

  it('derives timings from the wall clock at arrival and monotonic offsets', () => {
    const e = build({ timings: { startedAt: STARTED_AT, startMono: 1000.25, firstByteMono: 1150.5, endMono: 2000.75 } });
    expect(e.started_at).toBe(STARTED_AT);
    expect(e.ttft_ms).toBeCloseTo(150.25, 9);
    expect(e.latency_ms).toBeCloseTo(1000.5, 9);
    expect(e.first_token_at).toBe(STARTED_AT + 150);
    expect(e.ended_at).toBe(STARTED_AT + 1001);
    expect(Number.isInteger(e.first_token_at)).toBe(true);
    expect(Number.isInteger(e.ended_at)).toBe(true);
  });

  it('leaves first-token fields null when no byte reached the client', () => {
    const e = build({ timings: { startedAt: STARTED_AT, startMono: 50, firstByteMono: null, endMono: 80 } });
    expect(e.ttft_ms).toBeNull();
    expect(e.first_token_at).toBeNull();
    expect(e.latency_ms).toBe(30);
    expect(e.ended_at).toBe(STARTED_AT + 30);
  });

  it('records captured bodies, extracted text and tool calls', () => {
    const toolCalls = [{ id: 'c1', name: 'lookup', arguments: '{"q":"x"}' }];
    const e = build({
      captured: { requestBody: '{"req":1}', responseBody: '{"res":1}', truncated: true },
      response: response({ usage: usage({ inputTokens: 1, outputTokens: 1 }), toolCalls }),
    });
    expect(e.body_captured).toBe(true);
    expect(e.body_truncated).toBe(true);
    expect(e.request_body).toBe('{"req":1}');
    expect(e.response_body).toBe('{"res":1}');
    expect(e.response_text).toBe('Hello!');
    expect(JSON.parse(e.tool_calls ?? 'null')).toEqual(toolCalls);
  });

  it('records no body, text or tool calls when bodies were not captured', () => {
    const e = build({
      captured: null,
      response: response({
        usage: usage({ inputTokens: 1, outputTokens: 1 }),
        toolCalls: [{ id: 'c1', name: 'lookup', arguments: '{}' }],
      }),
    });
    expect(e.body_captured).toBe(false);
    expect(e.body_truncated).toBe(false);
    expect(e.request_body).toBeNull();
    expect(e.response_body).toBeNull();
    expect(e.response_text).toBeNull();
    expect(e.tool_calls).toBeNull();
  });
});

describe('classifyStatus', () => {
  it('maps statuses to error classes', () => {
    expect(classifyStatus(200)).toBeNull();
    expect(classifyStatus(304)).toBeNull();
    expect(classifyStatus(400)).toBe('client_error');
    expect(classifyStatus(429)).toBe('rate_limited');
    expect(classifyStatus(503)).toBe('server_error');
  });

  it('records the service tier the answer reported, prices by it and says so in cost_note', () => {
    const e = build({ response: response({ serviceTier: 'priority', usage: usage({ inputTokens: 11, outputTokens: 3 }) }) });
    expect(e).toMatchObject({ service_tier: 'priority', cost_micro_usd: 34, cost_note: 'service tier priority' });
    expect(build()).toMatchObject({ service_tier: null, cost_note: null });
  });

  it('records the usage breakdown as reported', () => {
    const e = build({
      response: response({ usage: usage({ inputTokens: 5_421, outputTokens: 38, cachedInputTokens: 0, cacheWriteTokens: 5_400, cacheWrite1hTokens: 4_200, inputAudioTokens: 3 }) }),
    });
    expect(e.usage).toMatchObject({ cache_write_tokens: 5_400, cache_write_1h_tokens: 4_200, input_audio_tokens: 3, output_audio_tokens: null, note: null });
  });

  it('keeps a refused count unknown with its reason: no estimate, no cost, and the event still encodes', () => {
    const e = build({
      response: response({ usage: usage({ inputTokens: null, outputTokens: 3, rejected: 'prompt_tokens: -7 is negative' }) }),
    });
    expect(e.usage).toMatchObject({ input_tokens: null, output_tokens: 3, source: 'provider', note: 'prompt_tokens: -7 is negative' });
    expect(e).toMatchObject({ cost_micro_usd: null, price_version: null, cost_note: 'no cost: refused counts' });
    const allRefused = build({ response: response({ usage: usage({ rejected: 'prompt_tokens: 1.5 is not a whole number; completion_tokens: -1 is negative' }) }) });
    expect(allRefused.usage).toMatchObject({ input_tokens: null, output_tokens: null, source: 'none', note: 'prompt_tokens: 1.5 is not a whole number; completion_tokens: -1 is negative' });
    expect(allRefused.cost_note).toBe('no cost: refused counts');
  });
});
