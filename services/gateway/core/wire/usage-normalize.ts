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

/** Collects the reasons counts were refused while one usage object is read. */
class CountReader {
  problems: string[] | null = null;

  constructor(private readonly usage: JsonObject) {}

  /** `usage[key]`, or `usage[parent][key]` when a parent is given; null when absent or refused. */
  count(key: string, parent?: string): number | null {
    let holder: unknown = this.usage;
    if (parent !== undefined) {
      holder = this.usage[parent];
      if (!isObject(holder)) return null;
    }
    const value = (holder as JsonObject)[key];
    if (value === undefined || value === null) return null;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    (this.problems ??= []).push(`${parent === undefined ? '' : `${parent}.`}${key}: ${describeBadCount(value)}`);
    return null;
  }

  /** True when `key` (under `parent`) was sent but refused. */
  refused(key: string, parent?: string): boolean {
    const name = `${parent === undefined ? '' : `${parent}.`}${key}: `;
    return this.problems?.some((p) => p.startsWith(name)) ?? false;
  }

  finish(usage: TokenUsage): TokenUsage | null {
    if (this.problems !== null) usage.rejected = this.problems.join('; ');
    return hasAnyCount(usage) ? usage : null;
  }
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

/** Sets the optional breakdown fields only when reported, so "not reported" stays absent. */
function setIfReported(usage: TokenUsage, key: keyof TokenUsage, value: number | null, refused: boolean): void {
  if (value !== null || refused) (usage as unknown as Record<string, unknown>)[key] = value;
}

/** Chat Completions / legacy Completions: `prompt_tokens`, `completion_tokens` and their details. */
export function fromOpenAiChatUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  const r = new CountReader(usage);
  const result: TokenUsage = {
    inputTokens: r.count('prompt_tokens'),
    outputTokens: r.count('completion_tokens'),
    cachedInputTokens: r.count('cached_tokens', 'prompt_tokens_details'),
    cacheWriteTokens: null,
    reasoningTokens: r.count('reasoning_tokens', 'completion_tokens_details'),
  };
  modality(r, result, 'prompt_tokens_details', 'completion_tokens_details');
  return r.finish(result);
}

/** Responses API (and the Images API): `input_tokens`, `output_tokens` and their `_details`. */
export function fromOpenAiResponsesUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  const r = new CountReader(usage);
  const result: TokenUsage = {
    inputTokens: r.count('input_tokens'),
    outputTokens: r.count('output_tokens'),
    cachedInputTokens: r.count('cached_tokens', 'input_tokens_details'),
    cacheWriteTokens: null,
    reasoningTokens: r.count('reasoning_tokens', 'output_tokens_details'),
  };
  modality(r, result, 'input_tokens_details', 'output_tokens_details');
  return r.finish(result);
}

/** Audio and image tokens, where the details report them (they are part of the input / output counts). */
function modality(r: CountReader, usage: TokenUsage, inputDetails: string, outputDetails: string): void {
  setIfReported(usage, 'inputAudioTokens', r.count('audio_tokens', inputDetails), r.refused('audio_tokens', inputDetails));
  setIfReported(usage, 'inputImageTokens', r.count('image_tokens', inputDetails), r.refused('image_tokens', inputDetails));
  setIfReported(usage, 'outputAudioTokens', r.count('audio_tokens', outputDetails), r.refused('audio_tokens', outputDetails));
  setIfReported(usage, 'outputImageTokens', r.count('image_tokens', outputDetails), r.refused('image_tokens', outputDetails));
}

/**
 * Anthropic reports `input_tokens` net of caching; cache reads and writes are
 * separate counts. The normalised `inputTokens` is the whole prompt, so the
 * three are added up (and it is unknown when one of them was refused). The
 * `cache_creation` breakdown tells 1-hour writes from 5-minute ones.
 */
export function fromAnthropicUsage(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  const r = new CountReader(usage);
  const uncached = r.count('input_tokens');
  const cacheRead = r.count('cache_read_input_tokens');
  const cacheWrite = r.count('cache_creation_input_tokens');
  const partRefused = r.refused('cache_read_input_tokens') || r.refused('cache_creation_input_tokens');
  const total = uncached === null || partRefused ? null : uncached + (cacheRead ?? 0) + (cacheWrite ?? 0);
  const result: TokenUsage = {
    inputTokens: total !== null && Number.isSafeInteger(total) ? total : null,
    outputTokens: r.count('output_tokens'),
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: null,
  };
  if (total !== null && !Number.isSafeInteger(total)) (r.problems ??= []).push(`input_tokens: the prompt's total ${total} ${REJECTION_KINDS.too_large}`);
  const oneHour = r.count('ephemeral_1h_input_tokens', 'cache_creation');
  setIfReported(result, 'cacheWrite1hTokens', oneHour, r.refused('ephemeral_1h_input_tokens', 'cache_creation'));
  return r.finish(result);
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
  const r = new CountReader(usage);
  const inputTokens = r.count('prompt_tokens');
  if (inputTokens === null && r.problems === null) return null;
  return r.finish({ inputTokens, outputTokens: inputTokens === null ? null : 0, cachedInputTokens: null, cacheWriteTokens: null, reasoningTokens: null });
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
