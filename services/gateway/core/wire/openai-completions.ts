/**
 * OpenAI legacy Completions (`POST …/completions`): like chat, but each
 * choice carries plain `text`, streamed and non-streamed alike.
 */
import { parseOpenAiError } from './error-body';
import { isObject, nonEmptyStringOrNull, stringOrNull, tryParseJson } from './json-value';
import { choicesInIndexOrder } from './openai-choices';
import { emptyParsedResponse, isDoneSentinel } from './parsed-response';
import type { ParsedResponse, StreamAccumulator } from './types';
import { fromOpenAiChatUsage } from './usage-normalize';
import { TextBudget } from './text-budget';

export function parseCompletion(json: unknown): ParsedResponse {
  const result = emptyParsedResponse();
  if (!isObject(json)) return result;
  result.servedModel = nonEmptyStringOrNull(json.model);
  result.usage = fromOpenAiChatUsage(json.usage);
  result.error = parseOpenAiError(json);
  for (const choice of choicesInIndexOrder(json.choices)) {
    result.text += stringOrNull(choice.body.text) ?? '';
    result.finishReason ??= nonEmptyStringOrNull(choice.body.finish_reason);
  }
  return result;
}

export function createCompletionAccumulator(budget = new TextBudget()): StreamAccumulator {
  // With n > 1 the choices' chunks interleave, so text is kept per choice.
  const choices = new Map<number, { text: string; finishReason: string | null }>();
  let servedModel: string | null = null;
  let usage: ParsedResponse['usage'] = null;
  let error: ParsedResponse['error'] = null;
  let chunkCount = 0;

  return {
    push(event) {
      if (isDoneSentinel(event.data)) return;
      chunkCount += 1;
      const chunk = tryParseJson(event.data);
      if (!isObject(chunk)) return;
      servedModel ??= nonEmptyStringOrNull(chunk.model);
      usage = fromOpenAiChatUsage(chunk.usage) ?? usage;
      error = parseOpenAiError(chunk) ?? error;
      for (const choice of choicesInIndexOrder(chunk.choices)) {
        let state = choices.get(choice.index);
        if (state === undefined) {
          if (!budget.admit()) continue; // past the budget: no more choices kept
          state = { text: '', finishReason: null };
          choices.set(choice.index, state);
        }
        state.text = budget.append(state.text, stringOrNull(choice.body.text) ?? '');
        state.finishReason = nonEmptyStringOrNull(choice.body.finish_reason) ?? state.finishReason;
      }
    },
    result() {
      const result = emptyParsedResponse();
      result.servedModel = servedModel;
      result.usage = usage;
      result.error = error;
      result.chunkCount = chunkCount;
      for (const index of [...choices.keys()].sort((a, b) => a - b)) {
        const state = choices.get(index);
        if (state === undefined) continue;
        result.text += state.text;
        result.finishReason ??= state.finishReason;
      }
      return result;
    },
  };
}
