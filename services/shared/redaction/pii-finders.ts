import { ALNUM, CLASS, DASH, DIGIT, is, LOCAL_EXTRA, LOWER, UPPER, WORD } from './char-class';
import type { Finder } from './redact-text';

/**
 * Finders of personal data: e-mail addresses, IBANs, US social security
 * numbers, card numbers and phone numbers. Linear in the text: each finds
 * its candidates with `indexOf`, a regular expression of bounded repetition
 * (which costs a bounded number of steps wherever it is tried) or one loop
 * over the characters, and looks at a window of bounded size around each.
 * (A regular expression for "a run of N or more of a class" is avoided: the
 * engine tries it at every position, several times slower than a loop.)
 */

const LOCAL = ALNUM | LOCAL_EXTRA;

// ---------------------------------------------------------------------------------------------
// E-mail addresses.

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

/**
 * `local@domain.tld`: a local part of 1-64 characters (letters, digits,
 * `._%+-`, starting with a letter or digit), labels of 1-63 letters, digits
 * and `-` (not at their ends), a top-level domain of 2-24 letters. Not
 * `user@localhost`, `@handle` or `a@b`.
 */
export const findEmails: Finder = (text, out) => {
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    // Back over the local part (at most 65 characters, to tell a too long one).
    let start = at;
    const stop = Math.max(0, at - MAX_LOCAL - 1);
    while (start > stop) {
      const c = text.charCodeAt(start - 1);
      if (c >= 128 || (CLASS[c]! & LOCAL) === 0) break;
      start--;
    }
    if (start === at || at - start > MAX_LOCAL) continue;
    const first = text.charCodeAt(start);
    if (first >= 128 || (CLASS[first]! & ALNUM) === 0) continue;
    const before = start > 0 ? text.charCodeAt(start - 1) : 0;
    if (before < 128 && (CLASS[before]! & LOCAL) !== 0) continue; // a local part longer than allowed
    const end = domainEnd(text, at + 1);
    if (end > 0) out.push(start, end);
  }
};

/** End of the longest valid domain starting at `from`, or -1. */
function domainEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_DOMAIN);
  let best = -1;
  let labels = 0;
  let i = from;
  for (;;) {
    const labelStart = i;
    let lettersOnly = true;
    while (i < limit && i - labelStart < 64) {
      const c = text.charCodeAt(i);
      if (c >= 128) break;
      const k = CLASS[c]!;
      if ((k & (ALNUM | DASH)) === 0) break;
      if ((k & (UPPER | LOWER)) === 0) lettersOnly = false;
      i++;
    }
    const length = i - labelStart;
    if (length === 0 || length > 63 || text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45) return best;
    labels++;
    const next = text.charCodeAt(i);
    // A top-level domain: letters only, and nothing of a word or a label right after it.
    if (labels >= 2 && lettersOnly && length >= 2 && length <= 24 && !(next < 128 && (CLASS[next]! & (WORD | DASH)) !== 0)) best = i;
    if (next !== 46 || i + 1 >= limit) return best; // .
    i++;
  }
}

// ---------------------------------------------------------------------------------------------
// IBANs.

/** IBAN length by country (SWIFT IBAN registry). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22,
  GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27,
  MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33,
  SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 7064 mod 97-10 over the rearranged IBAN (country and check digits moved to the end). */
export function ibanChecksumValid(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rest = (rest * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rest = (rest * 100 + (c - 55)) % 97;
    else return false;
  }
  return rest === 1;
}

/**
 * IBANs written whole (`DE89370400440532013000`) or in groups of four
 * (`DE89 3704 0044 0532 0130 00`), of the right length for their country
 * and with a valid checksum.
 */
const IBAN_START = /(?<![A-Za-z0-9_])[A-Z]{2}\d{2}/g;

export const findIbans: Finder = (text, out) => {
  IBAN_START.lastIndex = 0;
  for (let m = IBAN_START.exec(text); m !== null; m = IBAN_START.exec(text)) {
    const i = m.index;
    const length = IBAN_LENGTHS[m[0].slice(0, 2)];
    if (length === undefined) continue;
    let chars = '';
    let j = i;
    while (chars.length < length && j < text.length) {
      if (is(text, j, UPPER | DIGIT)) {
        chars += text[j];
        j++;
      } else if (text.charCodeAt(j) === 32 && chars.length % 4 === 0 && is(text, j + 1, UPPER | DIGIT)) {
        j++;
      } else break;
    }
    if (chars.length === length && !is(text, j, WORD) && ibanChecksumValid(chars)) {
      out.push(i, j);
      IBAN_START.lastIndex = j;
    }
  }
};

// ---------------------------------------------------------------------------------------------
// US social security numbers.

/**
 * `123-45-6789` (or with spaces): area 001-899 but not 666, group 01-99,
 * serial 0001-9999, and not part of a longer number, date or identifier.
 */
const SSN = /(?<![\w.+-])(\d{3})([- ])(\d{2})\2(\d{4})(?!\w|[-. ]\d)/g;

export const findSsns: Finder = (text, out) => {
  SSN.lastIndex = 0;
  for (let m = SSN.exec(text); m !== null; m = SSN.exec(text)) {
    const area = Number(m[1]);
    if (area === 0 || area === 666 || area >= 900 || m[3] === '00' || m[4] === '0000') continue;
    out.push(m.index, m.index + m[0].length);
  }
};

// ---------------------------------------------------------------------------------------------
// Card numbers.

