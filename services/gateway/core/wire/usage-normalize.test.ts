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
  });

  it('reads audio and image tokens from the details, only where reported', () => {
    expect(
      fromOpenAiChatUsage({
        prompt_tokens: 71,
        completion_tokens: 142,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 56, image_tokens: 9 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 118 },
      }),
    ).toEqual({
      inputTokens: 71,
      outputTokens: 142,
      cachedInputTokens: 0,
      cacheWriteTokens: null,
      reasoningTokens: 0,
      inputAudioTokens: 56,
      inputImageTokens: 9,
      outputAudioTokens: 118,
    });
  });

  it.each([
    [-3, 'prompt_tokens: -3 is negative'],
    [2.5, 'prompt_tokens: 2.5 is not a whole number'],
    [2 ** 53, 'prompt_tokens: 9007199254740992 is larger than 2^53'],
    [Number.POSITIVE_INFINITY, 'prompt_tokens: Infinity is larger than 2^53'], // what JSON.parse makes of 1e400
    ['3', 'prompt_tokens: "3" is not a number'],
  ])('records a bad count (%p) as unknown, with the reason, and keeps the valid ones', (bad, reason) => {
    expect(fromOpenAiChatUsage({ prompt_tokens: bad, completion_tokens: 4 })).toEqual({
      inputTokens: null,
      outputTokens: 4,
      cachedInputTokens: null,
      cacheWriteTokens: null,
      reasoningTokens: null,
      rejected: reason,
    });
  });

  it('keeps every reason when several counts are bad, nested ones by their path', () => {
    const usage = fromOpenAiChatUsage({ prompt_tokens: -1, completion_tokens: 0.5, prompt_tokens_details: { cached_tokens: -2, audio_tokens: -4 } });
    expect(usage).toMatchObject({ inputTokens: null, outputTokens: null, cachedInputTokens: null, inputAudioTokens: null });
    expect(usage?.rejected).toBe(
      'prompt_tokens: -1 is negative; completion_tokens: 0.5 is not a whole number; prompt_tokens_details.cached_tokens: -2 is negative; prompt_tokens_details.audio_tokens: -4 is negative',
    );
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

  it('reads image tokens as the Images API reports them (gpt-image)', () => {
    expect(
      fromOpenAiResponsesUsage({ input_tokens: 50, input_tokens_details: { text_tokens: 10, image_tokens: 40 }, output_tokens: 4160, total_tokens: 4210 }),
    ).toEqual({ inputTokens: 50, outputTokens: 4160, cachedInputTokens: null, cacheWriteTokens: null, reasoningTokens: null, inputImageTokens: 40 });
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

  it('reads the 1-hour part of the cache writes from cache_creation', () => {
    expect(
      fromAnthropicUsage({
        input_tokens: 21,
        cache_creation_input_tokens: 5400,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 1200, ephemeral_1h_input_tokens: 4200 },
        output_tokens: 38,
      }),
    ).toEqual({ inputTokens: 5421, outputTokens: 38, cachedInputTokens: 0, cacheWriteTokens: 5400, reasoningTokens: null, cacheWrite1hTokens: 4200 });
  });

  it('makes the prompt total unknown when one of its parts is a bad count', () => {
    expect(fromAnthropicUsage({ input_tokens: 3, cache_read_input_tokens: -10, output_tokens: 5 })).toEqual({
      inputTokens: null,
      outputTokens: 5,
      cachedInputTokens: null,
      cacheWriteTokens: null,
      reasoningTokens: null,
      rejected: 'cache_read_input_tokens: -10 is negative',
    });
    expect(fromAnthropicUsage({ input_tokens: 2 ** 52, cache_read_input_tokens: 2 ** 52, output_tokens: 5 })).toMatchObject({
      inputTokens: null,
      rejected: "input_tokens: the prompt's total 9007199254740992 is larger than 2^53",
    });
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
