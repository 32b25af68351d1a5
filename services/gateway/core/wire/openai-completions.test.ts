import { createCompletionAccumulator, parseCompletion } from './openai-completions';

describe('parseCompletion', () => {
  it('reads text, finish reason, usage and model', () => {
    const parsed = parseCompletion({
      id: 'cmpl-x',
      object: 'text_completion',
      model: 'gpt-3.5-turbo-instruct',
      choices: [{ text: 'Hello', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
    });
    expect(parsed).toEqual({
      servedModel: 'gpt-3.5-turbo-instruct',
      usage: { inputTokens: 2, outputTokens: 1, cachedInputTokens: null, cacheWriteTokens: null, reasoningTokens: null },
      finishReason: 'stop',
      text: 'Hello',
      toolCalls: [],
      error: null,
      chunkCount: 0,
    });
  });

  it('reads an error body', () => {
    expect(parseCompletion({ error: { message: 'nope', type: 'invalid_request_error' } }).error).toEqual({
      type: 'invalid_request_error',
      message: 'nope',
    });
  });
});

describe('createCompletionAccumulator', () => {
  it('keeps interleaved choices apart and skips [DONE]', () => {
    const accumulator = createCompletionAccumulator();
    const push = (payload: unknown) =>
      accumulator.push({ event: null, data: typeof payload === 'string' ? payload : JSON.stringify(payload), id: null });
    push({ choices: [{ text: 'b1', index: 1, finish_reason: null }], model: 'm' });
    push({ choices: [{ text: 'a1', index: 0, finish_reason: null }], model: 'm' });
    push({ choices: [{ text: 'a2', index: 0, finish_reason: 'length' }], model: 'm' });
    push({ choices: [{ text: 'b2', index: 1, finish_reason: 'stop' }], model: 'm' });
    push({ choices: [], model: 'm', usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } });
    push('[DONE]');
    expect(accumulator.result()).toMatchObject({
      servedModel: 'm',
      text: 'a1a2b1b2',
      finishReason: 'length',
      usage: { inputTokens: 5, outputTokens: 4 },
      chunkCount: 5,
    });
  });
});
