import { loadAllFixtures, type Fixture } from '../../../../test/fixtures/load-fixtures';
import { splitAtRandom } from '../../../../test/fixtures/split-chunks';
import { classifyEndpoint, createStreamAccumulator, createSseParser, parseErrorBody, parseResponseBody } from './index';
import type { ParsedResponse, WireFormat } from './types';

const fixtures = loadAllFixtures();
const wireOf = (fixture: Fixture): WireFormat => fixture.provider;

function accumulate(fixture: Fixture, pieces: readonly Buffer[]): ParsedResponse {
  const parser = createSseParser();
  const accumulator = createStreamAccumulator(fixture.meta.endpoint, wireOf(fixture));
  for (const piece of pieces) for (const event of parser.push(piece)) accumulator.push(event);
  for (const event of parser.end()) accumulator.push(event);
  return accumulator.result();
}

describe('golden fixtures', () => {
  it('cover the required cases', () => {
    const names = fixtures.map((f) => `${f.provider}/${f.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'openai/chat-basic',
        'openai/chat-stream-usage',
        'openai/chat-stream-no-usage',
        'openai/chat-stream-tool-calls',
        'openai/chat-tool-call',
        'openai/chat-reasoning-cached',
        'openai/completions-basic',
        'openai/completions-stream',
        'openai/embeddings-basic',
        'openai/responses-reasoning',
        'openai/responses-stream',
        'openai/responses-stream-function-call',
        'openai/error-401-invalid-api-key',
        'openai/error-429-rate-limit',
        'openai/error-400-invalid-request',
        'anthropic/messages-basic',
        'anthropic/messages-stream',
        'anthropic/messages-stream-tool-use',
        'anthropic/messages-cache',
        'anthropic/messages-cache-1h',
        'openai/chat-audio',
        'openai/chat-stream-flex',
        'anthropic/error-529-overloaded',
        'anthropic/error-400-invalid-request',
        'anthropic/messages-stream-error',
      ]),
    );
  });

  describe.each(fixtures.map((f) => [`${f.provider}/${f.name}`, f] as const))('%s', (_label, fixture) => {
    it('declares the endpoint its path classifies to', () => {
      expect(classifyEndpoint(wireOf(fixture), fixture.meta.method, fixture.meta.path)).toBe(fixture.meta.endpoint);
    });

    if (!fixture.streamed) {
      it('parses the JSON body to the expected result', () => {
        const json = JSON.parse(fixture.response.toString('utf8')) as unknown;
        expect(parseResponseBody(fixture.meta.endpoint, wireOf(fixture), json)).toEqual(fixture.meta.expected);
      });

      if (fixture.meta.status >= 400) {
        it('yields the expected error from parseErrorBody', () => {
          const json = JSON.parse(fixture.response.toString('utf8')) as unknown;
          expect(parseErrorBody(wireOf(fixture), json)).toEqual(fixture.meta.expected.error);
        });
      }
      return;
    }

    it('accumulates the SSE stream in one piece to the expected result', () => {
      expect(accumulate(fixture, [fixture.response])).toEqual(fixture.meta.expected);
    });

    it.each([11, 23, 37, 59, 71])('accumulates the same result with random splits (seed %i)', (seed) => {
      expect(accumulate(fixture, splitAtRandom(fixture.response, seed, 1 + (seed % 29)))).toEqual(
        fixture.meta.expected,
      );
    });

    it('is framed with blank-line separated events ending in a blank line', () => {
      expect(fixture.response.toString('utf8').endsWith('\n\n')).toBe(true);
    });
  });
});

describe('parseResponseBody on the other endpoint', () => {
  it('returns an empty result for non-objects', () => {
    expect(parseResponseBody('other', 'openai', undefined)).toEqual({
      servedModel: null,
      usage: null,
      finishReason: null,
      text: '',
      toolCalls: [],
      error: null,
      chunkCount: 0,
    });
  });

  it('still picks up model, usage and error', () => {
    const parsed = parseResponseBody('other', 'openai', {
      model: 'whisper-1',
      usage: { prompt_tokens: 5, completion_tokens: 0 },
    });
    expect(parsed.servedModel).toBe('whisper-1');
    expect(parsed.usage).toEqual({
      inputTokens: 5,
      outputTokens: 0,
      cachedInputTokens: null,
      cacheWriteTokens: null,
      reasoningTokens: null,
    });
    expect(parsed.text).toBe('');

    const counted = parseResponseBody('other', 'anthropic', { input_tokens: 12 });
    expect(counted.usage).toBeNull();

    const error = parseResponseBody('other', 'anthropic', {
      type: 'error',
      error: { type: 'not_found_error', message: 'Not found' },
    });
    expect(error.error).toEqual({ type: 'not_found_error', message: 'Not found' });
  });

  it('reads Responses-style usage for openai and Anthropic-style usage for anthropic', () => {
    expect(parseResponseBody('other', 'openai', { usage: { input_tokens: 3, output_tokens: 4 } }).usage).toMatchObject({
      inputTokens: 3,
      outputTokens: 4,
    });
    expect(
      parseResponseBody('other', 'anthropic', {
        usage: { input_tokens: 3, cache_read_input_tokens: 10, output_tokens: 4 },
      }).usage,
    ).toMatchObject({ inputTokens: 13, cachedInputTokens: 10, outputTokens: 4 });
  });
});

describe('createStreamAccumulator on the other endpoint', () => {
  it('counts chunks and picks up model, usage and error from wrapped events', () => {
    const accumulator = createStreamAccumulator('other', 'openai');
    accumulator.push({ event: null, data: '{"response":{"model":"m-1","usage":null}}', id: null });
    accumulator.push({ event: null, data: 'not json', id: null });
    accumulator.push({ event: null, data: '{"usage":{"prompt_tokens":2,"completion_tokens":3}}', id: null });
    accumulator.push({ event: null, data: '{"error":{"message":"boom","type":"server_error"}}', id: null });
    accumulator.push({ event: null, data: '[DONE]', id: null });
    const result = accumulator.result();
    expect(result).toMatchObject({
      servedModel: 'm-1',
      usage: { inputTokens: 2, outputTokens: 3 },
      error: { type: 'server_error', message: 'boom' },
      chunkCount: 4,
      text: '',
    });
  });
});