/** Luhn checksum over the digits of a candidate card number. */
export function luhnValid(digitsText: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digitsText.length - 1; i >= 0; i--) {
    let d = digitsText.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digitsText.length > 0 && sum % 10 === 0;
}

/**
 * Card numbers: 13-19 digits, whole or in groups of 3-6 separated by a
 * space or a dash, starting with 2-6 (the card networks' ranges: so not an
 * epoch timestamp), Luhn-valid. Not preceded by a digit, `.` or `-`.
 */
export const findCards: Finder = (text, out) => {
  // A card needs a run of 13 digits at least (joined by single spaces or dashes), which covers a
  // position that is a multiple of 13: look there, and scan a run out from it only when it is in one.
  const n = text.length;
  let starts = new Int32Array(64);
  let ends = new Int32Array(64);
  let scanned = 0; // runs end before this: a probe inside one already scanned is skipped
  for (let probe = 12; probe < n; probe += 13) {
    if (probe < scanned || !inDigitRun(text, probe)) continue;
    let first = probe;
    while (first > 0 && inDigitRun(text, first - 1)) first--;
    // The run's digit groups, from its first digit.
    let groups = 0;
    let digits = 0;
    let i = first;
    for (;;) {
      let end = i;
      while (end < n && isDigitCode(text.charCodeAt(end))) end++;
      if (groups === starts.length) {
        starts = grow(starts);
        ends = grow(ends);
      }
      starts[groups] = i;
      ends[groups++] = end;
      digits += end - i;
      const c = text.charCodeAt(end);
      if ((c === 32 || c === 45) && isDigitCode(text.charCodeAt(end + 1))) i = end + 1;
      else {
        scanned = end;
        break;
      }
    }
    if (digits >= 13) {
      const before = text.charCodeAt(first - 1);
      cardsInRun(text, starts, ends, groups, before !== 46 && before !== 45, out);
    }
  }
};

/** Whether `i` is a digit, or a single space or dash between two digits. */
function inDigitRun(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (isDigitCode(c)) return true;
  return (c === 32 || c === 45) && isDigitCode(text.charCodeAt(i - 1)) && isDigitCode(text.charCodeAt(i + 1));
}

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Luhn over the digits of groups s..e (inclusive) of a run, read in place. */
function luhnGroups(text: string, starts: Int32Array, ends: Int32Array, s: number, e: number): boolean {
  let sum = 0;
  let double = false;
  for (let g = e; g >= s; g--) {
    for (let i = ends[g]! - 1; i >= starts[g]!; i--) {
      let d = text.charCodeAt(i) - 48;
      if (double) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      double = !double;
    }
  }
  return sum % 10 === 0;
}

function cardsInRun(text: string, starts: Int32Array, ends: Int32Array, groups: number, runStartOk: boolean, out: number[]): void {
  let s = 0;
  while (s < groups) {
    // A number may start the run, or follow a space inside it (a dash joins it to what is before).
    const startOk = s === 0 ? runStartOk : text.charCodeAt(starts[s]! - 1) === 32;
    const lead = text.charCodeAt(starts[s]!);
    const n0 = ends[s]! - starts[s]!;
    let found = -1;
    if (startOk && lead >= 50 && lead <= 54) {
      if (n0 >= 13 && n0 <= 19) {
        if (luhnGroups(text, starts, ends, s, s)) found = s;
      } else if (n0 >= 3 && n0 <= 6) {
        let count = n0;
        for (let e = s + 1; e < groups; e++) {
          const n = ends[e]! - starts[e]!;
          count += n;
          if (n < 3 || n > 6 || count > 19) break;
          if (count >= 13 && luhnGroups(text, starts, ends, s, e)) found = e;
        }
      }
    }
    if (found >= 0) {
      out.push(starts[s]!, ends[found]!);
      s = found + 1;
    } else s++;
  }
}

// ---------------------------------------------------------------------------------------------
// Phone numbers.

/**
 * International (`+CC …`) numbers, numbers with an area code in brackets, and
 * national numbers in 3-5 groups of 2-4 digits with separators; 9-15 digits.
 * Bare digit runs (ids, timestamps), dates and dotted quads (IP addresses)
 * are left alone. The grammar is a regular expression with bounded
 * repetition and a one-character look-behind only, so each place it is
 * tried at costs a bounded number of steps.
 */
const PHONE =
  /(?<![\w+.])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}|\(\d{2,4}\)[\s.-]?\d{2,4}(?:[\s.-]\d{2,4}){1,3}|\d{2,4}(?:[\s.-]\d{2,4}){2,4})(?![\w.]?\d)/g;

function acceptPhone(m: string): boolean {
  let count = 0;
  let dots = 0;
  for (let i = 0; i < m.length; i++) {
    const c = m.charCodeAt(i);
    if (c >= 48 && c <= 57) count++;
    else if (c === 46) dots++;
  }
  if (count < 9 || count > 15) return false;
  if (dots === 3 && /^\d{1,3}(?:\.\d{1,3}){3}$/.test(m)) return false; // IPv4
  const c4 = m.charCodeAt(4);
  if ((c4 === 45 || c4 === 46 || c4 === 47) && /^\d{4}[-./]\d{2}[-./]\d{2}/.test(m)) return false; // ISO date (+ time)
  return true;
}

export const findPhones: Finder = (text, out) => {
  PHONE.lastIndex = 0;
  for (let m = PHONE.exec(text); m !== null; m = PHONE.exec(text)) {
    if (acceptPhone(m[0])) out.push(m.index, m.index + m[0].length);
  }
};
