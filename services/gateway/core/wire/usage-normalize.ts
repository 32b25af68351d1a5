/**
 * Converts each provider's usage object into the normalised TokenUsage
 * (see types.ts for the meaning of each field). Every function returns null
 * when the object carries no token count at all, so "not reported" is never
 * confused with "zero".
 *
 * A count is taken only when it is a whole number from 0 to 2^53 − 1. Anything
 * else an upstream sends (negative, fractional, larger, a string) is recorded
 * as unknown (null) and described in `rejected`, so one bad number neither
 * fails the event's encoding (Avro longs) nor poisons a metric or a cost.
 */
import { isObject, type JsonObject } from './json-value';
import type { TokenUsage, WireFormat } from './types';

/*
 * Reading one usage object is synchronous, so the reasons its counts were
 * refused are collected here rather than in an object per call (this runs
 * for every recorded call).
 */
let problems: string[] | null = null;

/** `count` results that are not counts. */
const NOT_REPORTED = -1;
const REFUSED = -2;

/** `usage[key]`, or `usage[parent][key]`: the count, NOT_REPORTED, or REFUSED (its reason noted). */
function count(usage: JsonObject, key: string, parent?: string): number {
  let holder: unknown = usage;
  if (parent !== undefined) {
    holder = usage[parent];
    if (!isObject(holder)) return NOT_REPORTED;
  }
  const value = (holder as JsonObject)[key];
  if (value === undefined || value === null) return NOT_REPORTED;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  (problems ??= []).push(`${parent === undefined ? '' : `${parent}.`}${key}: ${describeBadCount(value)}`);
  return REFUSED;
}

/** A count for a field that is null when unknown. */
const orNull = (n: number): number | null => (n >= 0 ? n : null);
/** A count for a breakdown field, absent (undefined) when not reported and null when refused. */
const breakdown = (n: number): number | null | undefined => (n >= 0 ? n : n === REFUSED ? null : undefined);

/** Ends the reading of one usage object: its refusals, and null when it reported nothing at all. */
function finish(usage: TokenUsage): TokenUsage | null {
  if (problems !== null) {
    usage.rejected = problems.join('; ');
    problems = null;
  }
  return hasAnyCount(usage) ? usage : null;
}

/** Why a count was refused: the kinds a metric counts, and how each reads in `rejected`. */
const REJECTION_KINDS = {
  not_a_number: 'is not a number',
  negative: 'is negative',
  too_large: 'is larger than 2^53',
  fractional: 'is not a whole number',
} as const;
export type RejectionKind = keyof typeof REJECTION_KINDS;

function describeBadCount(value: unknown): string {
  if (typeof value !== 'number') return `${JSON.stringify(value)?.slice(0, 40) ?? typeof value} ${REJECTION_KINDS.not_a_number}`;
  if (value < 0) return `${value} ${REJECTION_KINDS.negative}`;
  if (!Number.isFinite(value) || value > Number.MAX_SAFE_INTEGER) return `${value} ${REJECTION_KINDS.too_large}`;
  return `${value} ${REJECTION_KINDS.fractional}`;
}

/** The kinds of refusal in a `rejected` text (for metrics), each once. */
export function rejectionKinds(rejected: string): RejectionKind[] {
  return (Object.keys(REJECTION_KINDS) as RejectionKind[]).filter((kind) => rejected.includes(REJECTION_KINDS[kind]));
}

/** Chat Completions / legacy Completions: `prompt_tokens`, `completion_tokens` and their details. */
export function fromOpenAiChatUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  problems = null;
  return finish(openAiUsage(usage, 'prompt_tokens', 'completion_tokens', 'prompt_tokens_details', 'completion_tokens_details'));
}

/** Responses API (and the Images API): `input_tokens`, `output_tokens` and their `_details`. */
export function fromOpenAiResponsesUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  problems = null;
  return finish(openAiUsage(usage, 'input_tokens', 'output_tokens', 'input_tokens_details', 'output_tokens_details'));
}

/** Both OpenAI dialects; every TokenUsage has the same fields (breakdowns undefined when not reported). */
function openAiUsage(usage: JsonObject, input: string, output: string, inputDetails: string, outputDetails: string): TokenUsage {
  return {
    inputTokens: orNull(count(usage, input)),
    outputTokens: orNull(count(usage, output)),
    cachedInputTokens: orNull(count(usage, 'cached_tokens', inputDetails)),
    cacheWriteTokens: null,
    reasoningTokens: orNull(count(usage, 'reasoning_tokens', outputDetails)),
    cacheWrite1hTokens: undefined,
    // Audio and image tokens are parts of the input and output counts.
    inputAudioTokens: breakdown(count(usage, 'audio_tokens', inputDetails)),
    inputImageTokens: breakdown(count(usage, 'image_tokens', inputDetails)),
    outputAudioTokens: breakdown(count(usage, 'audio_tokens', outputDetails)),
    outputImageTokens: breakdown(count(usage, 'image_tokens', outputDetails)),
    rejected: undefined,
  };
}

/**
 * Anthropic reports `input_tokens` net of caching; cache reads and writes are
 * separate counts. The normalised `inputTokens` is the whole prompt, so the
 * three are added up (and it is unknown when one of them was refused). The
 * `cache_creation` breakdown tells 1-hour writes from 5-minute ones.
 */
export function fromAnthropicUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  problems = null;
  const uncached = count(usage, 'input_tokens');
  const cacheRead = count(usage, 'cache_read_input_tokens');
  const cacheWrite = count(usage, 'cache_creation_input_tokens');
  let total: number | null = null;
  if (uncached >= 0 && cacheRead !== REFUSED && cacheWrite !== REFUSED) {
    total = uncached + Math.max(0, cacheRead) + Math.max(0, cacheWrite);
    if (!Number.isSafeInteger(total)) {
      (problems ??= []).push(`input_tokens: the prompt's total ${total} ${REJECTION_KINDS.too_large}`);
      total = null;
    }
  }
  return finish({
    inputTokens: total,
    outputTokens: orNull(count(usage, 'output_tokens')),
    cachedInputTokens: orNull(cacheRead),
    cacheWriteTokens: orNull(cacheWrite),
    reasoningTokens: null,
    cacheWrite1hTokens: breakdown(count(usage, 'ephemeral_1h_input_tokens', 'cache_creation')),
    inputAudioTokens: undefined,
    inputImageTokens: undefined,
    outputAudioTokens: undefined,
    outputImageTokens: undefined,
    rejected: undefined,
  });
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

/** Embeddings report only the prompt; their output is zero tokens by definition. */
export function fromOpenAiEmbeddingsUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  problems = null;
  const input = count(usage, 'prompt_tokens');
  if (input === NOT_REPORTED) return null;
  return finish({
    inputTokens: orNull(input),
    outputTokens: input >= 0 ? 0 : null,
    cachedInputTokens: null,
    cacheWriteTokens: null,
    reasoningTokens: null,
    cacheWrite1hTokens: undefined,
    inputAudioTokens: undefined,
    inputImageTokens: undefined,
    outputAudioTokens: undefined,
    outputImageTokens: undefined,
    rejected: undefined,
  });
}

function hasAnyCount(usage: TokenUsage): boolean {
  return (
    usage.inputTokens !== null ||
    usage.outputTokens !== null ||
    usage.cachedInputTokens !== null ||
    usage.cacheWriteTokens !== null ||
    usage.reasoningTokens !== null ||
    usage.rejected != null
  );
}
