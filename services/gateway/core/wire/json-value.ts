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

/** A JSON reader: tryParseJson, or a shared one (createSharedParse). */
export type ParseJson = (text: string) => unknown;

/** How many remembered texts the second reader looks through for its own. */
const SHARED_LOOKAHEAD = 8;

export interface SharedParse {
  /** The first reader: parses, and remembers the value for the second. */
  first: ParseJson;
  /** The second reader: takes the first reader's value for an identical text, else parses (not remembered). */
  second: ParseJson;
}

/**
 * tryParseJson for two readers of one stream that read the same texts in the
 * same order, one after the other (a streamed answer's accounting, then the
 * usage stripper): each text is parsed once. Values are shared between the
 * readers, who must not modify them. At most `max` values are remembered, so
 * texts the second reader never asks for only cost that much.
 */
export function createSharedParse(max = 32): SharedParse {
  const texts: string[] = [];
  const values: unknown[] = [];
  return {
    first(text) {
      const value = tryParseJson(text);
      texts.push(text);
      values.push(value);
      if (texts.length > max) {
        texts.shift();
        values.shift();
      }
      return value;
    },
    second(text) {
      const look = Math.min(texts.length, SHARED_LOOKAHEAD);
      for (let i = 0; i < look; i++) {
        if (texts[i] === text) {
          const value = values[i];
          // Older texts were skipped by the second reader: they will not be asked for again.
          texts.splice(0, i + 1);
          values.splice(0, i + 1);
          return value;
        }
      }
      return tryParseJson(text);
    },
  };
}
