import { createMessagesAccumulator, parseMessage } from './anthropic-messages';
import type { ParsedResponse } from './types';

function accumulate(events: Array<Record<string, unknown> | string>): ParsedResponse {
  const accumulator = createMessagesAccumulator();
  for (const event of events) {
    const data = typeof event === 'string' ? event : JSON.stringify(event);
    const type = typeof event === 'string' ? null : String(event.type);
    accumulator.push({ event: type, data, id: null });
  }
  return accumulator.result();
}

const start = (usage: Record<string, unknown>) => ({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [], usage },
});

describe('parseMessage', () => {
  it('keeps text and tool_use, ignores thinking, and normalises cached usage', () => {
    const parsed = parseMessage({
      id: 'msg_1',
      type: 'message',
      model: 'claude-x',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: [1, 2] } },
        { type: 'tool_use', id: 'toolu_2', name: 'g' },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 7 },
    });
    expect(parsed).toEqual({
      servedModel: 'claude-x',
      usage: { inputTokens: 125, outputTokens: 7, cachedInputTokens: 100, cacheWriteTokens: 20, reasoningTokens: null },
      finishReason: 'tool_use',
      text: 'Checking.',
      toolCalls: [
        { id: 'toolu_1', name: 'f', arguments: '{"a":[1,2]}' },
        { id: 'toolu_2', name: 'g', arguments: '{}' },
      ],
      error: null,
      chunkCount: 0,
    });
  });

  it('reads an error body', () => {
    expect(
      parseMessage({ type: 'error', error: { type: 'rate_limit_error', message: 'Slow down' }, request_id: 'req_1' }),
    ).toMatchObject({ error: { type: 'rate_limit_error', message: 'Slow down' }, usage: null, servedModel: null });
  });
});

describe('createMessagesAccumulator', () => {
  it('takes the latest cumulative output count and input-side usage from message_delta', () => {
    const result = accumulate([
      start({ input_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 1 }),
      { type: 'message_delta', delta: { stop_reason: null }, usage: { output_tokens: 5 } },
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { input_tokens: 12, cache_read_input_tokens: 30, output_tokens: 9 },
      },
      { type: 'message_stop' },
    ]);
    expect(result.usage).toEqual({
      inputTokens: 42,
      outputTokens: 9,
      cachedInputTokens: 30,
      cacheWriteTokens: 0,
      reasoningTokens: null,
    });
    expect(result.finishReason).toBe('end_turn');
  });

  it('ignores null usage fields in message_delta', () => {
    const result = accumulate([
      start({ input_tokens: 10, output_tokens: 1 }),
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: null, output_tokens: 4 } },
    ]);
    expect(result.usage).toMatchObject({ inputTokens: 10, outputTokens: 4 });
  });

  it('orders blocks by index and ignores thinking deltas', () => {
    const result = accumulate([
      start({ input_tokens: 1, output_tokens: 1 }),
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'secret' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'A' } },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 't1', name: 'noargs', input: {} } },
      { type: 'content_block_stop', index: 2 },
      { type: 'content_block_start', index: 3, content_block: { type: 'text', text: 'pre' } },
      { type: 'content_block_delta', index: 3, delta: { type: 'text_delta', text: '-B' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'a' } },
    ]);
    expect(result.text).toBe('Aapre-B');
    expect(result.toolCalls).toEqual([{ id: 't1', name: 'noargs', arguments: '{}' }]);
  });

  it('ignores deltas for blocks it never saw start', () => {
    const result = accumulate([{ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'orphan' } }]);
    expect(result.text).toBe('');
    expect(result.chunkCount).toBe(1);
  });

  it('records an error event and what was streamed before it', () => {
    const result = accumulate([
      start({ input_tokens: 3, output_tokens: 1 }),
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'partial' } },
      { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    ]);
    expect(result).toMatchObject({
      text: 'partial',
      error: { type: 'overloaded_error', message: 'Overloaded' },
      finishReason: null,
      usage: { inputTokens: 3, outputTokens: 1 },
      chunkCount: 4,
    });
  });

  it('reports no usage when none was streamed, and does not count [DONE]', () => {
    const result = accumulate(['{"type": "ping"}', '[DONE]']);
    expect(result.usage).toBeNull();
    expect(result.chunkCount).toBe(1);
  });
});
