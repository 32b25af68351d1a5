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

/**
 * A processing tier as the answer names it (`default`, `flex`, `priority`,
 * `standard`, `batch`…), lower-cased; null when absent or not a short name
 * (an upstream's odd value must not grow every event or select a price).
 */
export function serviceTierOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 32) return null;
  const tier = value.toLowerCase();
  return /^[a-z0-9][a-z0-9_.-]*$/.test(tier) ? tier : null;
}
