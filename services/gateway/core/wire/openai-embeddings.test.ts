import { createEmbeddingsAccumulator, parseEmbeddings } from './openai-embeddings';

describe('parseEmbeddings', () => {
  it('maps prompt_tokens to input and reports zero output', () => {
    const parsed = parseEmbeddings({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 5, total_tokens: 5 },
    });
    expect(parsed).toEqual({
      servedModel: 'text-embedding-3-small',
      usage: { inputTokens: 5, outputTokens: 0, cachedInputTokens: null, cacheWriteTokens: null, reasoningTokens: null },
      finishReason: null,
      text: '',
      toolCalls: [],
      error: null,
      chunkCount: 0,
    });
  });

  it('reports no usage when prompt_tokens is missing', () => {
    expect(parseEmbeddings({ data: [], usage: {} }).usage).toBeNull();
    expect(parseEmbeddings({ data: [] }).usage).toBeNull();
  });

  it('reads an error body', () => {
    expect(parseEmbeddings({ error: { message: 'too long', type: 'invalid_request_error' } }).error).toEqual({
      type: 'invalid_request_error',
      message: 'too long',
    });
  });
});

describe('createEmbeddingsAccumulator', () => {
  it('treats each event as a body and counts them', () => {
    const accumulator = createEmbeddingsAccumulator();
    accumulator.push({ event: null, data: '{"model":"e","usage":{"prompt_tokens":3}}', id: null });
    accumulator.push({ event: null, data: '[DONE]', id: null });
    expect(accumulator.result()).toMatchObject({ servedModel: 'e', usage: { inputTokens: 3, outputTokens: 0 }, chunkCount: 1 });
  });
});
