/**
 * OpenAI Responses API (`POST …/responses`). The answer is a list of output
 * items (`message`, `function_call`, `reasoning`, …). When streamed, typed
 * events build those items up and a terminal event (`response.completed`,
 * `response.incomplete` or `response.failed`) repeats the whole response,
 * usage included.
 */
import { parseOpenAiError } from './error-body';
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
import type { ParsedResponse, StreamAccumulator, ToolCall } from './types';
import { fromOpenAiResponsesUsage } from './usage-normalize';
import { TextBudget } from './text-budget';

export function parseResponsesResponse(json: unknown): ParsedResponse {
  const result = emptyParsedResponse();
  if (!isObject(json)) return result;
  result.servedModel = nonEmptyStringOrNull(json.model);
  result.usage = fromOpenAiResponsesUsage(json.usage);
  // Covers both an error body and a failed response's `error: {code, message}`.
  result.error = parseOpenAiError(json);
  result.finishReason = finishReasonOf(json);
  const tier = serviceTierOrNull(json.service_tier);
  if (tier !== null) result.serviceTier = tier;
  for (const item of arrayOrEmpty(json.output)) {
    if (!isObject(item)) continue;
    if (item.type === 'message') result.text += messageItemText(item);
    const call = functionCallOf(item);
    if (call !== null) result.toolCalls.push(call);
  }
  return result;
}

/**
 * `completed` (or `failed`, `cancelled`) as is; for `incomplete` the reason
 * (`max_output_tokens`, `content_filter`) says more than the status does.
 */
function finishReasonOf(response: JsonObject): string | null {
  const status = nonEmptyStringOrNull(response.status);
  if (status === 'incomplete') {
    const details = response.incomplete_details;
    return (isObject(details) ? nonEmptyStringOrNull(details.reason) : null) ?? status;
  }
  return status;
}

function messageItemText(item: JsonObject): string {
  let text = '';
  for (const part of arrayOrEmpty(item.content)) {
    if (isObject(part) && part.type === 'output_text') text += stringOrNull(part.text) ?? '';
  }
  return text;
}

/** `call_id` is what the client echoes back with the result, so it is the id that matters. */
function functionCallOf(item: JsonObject): ToolCall | null {
  if (item.type !== 'function_call') return null;
  return {
    id: nonEmptyStringOrNull(item.call_id),
    name: stringOrNull(item.name) ?? '',
    arguments: stringOrNull(item.arguments) ?? '',
  };
}

