import type { CallObservation } from '../../services/gateway/core/event-builder';
import type { ParsedResponse, TokenUsage } from '../../services/gateway/core/wire/types';

/** What the proxy observes of one complete, successful call, for tests; override what a test is about. */
export const SAMPLE_STARTED_AT = 1_700_000_000_000;
export const SAMPLE_PROMPT = 'Say hello'; // 9 "tokens"

export function sampleResponse(partial: Partial<ParsedResponse> = {}): ParsedResponse {
  return {
    servedModel: 'gpt-4o-mini-2024-07-18',
    usage: null,
    finishReason: 'stop',
    text: 'Hello!',
    toolCalls: [],
    error: null,
    chunkCount: 0,
    ...partial,
  };
}

export function sampleUsage(partial: Partial<TokenUsage>): TokenUsage {
  return {
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    cacheWriteTokens: null,
    reasoningTokens: null,
    ...partial,
  };
}

export function sampleObservation(partial: Partial<CallObservation> = {}): CallObservation {
  return {
    eventId: '01890a5d-ac96-774b-bcce-b302099a8057',
    instance: 'gw-1',
    upstream: 'openai',
    provider: 'openai',
    wireFormat: 'openai',
    endpoint: 'chat.completions',
    method: 'POST',
    apiPath: '/v1/chat/completions',
    deployment: null,
    request: { model: 'gpt-4o-mini', stream: false, includeUsage: false, promptText: SAMPLE_PROMPT },
    requestBytes: 120,
    response: sampleResponse({ usage: sampleUsage({ inputTokens: 11, outputTokens: 3, cachedInputTokens: 0 }) }),
    responseBytes: 300,
    status: 200,
    streamed: false,
    failure: null,
    cancelled: false,
    tags: { user: 'alice', app: 'search', session: null, traceId: null, tags: { team: 'core' }, sample: null },
    captured: { requestBody: '{"model":"gpt-4o-mini"}', responseBody: '{"id":"x"}', truncated: false },
    timings: { startedAt: SAMPLE_STARTED_AT, startMono: 1000, firstByteMono: 1200, endMono: 1500 },
    ...partial,
  };
}

