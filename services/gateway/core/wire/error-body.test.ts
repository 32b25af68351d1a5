import { parseAnthropicError, parseErrorBody, parseOpenAiError } from './error-body';

describe('parseOpenAiError', () => {
  it('prefers type over code', () => {
    expect(
      parseOpenAiError({ error: { message: 'm', type: 'invalid_request_error', param: 'x', code: 'invalid_type' } }),
    ).toEqual({ type: 'invalid_request_error', message: 'm' });
  });

  it('falls back to code (Azure style, numeric codes)', () => {
    expect(parseOpenAiError({ error: { code: '429', message: 'Requests have exceeded the limit.' } })).toEqual({
      type: '429',
      message: 'Requests have exceeded the limit.',
    });
    expect(parseOpenAiError({ error: { code: 400, message: 'bad' } })).toEqual({ type: '400', message: 'bad' });
    expect(parseOpenAiError({ error: { type: '', code: null, message: null } })).toEqual({ type: null, message: null });
  });

  it('reads vLLM and Ollama style errors', () => {
    expect(
      parseOpenAiError({ object: 'error', message: 'model not found', type: 'NotFoundError', param: null, code: 404 }),
    ).toEqual({ type: 'NotFoundError', message: 'model not found' });
    expect(parseOpenAiError({ error: 'model "llama9" not found' })).toEqual({
      type: null,
      message: 'model "llama9" not found',
    });
  });

  it('returns null for success bodies', () => {
    expect(parseOpenAiError({ id: 'chatcmpl-1', choices: [] })).toBeNull();
    expect(parseOpenAiError({ id: 'resp_1', error: null })).toBeNull();
    expect(parseOpenAiError(undefined)).toBeNull();
    expect(parseOpenAiError('error')).toBeNull();
  });
});

describe('parseAnthropicError', () => {
  it('reads the error envelope', () => {
    expect(
      parseAnthropicError({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'r' }),
    ).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    expect(parseAnthropicError({ type: 'error' })).toEqual({ type: null, message: null });
  });

  it('returns null for messages', () => {
    expect(parseAnthropicError({ type: 'message', content: [] })).toBeNull();
  });
});

describe('parseErrorBody', () => {
  it('tries the wire format first and the other one second', () => {
    const openAiShaped = { error: { message: 'm', type: 't' } };
    const anthropicShaped = { type: 'error', error: { type: 'api_error', message: 'boom' } };
    expect(parseErrorBody('openai', openAiShaped)).toEqual({ type: 't', message: 'm' });
    expect(parseErrorBody('anthropic', openAiShaped)).toEqual({ type: 't', message: 'm' });
    expect(parseErrorBody('anthropic', anthropicShaped)).toEqual({ type: 'api_error', message: 'boom' });
    // The Anthropic envelope also has an `error` object, so the OpenAI reading applies first there.
    expect(parseErrorBody('openai', anthropicShaped)).toEqual({ type: 'api_error', message: 'boom' });
    expect(parseErrorBody('openai', { ok: true })).toBeNull();
  });
});
