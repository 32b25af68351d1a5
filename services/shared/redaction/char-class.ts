/**
 * ASCII character classes as bit flags in one lookup table, so the matchers
 * test a character with one array read instead of a regular expression.
 * Characters outside ASCII belong to no class.
 */

export const DIGIT = 1;
export const UPPER = 2;
export const LOWER = 4;
/** `_` (with letters and digits: a regular-expression word character). */
export const UNDERSCORE = 8;
/** `-` */
export const DASH = 16;
/** `+` and `/` (base64) */
export const B64_EXTRA = 32;
/** `.`, `%`, `+`, `-`, `_` (besides letters and digits: an e-mail address's local part) */
export const LOCAL_EXTRA = 64;
/** space and tab */
export const BLANK = 128;
/** a-f and A-F */
export const HEX_LETTER = 256;
/** `.`, `_`, `~`, `+`, `/`, `=`, `-` (besides letters and digits: a bearer token, RFC 6750) */
export const TOKEN_EXTRA = 512;
/** `.`, `_`, `-` (besides letters and digits: a setting's name, e.g. `spring.datasource.password`) */
export const NAME_EXTRA = 1024;
/** `=` */
export const EQUALS = 2048;

export const ALNUM = DIGIT | UPPER | LOWER;
export const WORD = ALNUM | UNDERSCORE;
/** base64url: letters, digits, `_`, `-` */
export const URLSAFE = WORD | DASH;
export const B64 = ALNUM | B64_EXTRA;
export const HEX = DIGIT | HEX_LETTER;
export const BEARER = ALNUM | TOKEN_EXTRA;
export const NAME = ALNUM | NAME_EXTRA;

/** Class bits of each ASCII character (hot loops read it directly: `c < 128 && (CLASS[c] & X) !== 0`). */
export const CLASS = new Uint16Array(128);
const table = CLASS;
for (let c = 48; c <= 57; c++) table[c]! |= DIGIT;
for (let c = 65; c <= 90; c++) table[c]! |= UPPER;
for (let c = 97; c <= 122; c++) table[c]! |= LOWER;
for (const ch of 'abcdefABCDEF') table[ch.charCodeAt(0)]! |= HEX_LETTER;
table[95]! |= UNDERSCORE | LOCAL_EXTRA; // _
table[45]! |= DASH | LOCAL_EXTRA; // -
table[43]! |= B64_EXTRA | LOCAL_EXTRA; // +
table[47]! |= B64_EXTRA; // /
table[46]! |= LOCAL_EXTRA; // .
table[37]! |= LOCAL_EXTRA; // %
table[32]! |= BLANK;
table[9]! |= BLANK;
for (const ch of '._~+/=-') table[ch.charCodeAt(0)]! |= TOKEN_EXTRA;
for (const ch of '._-') table[ch.charCodeAt(0)]! |= NAME_EXTRA;
table[61]! |= EQUALS;

/** Whether the character at `i` belongs to any of `classes` (false outside the text). */
export function is(text: string, i: number, classes: number): boolean {
  const c = text.charCodeAt(i); // NaN outside the text
  return c < 128 && (table[c]! & classes) !== 0;
}

/** End of the run of `classes` characters starting at `i`, scanning at most up to `limit`. */
export function runEnd(text: string, i: number, classes: number, limit = text.length): number {
  const end = Math.min(limit, text.length);
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c >= 128 || (table[c]! & classes) === 0) break;
    i++;
  }
  return i;
}

/** Start of the run of `classes` characters ending just before `i`, scanning back at most to `limit`. */
export function runStart(text: string, i: number, classes: number, limit = 0): number {
  const stop = Math.max(0, limit);
  while (i > stop) {
    const c = text.charCodeAt(i - 1);
    if (c >= 128 || (table[c]! & classes) === 0) break;
    i--;
  }
  return i;
}

export const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;
