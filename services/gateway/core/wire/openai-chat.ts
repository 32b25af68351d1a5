/**
 * OpenAI Chat Completions (`POST …/chat/completions`), also spoken by Azure
 * OpenAI and self-hosted servers (vLLM, Ollama, llama.cpp, …).
 */
import { parseOpenAiError } from './error-body';
import {
  arrayOrEmpty,
  isObject,
  nonEmptyStringOrNull,
  numberOrNull,
  stringOrNull,
  tryParseJson,
} from './json-value';
import { choicesInIndexOrder } from './openai-choices';
import { emptyParsedResponse, isDoneSentinel, serviceTierOrNull } from './parsed-response';
import type { ParsedResponse, StreamAccumulator, ToolCall } from './types';
import { TextBudget } from './text-budget';
import { fromOpenAiChatUsage } from './usage-normalize';

export function parseChatCompletion(json: unknown): ParsedResponse {
  const result = emptyParsedResponse();
  if (!isObject(json)) return result;
  result.servedModel = nonEmptyStringOrNull(json.model);
  result.usage = fromOpenAiChatUsage(json.usage);
  result.error = parseOpenAiError(json);
  const tier = serviceTierOrNull(json.service_tier);
  if (tier !== null) result.serviceTier = tier;
  for (const choice of choicesInIndexOrder(json.choices)) {
    const message = isObject(choice.body.message) ? choice.body.message : {};
    result.text += contentText(message.content);
    for (const call of arrayOrEmpty(message.tool_calls)) {
      const fn = isObject(call) ? call.function : undefined;
      if (!isObject(call) || !isObject(fn)) continue;
      result.toolCalls.push({
        id: nonEmptyStringOrNull(call.id),
        name: stringOrNull(fn.name) ?? '',
        arguments: stringOrNull(fn.arguments) ?? '',
      });
    }
    const legacy = message.function_call;
    if (isObject(legacy)) {
      result.toolCalls.push({
        id: null,
        name: stringOrNull(legacy.name) ?? '',
        arguments: stringOrNull(legacy.arguments) ?? '',
      });
    }
    result.finishReason ??= nonEmptyStringOrNull(choice.body.finish_reason);
  }
  return result;
}

interface ChoiceState {
  text: string;
  finishReason: string | null;
  /** Keyed by the tool call's `index` within the choice. */
  toolCalls: Map<number, ToolCall>;
  legacyCall: ToolCall | null;
}

export function createChatCompletionAccumulator(budget = new TextBudget()): StreamAccumulator {
  const choices = new Map<number, ChoiceState>();
  let servedModel: string | null = null;
  let usage: ParsedResponse['usage'] = null;
  let error: ParsedResponse['error'] = null;
  let serviceTier: string | null = null;
  // Every chunk repeats the tier: it is read again only when it changes.
  let rawTier: unknown;
  let chunkCount = 0;

  function choiceState(index: number): ChoiceState {
    let state = choices.get(index);
    if (state === undefined) {
      state = { text: '', finishReason: null, toolCalls: new Map(), legacyCall: null };
      if (budget.admit()) choices.set(index, state); // else kept for this chunk only: past the budget
    }
    return state;
  }

  return {
    push(event) {
      if (isDoneSentinel(event.data)) return;
      chunkCount += 1;
      const chunk = tryParseJson(event.data);
      if (!isObject(chunk)) return;
      // Azure's leading content-filter chunk has `"model":""`; the first real name wins.
      servedModel ??= nonEmptyStringOrNull(chunk.model);
      // With include_usage every chunk but the last carries `"usage":null`.
      usage = fromOpenAiChatUsage(chunk.usage) ?? usage;
      error = parseOpenAiError(chunk) ?? error;
      if (chunk.service_tier !== rawTier) {
        rawTier = chunk.service_tier;
        serviceTier = serviceTierOrNull(rawTier) ?? serviceTier;
      }
      for (const choice of choicesInIndexOrder(chunk.choices)) {
        const state = choiceState(choice.index);
        const delta = isObject(choice.body.delta) ? choice.body.delta : {};
        state.text = budget.append(state.text, contentText(delta.content));
        mergeToolCallDeltas(state, delta.tool_calls, budget);
        mergeLegacyFunctionCall(state, delta.function_call, budget);
        state.finishReason = nonEmptyStringOrNull(choice.body.finish_reason) ?? state.finishReason;
      }
    },
    result() {
      const result = emptyParsedResponse();
      result.servedModel = servedModel;
      result.usage = usage;
      result.error = error;
      result.chunkCount = chunkCount;
      if (serviceTier !== null) result.serviceTier = serviceTier;
      for (const index of [...choices.keys()].sort((a, b) => a - b)) {
        const state = choices.get(index);
        if (state === undefined) continue;
        result.text += state.text;
        const ordered = [...state.toolCalls.entries()].sort(([a], [b]) => a - b);
        result.toolCalls.push(...ordered.map(([, call]) => ({ ...call })));
        if (state.legacyCall !== null) result.toolCalls.push({ ...state.legacyCall });
        result.finishReason ??= state.finishReason;
      }
      return result;
    },
  };
}

/**
 * The first delta of a tool call carries its `id` and `function.name`; later
 * deltas carry only `index` and an `arguments` fragment to append.
 */
function mergeToolCallDeltas(state: ChoiceState, deltas: unknown, budget: TextBudget): void {
  for (const delta of arrayOrEmpty(deltas)) {
    if (!isObject(delta)) continue;
    const id = nonEmptyStringOrNull(delta.id);
    const index = numberOrNull(delta.index) ?? indexWithoutIndexField(state, id);
    const fn = isObject(delta.function) ? delta.function : {};
    let call = state.toolCalls.get(index);
    if (call === undefined) {
      call = { id: null, name: '', arguments: '' };
      if (budget.admit()) state.toolCalls.set(index, call);
    }
    call.id ??= id;
    // Some servers repeat the name on every delta; it is not a fragment.
    if (call.name === '') call.name = budget.append('', stringOrNull(fn.name) ?? '');
    call.arguments = budget.append(call.arguments, stringOrNull(fn.arguments) ?? '');
  }
}

/** Servers that omit `index` send whole calls, or fragments that repeat the id. */
function indexWithoutIndexField(state: ChoiceState, id: string | null): number {
  if (id !== null) {
    for (const [index, call] of state.toolCalls) if (call.id === id) return index;
  }
  return state.toolCalls.size === 0 ? 0 : Math.max(...state.toolCalls.keys()) + 1;
}

/** Pre-`tools` API: one `function_call` per choice, arguments streamed like tool calls. */
function mergeLegacyFunctionCall(state: ChoiceState, delta: unknown, budget: TextBudget): void {
  if (!isObject(delta)) return;
  state.legacyCall ??= { id: null, name: '', arguments: '' };
  if (state.legacyCall.name === '') state.legacyCall.name = budget.append('', stringOrNull(delta.name) ?? '');
  state.legacyCall.arguments = budget.append(state.legacyCall.arguments, stringOrNull(delta.arguments) ?? '');
}

/** Content is normally a string; a few compat servers send text parts instead. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of arrayOrEmpty(content)) {
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}
