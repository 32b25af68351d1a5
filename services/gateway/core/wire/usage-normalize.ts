/**
 * Converts each provider's usage object into the normalised TokenUsage
 * (see types.ts for the meaning of each field). Every function returns null
 * when the object carries no token count at all, so "not reported" is never
 * confused with "zero".
 */
import { isObject, numberOrNull, type JsonObject } from './json-value';
import type { TokenUsage, WireFormat } from './types';

/** Chat Completions / legacy Completions: `prompt_tokens`, `completion_tokens` and their details. */
export function fromOpenAiChatUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  const result: TokenUsage = {
    inputTokens: numberOrNull(usage.prompt_tokens),
    outputTokens: numberOrNull(usage.completion_tokens),
    cachedInputTokens: nestedNumber(usage, 'prompt_tokens_details', 'cached_tokens'),
    cacheWriteTokens: null,
    reasoningTokens: nestedNumber(usage, 'completion_tokens_details', 'reasoning_tokens'),
  };
  return hasAnyCount(result) ? result : null;
}

/** Responses API: `input_tokens`, `output_tokens` and their `_details`. */
export function fromOpenAiResponsesUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  const result: TokenUsage = {
    inputTokens: numberOrNull(usage.input_tokens),
    outputTokens: numberOrNull(usage.output_tokens),
    cachedInputTokens: nestedNumber(usage, 'input_tokens_details', 'cached_tokens'),
    cacheWriteTokens: null,
    reasoningTokens: nestedNumber(usage, 'output_tokens_details', 'reasoning_tokens'),
  };
  return hasAnyCount(result) ? result : null;
}

/**
 * Anthropic reports `input_tokens` net of caching; cache reads and writes are
 * separate counts. The normalised `inputTokens` is the whole prompt, so the
 * three are added up.
 */
export function fromAnthropicUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  const uncached = numberOrNull(usage.input_tokens);
  const cacheRead = numberOrNull(usage.cache_read_input_tokens);
  const cacheWrite = numberOrNull(usage.cache_creation_input_tokens);
  const result: TokenUsage = {
    inputTokens: uncached === null ? null : uncached + (cacheRead ?? 0) + (cacheWrite ?? 0),
    outputTokens: numberOrNull(usage.output_tokens),
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: null,
  };
  return hasAnyCount(result) ? result : null;
}

/**
 * For endpoints the gateway does not model: guesses the usage dialect from the
 * field names present.
 */
export function fromUnknownUsage(wire: WireFormat, usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  if ('prompt_tokens' in usage || 'completion_tokens' in usage) return fromOpenAiChatUsage(usage);
  return wire === 'anthropic' ? fromAnthropicUsage(usage) : fromOpenAiResponsesUsage(usage);
}

function nestedNumber(usage: JsonObject, detailsKey: string, key: string): number | null {
  const details = usage[detailsKey];
  return isObject(details) ? numberOrNull(details[key]) : null;
}

function hasAnyCount(usage: TokenUsage): boolean {
  return Object.values(usage).some((value) => value !== null);
}
