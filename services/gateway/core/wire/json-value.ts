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

/** `undefined` (never a thrown error) when the text is not JSON. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A JSON reader: tryParseJson, or a shared one (createSharedParse). */
export type ParseJson = (text: string) => unknown;

/** How many remembered texts a reader looks through for its own. */
const SHARED_LOOKAHEAD = 8;

/**
 * tryParseJson for two readers of one stream that read the same texts in the
 * same order, one after the other (a streamed answer's accounting, then the
 * usage stripper): the second reader's text, if it equals one the first
 * reader parsed recently, takes that value instead of parsing again. Values
 * are shared between the readers, who must not modify them. Remembers at most
 * `max` values, so a reader that never asks only costs that much.
 */
export function createSharedParse(max = 32): ParseJson {
  const texts: string[] = [];
  const values: unknown[] = [];
  return (text) => {
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
    const value = tryParseJson(text);
    texts.push(text);
    values.push(value);
    if (texts.length > max) {
      texts.shift();
      values.shift();
    }
    return value;
  };
}
