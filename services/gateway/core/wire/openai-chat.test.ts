import { createChatCompletionAccumulator, parseChatCompletion } from './openai-chat';
import type { ParsedResponse, SseEvent } from './types';

const data = (payload: unknown): SseEvent => ({
  event: null,
  data: typeof payload === 'string' ? payload : JSON.stringify(payload),
  id: null,
});

function accumulate(payloads: unknown[]): ParsedResponse {
  const accumulator = createChatCompletionAccumulator();
  for (const payload of payloads) accumulator.push(data(payload));
  return accumulator.result();
}

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-x',
  object: 'chat.completion.chunk',
  model: 'gpt-test',
  choices,
  ...extra,
});

describe('parseChatCompletion', () => {
  it('concatenates text across choices in index order and takes the first finish reason', () => {
    const parsed = parseChatCompletion({
      model: 'gpt-test',
      choices: [
        { index: 1, message: { role: 'assistant', content: ' second' }, finish_reason: 'length' },
        { index: 0, message: { role: 'assistant', content: 'first' }, finish_reason: 'stop' },
      ],
    });
    expect(parsed.text).toBe('first second');
    expect(parsed.finishReason).toBe('stop');
    expect(parsed.usage).toBeNull();
  });

  it('reads the legacy function_call', () => {
    const parsed = parseChatCompletion({
      choices: [
        { index: 0, message: { content: null, function_call: { name: 'f', arguments: '{}' } }, finish_reason: 'function_call' },
      ],
    });
    expect(parsed.toolCalls).toEqual([{ id: null, name: 'f', arguments: '{}' }]);
    expect(parsed.finishReason).toBe('function_call');
  });

  it('accepts text parts as content', () => {
    const parsed = parseChatCompletion({
      choices: [{ message: { content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] } }],
    });
    expect(parsed.text).toBe('ab');
  });

  it('reads an error body', () => {
    const parsed = parseChatCompletion({ error: { message: 'bad', type: null, param: null, code: 'invalid_api_key' } });
    expect(parsed.error).toEqual({ type: 'invalid_api_key', message: 'bad' });
  });

  it('tolerates garbage', () => {
    expect(parseChatCompletion({ choices: [null, 3, { message: 'x' }], usage: 'lots' }).text).toBe('');
    expect(parseChatCompletion([]).servedModel).toBeNull();
  });
});

describe('createChatCompletionAccumulator', () => {
  it('does not count [DONE] and counts unparseable events', () => {
    const result = accumulate([chunk([{ index: 0, delta: { content: 'a' } }]), 'garbage', '[DONE]']);
    expect(result.chunkCount).toBe(2);
    expect(result.text).toBe('a');
  });

  it("skips Azure's empty model on the content-filter chunk", () => {
    const result = accumulate([
      { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [] },
      chunk([{ index: 0, delta: { content: 'hi' } }], { model: 'gpt-4o-2024-11-20' }),
    ]);
    expect(result.servedModel).toBe('gpt-4o-2024-11-20');
    expect(result.usage).toBeNull();
  });

  it('keeps the usage chunk even though later chunks carry "usage": null', () => {
    const result = accumulate([
      chunk([], { usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], { usage: null }),
    ]);
    expect(result.usage).toMatchObject({ inputTokens: 3, outputTokens: 4 });
  });

  it('keeps n > 1 choices apart when their chunks interleave', () => {
    const result = accumulate([
      chunk([{ index: 1, delta: { content: 'B1' } }]),
      chunk([{ index: 0, delta: { content: 'A1' } }]),
      chunk([{ index: 1, delta: { content: 'B2' }, finish_reason: 'length' }]),
      chunk([{ index: 0, delta: { content: 'A2' }, finish_reason: 'stop' }]),
    ]);
    expect(result.text).toBe('A1A2B1B2');
    expect(result.finishReason).toBe('stop');
  });

  it('merges tool call deltas by index, tolerating a repeated name', () => {
    const result = accumulate([
      chunk([{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '' } }] } }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x"' } }] } }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: ':1}' } }] } }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: '{}' } }] } }]),
    ]);
    expect(result.toolCalls).toEqual([
      { id: 'call_a', name: 'f', arguments: '{"x":1}' },
      { id: 'call_b', name: 'g', arguments: '{}' },
    ]);
  });

  it('handles servers that omit the tool call index', () => {
    const result = accumulate([
      chunk([{ index: 0, delta: { tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{"a":' } }] } }]),
      chunk([{ index: 0, delta: { tool_calls: [{ id: 'c1', function: { arguments: '1}' } }] } }]),
      chunk([{ index: 0, delta: { tool_calls: [{ id: 'c2', function: { name: 'g', arguments: '{}' } }] } }]),
    ]);
    expect(result.toolCalls).toEqual([
      { id: 'c1', name: 'f', arguments: '{"a":1}' },
      { id: 'c2', name: 'g', arguments: '{}' },
    ]);
  });

  it('merges a streamed legacy function_call', () => {
    const result = accumulate([
      chunk([{ index: 0, delta: { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '' } } }]),
      chunk([{ index: 0, delta: { function_call: { arguments: '{"q":' } } }]),
      chunk([{ index: 0, delta: { function_call: { arguments: '"x"}' } } }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'function_call' }]),
    ]);
    expect(result.toolCalls).toEqual([{ id: null, name: 'lookup', arguments: '{"q":"x"}' }]);
    expect(result.finishReason).toBe('function_call');
  });

  it('records an in-stream error event', () => {
    const result = accumulate([
      chunk([{ index: 0, delta: { content: 'partial' } }]),
      { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } },
    ]);
    expect(result.error).toEqual({
      type: 'server_error',
      message: 'The server had an error while processing your request.',
    });
    expect(result.text).toBe('partial');
    expect(result.chunkCount).toBe(2);
  });

  it('returns independent results', () => {
    const accumulator = createChatCompletionAccumulator();
    accumulator.push(data(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '' } }] } }])));
    const first = accumulator.result();
    const firstCall = first.toolCalls[0];
    if (firstCall !== undefined) firstCall.arguments = 'mutated';
    expect(accumulator.result().toolCalls[0]?.arguments).toBe('');
  });
});
