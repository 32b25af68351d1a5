/**
 * Anthropic Messages API (`POST /v1/messages`). The answer is a list of
 * content blocks (`text`, `tool_use`, `thinking`, …). When streamed, blocks
 * are opened, filled by deltas and closed by index; `message_start` carries
 * the model and input-side usage, `message_delta` the stop reason and the
 * cumulative output count.
 */
import { parseAnthropicError } from './error-body';
import {
  arrayOrEmpty,
  isObject,
  nonEmptyStringOrNull,
  numberOrNull,
  stringOrNull,
  tryParseJson,
  type JsonObject,
} from './json-value';
import { emptyParsedResponse, isDoneSentinel, serviceTierOrNull } from './parsed-response';
import type { ParsedResponse, StreamAccumulator } from './types';
import { fromAnthropicUsage } from './usage-normalize';
import { TextBudget } from './text-budget';

export function parseMessage(json: unknown): ParsedResponse {
  const result = emptyParsedResponse();
  if (!isObject(json)) return result;
  result.error = parseAnthropicError(json);
  result.servedModel = nonEmptyStringOrNull(json.model);
  result.usage = fromAnthropicUsage(json.usage);
  const tier = isObject(json.usage) ? serviceTierOrNull(json.usage.service_tier) : null;
  if (tier !== null) result.serviceTier = tier;
  result.finishReason = nonEmptyStringOrNull(json.stop_reason);
  for (const block of arrayOrEmpty(json.content)) {
    if (!isObject(block)) continue;
    // Thinking and redacted-thinking blocks are reasoning, not answer text.
    if (block.type === 'text') result.text += stringOrNull(block.text) ?? '';
    if (block.type === 'tool_use') {
      result.toolCalls.push({
        id: nonEmptyStringOrNull(block.id),
        name: stringOrNull(block.name) ?? '',
        arguments: JSON.stringify(block.input ?? {}),
      });
    }
  }
  return result;
}

type StreamedBlock =
  | { kind: 'text'; text: string }
  | { kind: 'tool_use'; id: string | null; name: string; initialInput: unknown; partialJson: string }
  | { kind: 'other' };

/**
 * Usage members as reported, merged across `message_start` and
 * `message_delta`; kept raw so that fromAnthropicUsage judges them (a bad
 * count is recorded as such, not dropped here).
 */
const USAGE_FIELDS = [
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'cache_creation',
  'service_tier',
] as const;

export function createMessagesAccumulator(budget = new TextBudget()): StreamAccumulator {
  const blocks = new Map<number, StreamedBlock>();
  const rawUsage: Record<string, unknown> = {};
  let servedModel: string | null = null;
  let finishReason: string | null = null;
  let error: ParsedResponse['error'] = null;
  let chunkCount = 0;

  // Later reports win: `output_tokens` in message_delta is cumulative, and
  // newer API versions repeat the (final) input-side counts there too.
  function mergeUsage(usage: unknown): void {
    if (!isObject(usage)) return;
    for (const field of USAGE_FIELDS) {
      const value = usage[field];
      if (value !== undefined && value !== null) rawUsage[field] = value;
    }
  }

  function startBlock(index: number, block: unknown): void {
    if (!isObject(block)) return;
    if (!blocks.has(index) && !budget.admit()) return; // past the budget: no more blocks kept
    if (block.type === 'text') {
      blocks.set(index, { kind: 'text', text: budget.clip(stringOrNull(block.text) ?? '') });
    } else if (block.type === 'tool_use') {
      blocks.set(index, {
        kind: 'tool_use',
        id: nonEmptyStringOrNull(block.id),
        name: budget.clip(stringOrNull(block.name) ?? ''),
        initialInput: block.input,
        partialJson: '',
      });
    } else {
      blocks.set(index, { kind: 'other' });
    }
  }

  function applyDelta(index: number, delta: unknown): void {
    if (!isObject(delta)) return;
    const block = blocks.get(index);
    if (delta.type === 'text_delta' && block?.kind === 'text') {
      block.text = budget.append(block.text, stringOrNull(delta.text) ?? '');
    } else if (delta.type === 'input_json_delta' && block?.kind === 'tool_use') {
      block.partialJson = budget.append(block.partialJson, stringOrNull(delta.partial_json) ?? '');
    }
    // thinking_delta, signature_delta and citations_delta do not change text or tool calls.
  }

  function handle(event: JsonObject, type: string): void {
    const index = numberOrNull(event.index) ?? 0;
    switch (type) {
      case 'message_start': {
        const message = isObject(event.message) ? event.message : {};
        servedModel ??= nonEmptyStringOrNull(message.model);
        mergeUsage(message.usage);
        return;
      }
      case 'content_block_start':
        startBlock(index, event.content_block);
        return;
      case 'content_block_delta':
        applyDelta(index, event.delta);
        return;
      case 'message_delta': {
        const delta = isObject(event.delta) ? event.delta : {};
        finishReason = nonEmptyStringOrNull(delta.stop_reason) ?? finishReason;
        mergeUsage(event.usage);
        return;
      }
      case 'error':
        error = parseAnthropicError(event) ?? { type: null, message: null };
        return;
      default:
        // content_block_stop, message_stop and ping carry nothing to keep.
        return;
    }
  }

  return {
    push(event) {
      // Anthropic sends no `[DONE]`, but OpenAI-compatible shims in front of it may.
      if (isDoneSentinel(event.data)) return;
      chunkCount += 1;
      const json = tryParseJson(event.data);
      if (!isObject(json)) return;
      const type = nonEmptyStringOrNull(json.type) ?? event.event;
      if (type !== null) handle(json, type);
    },
    result() {
      const result = emptyParsedResponse();
      result.servedModel = servedModel;
      result.usage = fromAnthropicUsage(rawUsage);
      const tier = serviceTierOrNull(rawUsage.service_tier);
      if (tier !== null) result.serviceTier = tier;
      result.finishReason = finishReason;
      result.error = error;
      result.chunkCount = chunkCount;
      for (const index of [...blocks.keys()].sort((a, b) => a - b)) {
        const block = blocks.get(index);
        if (block?.kind === 'text') result.text += block.text;
        if (block?.kind === 'tool_use') {
          result.toolCalls.push({
            id: block.id,
            name: block.name,
            // A tool without arguments may stream no JSON at all; its start block then holds `{}`.
            arguments: block.partialJson !== '' ? block.partialJson : JSON.stringify(block.initialInput ?? {}),
          });
        }
      }
      return result;
    },
  };
}
