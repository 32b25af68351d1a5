/**
 * OpenAI Embeddings (`POST …/embeddings`). Only the prompt is billed, so a
 * reported usage always has zero output tokens; there is no text to keep.
 */
import { parseOpenAiError } from './error-body';
import { isObject, nonEmptyStringOrNull, tryParseJson } from './json-value';
import { emptyParsedResponse, isDoneSentinel } from './parsed-response';
import type { ParsedResponse, StreamAccumulator } from './types';
import { fromOpenAiEmbeddingsUsage } from './usage-normalize';

export function parseEmbeddings(json: unknown): ParsedResponse {
  const result = emptyParsedResponse();
  if (!isObject(json)) return result;
  result.servedModel = nonEmptyStringOrNull(json.model);
  result.usage = fromOpenAiEmbeddingsUsage(json.usage);
  result.error = parseOpenAiError(json);
  return result;
}

/**
 * Embeddings never stream at OpenAI; this exists so the dispatcher can treat
 * every endpoint alike should a server answer with an event stream anyway.
 */
export function createEmbeddingsAccumulator(): StreamAccumulator {
  let latest = emptyParsedResponse();
  let chunkCount = 0;
  return {
    push(event) {
      if (isDoneSentinel(event.data)) return;
      chunkCount += 1;
      const parsed = parseEmbeddings(tryParseJson(event.data));
      latest = {
        ...latest,
        servedModel: latest.servedModel ?? parsed.servedModel,
        usage: parsed.usage ?? latest.usage,
        error: parsed.error ?? latest.error,
      };
    },
    result() {
      return { ...latest, chunkCount };
    },
  };
}
