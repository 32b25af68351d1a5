import { fromAnthropicUsage, fromOpenAiChatUsage, fromOpenAiResponsesUsage, fromUnknownUsage } from './usage-normalize';

describe('fromOpenAiChatUsage', () => {
  it('reads counts and details', () => {
    expect(
      fromOpenAiChatUsage({
        prompt_tokens: 100,
        completion_tokens: 50,
        total_tokens: 150,
        prompt_tokens_details: { cached_tokens: 64 },
        completion_tokens_details: { reasoning_tokens: 32 },
      }),
    ).toEqual({ inputTokens: 100, outputTokens: 50, cachedInputTokens: 64, cacheWriteTokens: null, reasoningTokens: 32 });
  });

  it('leaves unreported details null rather than zero', () => {
    expect(fromOpenAiChatUsage({ prompt_tokens: 1, completion_tokens: 2 })).toEqual({
      inputTokens: 1,
      outputTokens: 2,
      cachedInputTokens: null,
      cacheWriteTokens: null,
      reasoningTokens: null,
    });
  });

  it('returns null when nothing is reported', () => {
    expect(fromOpenAiChatUsage(null)).toBeNull();
    expect(fromOpenAiChatUsage({})).toBeNull();
    expect(fromOpenAiChatUsage({ total_tokens: 3 })).toBeNull();
    expect(fromOpenAiChatUsage({ prompt_tokens: '3' })).toBeNull();
  });
});

describe('fromOpenAiResponsesUsage', () => {
  it('reads counts and details', () => {
    expect(
      fromOpenAiResponsesUsage({
        input_tokens: 7,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 9,
        output_tokens_details: { reasoning_tokens: 4 },
      }),
    ).toEqual({ inputTokens: 7, outputTokens: 9, cachedInputTokens: 0, cacheWriteTokens: null, reasoningTokens: 4 });
  });
});

describe('fromAnthropicUsage', () => {
  it('adds cache reads and writes to the input', () => {
    expect(
      fromAnthropicUsage({ input_tokens: 3, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 5 }),
    ).toEqual({ inputTokens: 1203, outputTokens: 5, cachedInputTokens: 1000, cacheWriteTokens: 200, reasoningTokens: null });
  });

  it('treats missing cache fields as not reported', () => {
    expect(fromAnthropicUsage({ input_tokens: 3, output_tokens: 5 })).toEqual({
      inputTokens: 3,
      outputTokens: 5,
      cachedInputTokens: null,
      cacheWriteTokens: null,
      reasoningTokens: null,
    });
    expect(fromAnthropicUsage({ output_tokens: 5 })?.inputTokens).toBeNull();
    expect(fromAnthropicUsage({})).toBeNull();
  });
});

describe('fromUnknownUsage', () => {
  it('recognises the dialect by field names', () => {
    expect(fromUnknownUsage('anthropic', { prompt_tokens: 1, completion_tokens: 2 })?.inputTokens).toBe(1);
    expect(fromUnknownUsage('anthropic', { input_tokens: 1, cache_read_input_tokens: 2 })?.inputTokens).toBe(3);
    expect(fromUnknownUsage('openai', { input_tokens: 1, cache_read_input_tokens: 2 })?.inputTokens).toBe(1);
    expect(fromUnknownUsage('openai', 'n/a')).toBeNull();
  });
});