type StreamedItem =
  | { kind: 'message'; parts: Map<number, string> }
  | { kind: 'function_call'; call: ToolCall }
  | { kind: 'other' };

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function createResponsesAccumulator(budget = new TextBudget()): StreamAccumulator {
  // Keyed by `output_index`, so the result keeps output order whatever the arrival order.
  const items = new Map<number, StreamedItem>();
  let servedModel: string | null = null;
  let usage: ParsedResponse['usage'] = null;
  let finishReason: string | null = null;
  let error: ParsedResponse['error'] = null;
  let finalResponse: ParsedResponse | null = null;
  let chunkCount = 0;

  function messageItem(outputIndex: number): Extract<StreamedItem, { kind: 'message' }> {
    const existing = items.get(outputIndex);
    if (existing?.kind === 'message') return existing;
    const created = { kind: 'message' as const, parts: new Map<number, string>() };
    if (existing !== undefined || budget.admit()) items.set(outputIndex, created); // else dropped: past the budget
    return created;
  }

  function functionCallItem(outputIndex: number): ToolCall {
    const existing = items.get(outputIndex);
    if (existing?.kind === 'function_call') return existing.call;
    const call: ToolCall = { id: null, name: '', arguments: '' };
    if (existing !== undefined || budget.admit()) items.set(outputIndex, { kind: 'function_call', call });
    return call;
  }

  function recordItem(outputIndex: number, item: unknown): void {
    if (!isObject(item)) return;
    if (item.type === 'message') {
      const parts = messageItem(outputIndex).parts;
      arrayOrEmpty(item.content).forEach((part, contentIndex) => {
        if (isObject(part) && part.type === 'output_text' && (parts.has(contentIndex) || budget.admit())) {
          parts.set(contentIndex, budget.clip(stringOrNull(part.text) ?? ''));
        }
      });
      return;
    }
    const call = functionCallOf(item);
    if (call !== null) {
      const target = functionCallItem(outputIndex);
      target.id = call.id ?? target.id;
      target.name = call.name !== '' ? budget.clip(call.name) : target.name;
      // An `added` item has empty arguments that must not wipe streamed deltas.
      if (call.arguments !== '') target.arguments = budget.clip(call.arguments);
      return;
    }
    if (!items.has(outputIndex) && budget.admit()) items.set(outputIndex, { kind: 'other' });
  }

  function handle(event: JsonObject, type: string): void {
    const outputIndex = numberOrNull(event.output_index) ?? 0;
    const contentIndex = numberOrNull(event.content_index) ?? 0;
    switch (type) {
      case 'response.created':
      case 'response.queued':
      case 'response.in_progress':
        if (isObject(event.response)) servedModel ??= nonEmptyStringOrNull(event.response.model);
        return;
      case 'response.output_item.added':
      case 'response.output_item.done':
        recordItem(outputIndex, event.item);
        return;
      case 'response.output_text.delta': {
        const parts = messageItem(outputIndex).parts;
        if (!parts.has(contentIndex) && !budget.admit()) return;
        parts.set(contentIndex, budget.append(parts.get(contentIndex) ?? '', stringOrNull(event.delta) ?? ''));
        return;
      }
      case 'response.output_text.done': {
        const text = stringOrNull(event.text);
        const parts = messageItem(outputIndex).parts;
        if (text !== null && (parts.has(contentIndex) || budget.admit())) parts.set(contentIndex, budget.clip(text));
        return;
      }
      case 'response.function_call_arguments.delta':
        functionCallItem(outputIndex).arguments = budget.append(functionCallItem(outputIndex).arguments, stringOrNull(event.delta) ?? '');
        return;
      case 'response.function_call_arguments.done': {
        const args = stringOrNull(event.arguments);
        if (args !== null) functionCallItem(outputIndex).arguments = budget.clip(args);
        return;
      }
      case 'error':
        error = streamErrorOf(event);
        return;
      default:
        if (TERMINAL_EVENTS.has(type)) {
          finalResponse = parseResponsesResponse(event.response);
          servedModel = finalResponse.servedModel ?? servedModel;
          usage = finalResponse.usage ?? usage;
          finishReason = finalResponse.finishReason ?? finishReason;
          error = finalResponse.error ?? error;
        }
    }
  }

  return {
    push(event) {
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
      result.usage = usage;
      result.finishReason = finishReason;
      result.error = error;
      result.chunkCount = chunkCount;
      const final: ParsedResponse | null = finalResponse;
      if (final?.serviceTier != null) result.serviceTier = final.serviceTier;
      // The terminal event's full response is authoritative; the streamed
      // pieces are the fallback for a stream cut short before it.
      if (final !== null && (final.text !== '' || final.toolCalls.length > 0)) {
        result.text = final.text;
        result.toolCalls = final.toolCalls.map((call) => ({ ...call }));
        return result;
      }
      for (const index of [...items.keys()].sort((a, b) => a - b)) {
        const item = items.get(index);
        if (item?.kind === 'message') {
          const parts = [...item.parts.entries()].sort(([a], [b]) => a - b);
          result.text += parts.map(([, text]) => text).join('');
        } else if (item?.kind === 'function_call') {
          result.toolCalls.push({ ...item.call });
        }
      }
      return result;
    },
  };
}

/**
 * The stream `error` event has `code`/`message` at the top level; some
 * servers nest an OpenAI-style `error` object instead.
 */
function streamErrorOf(event: JsonObject): ParsedResponse['error'] {
  const nested = parseOpenAiError(event);
  if (nested !== null) return nested;
  return {
    type: nonEmptyStringOrNull(event.code),
    message: stringOrNull(event.message),
  };
}
