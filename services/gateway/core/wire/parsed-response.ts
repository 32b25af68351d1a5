import type { ParsedResponse } from './types';

/** The "nothing known" answer every parser starts from, so defaults live in one place. */
export function emptyParsedResponse(): ParsedResponse {
  return {
    servedModel: null,
    usage: null,
    finishReason: null,
    text: '',
    toolCalls: [],
    error: null,
    chunkCount: 0,
  };
}

/** The terminal `[DONE]` sentinel of OpenAI-format streams carries no payload and is not counted. */
export function isDoneSentinel(data: string): boolean {
  return data.trim() === '[DONE]';
}
