/**
 * Best-effort reading of answers from endpoints the gateway does not model
 * (`other`): no text or tool calls, but the model, usage and error are picked
 * up wherever the common shapes put them, so such calls are still accounted.
 */
import { parseErrorBody } from './error-body';
import { isObject, nonEmptyStringOrNull, tryParseJson, type JsonObject } from './json-value';
import { emptyParsedResponse, isDoneSentinel } from './parsed-response';
import type { ParsedResponse, StreamAccumulator, WireFormat } from './types';
import { fromUnknownUsage } from './usage-normalize';

export function parseGenericResponse(wire: WireFormat, json: unknown): ParsedResponse {
  const result = emptyParsedResponse();
  if (!isObject(json)) return result;
  const envelope = innerObject(json);
  result.servedModel = nonEmptyStringOrNull(json.model) ?? nonEmptyStringOrNull(envelope?.model);
  result.usage = fromUnknownUsage(wire, json.usage) ?? fromUnknownUsage(wire, envelope?.usage);
  result.error = parseErrorBody(wire, json);
  return result;
}

export function createGenericAccumulator(wire: WireFormat): StreamAccumulator {
  let latest = emptyParsedResponse();
  let chunkCount = 0;
  return {
    push(event) {
      if (isDoneSentinel(event.data)) return;
      chunkCount += 1;
      const parsed = parseGenericResponse(wire, tryParseJson(event.data));
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

/** Stream events wrap the object of interest: `{"message":{…}}` (Anthropic), `{"response":{…}}` (Responses). */
function innerObject(json: JsonObject): JsonObject | null {
  if (isObject(json.message)) return json.message;
  if (isObject(json.response)) return json.response;
  return null;
}
