/**
 * Extracts the provider's error type and message from an error body (or an
 * in-stream error event). Shapes seen in the wild:
 * - OpenAI / Azure: `{"error":{"message","type","param","code"}}`; Azure and
 *   some rate-limit errors leave `type` null and only set `code`.
 * - Anthropic: `{"type":"error","error":{"type","message"},"request_id"}`.
 * - vLLM: `{"object":"error","message","type","param","code"}`.
 * - Ollama and other small servers: `{"error":"message text"}`.
 */
import { isObject, nonEmptyStringOrNull, stringOrNull } from './json-value';
import type { UpstreamErrorInfo, WireFormat } from './types';

export function parseErrorBody(wire: WireFormat, json: unknown): UpstreamErrorInfo | null {
  // Gateways and compat layers sometimes answer in the other provider's shape,
  // so the expected shape is tried first and the other one second.
  return wire === 'anthropic'
    ? (parseAnthropicError(json) ?? parseOpenAiError(json))
    : (parseOpenAiError(json) ?? parseAnthropicError(json));
}

export function parseOpenAiError(json: unknown): UpstreamErrorInfo | null {
  if (!isObject(json)) return null;
  const error = json.error;
  if (isObject(error)) {
    return {
      type: nonEmptyStringOrNull(error.type) ?? codeAsString(error.code),
      message: stringOrNull(error.message),
    };
  }
  if (typeof error === 'string' && error !== '') return { type: null, message: error };
  if (json.object === 'error') {
    return {
      type: nonEmptyStringOrNull(json.type) ?? codeAsString(json.code),
      message: stringOrNull(json.message),
    };
  }
  return null;
}

export function parseAnthropicError(json: unknown): UpstreamErrorInfo | null {
  if (!isObject(json) || json.type !== 'error') return null;
  const error = json.error;
  if (!isObject(error)) return { type: null, message: null };
  return { type: nonEmptyStringOrNull(error.type), message: stringOrNull(error.message) };
}

/** Codes are strings at OpenAI but numbers at vLLM and numeric strings at Azure. */
function codeAsString(code: unknown): string | null {
  if (typeof code === 'string' && code !== '') return code;
  if (typeof code === 'number' && Number.isFinite(code)) return String(code);
  return null;
}
