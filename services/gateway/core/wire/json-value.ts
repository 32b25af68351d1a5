/**
 * Narrowing helpers for JSON of unknown shape. Upstream bodies are untrusted:
 * a field may be missing, null or of the wrong type, and a parser must degrade
 * to "unknown" rather than throw.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Non-empty string or null: several providers send `""` where they mean "absent". */
export function nonEmptyStringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function arrayOrEmpty(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function objectOrNull(value: unknown): JsonObject | null {
  return isObject(value) ? value : null;
}

const JSON_START = /^[\s]*[{["\-\d]|^[\s]*(?:true|false|null)/;

/** `undefined` (never a thrown error) when the text is not JSON. */
export function tryParseJson(text: string): unknown {
  // Text that cannot start a JSON value (`[DONE]` does: `[`) is answered without a throw, which costs more than a parse.
  if (!JSON_START.test(text) || text === '[DONE]') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
