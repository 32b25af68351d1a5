import { createResponsesAccumulator, parseResponsesResponse } from './openai-responses';
import type { ParsedResponse } from './types';

function accumulate(events: Array<Record<string, unknown> | string>): ParsedResponse {
  const accumulator = createResponsesAccumulator();
  for (const event of events) {
    const data = typeof event === 'string' ? event : JSON.stringify(event);
    const type = typeof event === 'string' ? null : String(event.type);
    accumulator.push({ event: type, data, id: null });
  }
  return accumulator.result();
}

const message = (text: string) => ({
  id: 'msg_1',
  type: 'message',
  status: 'completed',
  role: 'assistant',
  content: [{ type: 'output_text', annotations: [], text }],
});

describe('parseResponsesResponse', () => {
  it('collects message text and function calls in output order, ignoring reasoning and refusals', () => {
    const parsed = parseResponsesResponse({
      model: 'gpt-4.1-2025-04-14',
      status: 'completed',
      output: [
        { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking…' }] },
        {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          content: [
            { type: 'output_text', text: 'Hello' },
            { type: 'refusal', refusal: 'no' },
            { type: 'output_text', text: ' there' },
          ],
        },
        { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}' },
        { id: 'ws_1', type: 'web_search_call', status: 'completed' },
      ],
      usage: {
        input_tokens: 10,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens: 20,
        output_tokens_details: { reasoning_tokens: 15 },
        total_tokens: 30,
      },
    });
    expect(parsed).toEqual({
      servedModel: 'gpt-4.1-2025-04-14',
      usage: { inputTokens: 10, outputTokens: 20, cachedInputTokens: 4, cacheWriteTokens: null, reasoningTokens: 15 },
      finishReason: 'completed',
      text: 'Hello there',
      toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }],
      error: null,
      chunkCount: 0,
    });
  });

  it('uses the incomplete reason as finish reason, or the status without one', () => {
    expect(
      parseResponsesResponse({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } }).finishReason,
    ).toBe('content_filter');
    expect(parseResponsesResponse({ status: 'incomplete', incomplete_details: null }).finishReason).toBe('incomplete');
  });

  it("reads a failed response's error and an error body", () => {
    expect(
      parseResponsesResponse({ status: 'failed', error: { code: 'server_error', message: 'Something broke' } }),
    ).toMatchObject({ finishReason: 'failed', error: { type: 'server_error', message: 'Something broke' } });
    expect(
      parseResponsesResponse({ error: { message: 'No such model', type: 'invalid_request_error', param: 'model', code: null } })
        .error,
    ).toEqual({ type: 'invalid_request_error', message: 'No such model' });
  });
});

describe('createResponsesAccumulator', () => {
  it('falls back to streamed pieces when the stream ends before a terminal event', () => {
    const result = accumulate([
      { type: 'response.created', sequence_number: 0, response: { model: 'gpt-4.1-mini', status: 'in_progress', usage: null } },
      { type: 'response.output_item.added', output_index: 0, item: { type: 'message', id: 'msg_1', content: [] } },
      { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'Hel' },
      { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'lo' },
      { type: 'response.output_item.added', output_index: 1, item: { type: 'function_call', id: 'fc_1', call_id: 'call_9', name: 'g', arguments: '' } },
      { type: 'response.function_call_arguments.delta', output_index: 1, item_id: 'fc_1', delta: '{"q":' },
      { type: 'response.function_call_arguments.delta', output_index: 1, item_id: 'fc_1', delta: '2}' },
    ]);
    expect(result).toEqual({
      servedModel: 'gpt-4.1-mini',
      usage: null,
      finishReason: null,
      text: 'Hello',
      toolCalls: [{ id: 'call_9', name: 'g', arguments: '{"q":2}' }],
      error: null,
      chunkCount: 7,
    });
  });

  it('lets output_text.done and function_call_arguments.done correct the deltas', () => {
    const result = accumulate([
      { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'Hel' },
      { type: 'response.output_text.done', output_index: 0, content_index: 0, text: 'Hello!' },
      { type: 'response.function_call_arguments.delta', output_index: 1, delta: '{"q"' },
      { type: 'response.function_call_arguments.done', output_index: 1, arguments: '{"q":1}' },
    ]);
    expect(result.text).toBe('Hello!');
    expect(result.toolCalls).toEqual([{ id: null, name: '', arguments: '{"q":1}' }]);
  });

  it('prefers the full response of the terminal event', () => {
    const result = accumulate([
      { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'draft' },
      {
        type: 'response.incomplete',
        response: {
          model: 'gpt-4.1',
          status: 'incomplete',
          incomplete_details: { reason: 'max_output_tokens' },
          output: [message('final text')],
          usage: { input_tokens: 1, output_tokens: 2 },
        },
      },
    ]);
    expect(result).toMatchObject({
      servedModel: 'gpt-4.1',
      text: 'final text',
      finishReason: 'max_output_tokens',
      usage: { inputTokens: 1, outputTokens: 2 },
    });
  });

  it('records response.failed with its error and usage', () => {
    const result = accumulate([
      { type: 'response.created', response: { model: 'gpt-4.1', status: 'in_progress' } },
      {
        type: 'response.failed',
        response: {
          model: 'gpt-4.1',
          status: 'failed',
          error: { code: 'server_error', message: 'The model failed to generate a response.' },
          output: [],
          usage: { input_tokens: 9, output_tokens: 0 },
        },
      },
    ]);
    expect(result).toMatchObject({
      finishReason: 'failed',
      error: { type: 'server_error', message: 'The model failed to generate a response.' },
      usage: { inputTokens: 9, outputTokens: 0 },
    });
  });

  it('records a stream error event in both known shapes', () => {
    expect(
      accumulate([{ type: 'error', code: 'rate_limit_exceeded', message: 'Slow down', param: null, sequence_number: 3 }])
        .error,
    ).toEqual({ type: 'rate_limit_exceeded', message: 'Slow down' });
    expect(
      accumulate([{ type: 'error', error: { type: 'invalid_request_error', code: 'x', message: 'Bad' } }]).error,
    ).toEqual({ type: 'invalid_request_error', message: 'Bad' });
  });

  it('falls back to the SSE event name when the data has no type', () => {
    const accumulator = createResponsesAccumulator();
    accumulator.push({ event: 'response.output_text.delta', data: '{"output_index":0,"delta":"x"}', id: null });
    expect(accumulator.result().text).toBe('x');
  });

  it('does not count [DONE] sent by compatible servers', () => {
    expect(accumulate(['[DONE]']).chunkCount).toBe(0);
  });
});
