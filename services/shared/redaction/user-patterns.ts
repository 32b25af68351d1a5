import type { Finder } from './redact-text';

/**
 * The operator's own patterns (`redaction.rules` in the config file). A
 * JavaScript regular expression backtracks, so a pattern such as `a.*b` takes
 * time proportional to the square of the text it is run over, and one with
 * nested repetition (`(a+)+`) exponential time. Two guards:
 *
 * - a pattern runs over windows of WINDOW_CHARS characters (each starting
 *   STEP_CHARS after the previous one), never over the whole text, so a
 *   backtracking pattern costs at most about WINDOW_CHARS steps per character
 *   of text, and a match is at most MAX_MATCH_CHARS long (a longer one is
 *   found in pieces, each redacted);
 * - a pattern with nested unbounded repetition is refused at start-up.
 */

/** Longest match a user pattern can make in one piece. */
export const MAX_MATCH_CHARS = 256;
/** A window's length; windows overlap by MAX_MATCH_CHARS so a match starting in one is found whole. */
export const WINDOW_CHARS = 1024;
const STEP_CHARS = WINDOW_CHARS - MAX_MATCH_CHARS;

/** A finder running `pattern` (global) window by window. */
export function windowedFinder(pattern: RegExp): Finder {
  return (text, out) => {
    for (let base = 0; base < text.length; base += STEP_CHARS) {
      const window = base === 0 && text.length <= WINDOW_CHARS ? text : text.slice(base, base + WINDOW_CHARS);
      const last = base + STEP_CHARS >= text.length;
      pattern.lastIndex = 0;
      for (let m = pattern.exec(window); m !== null; m = pattern.exec(window)) {
        if (m[0].length === 0) {
          pattern.lastIndex++;
          continue;
        }
        // A match starting in the overlap belongs to the next window (which sees it whole).
        if (!last && m.index >= STEP_CHARS) break;
        const length = Math.min(m[0].length, MAX_MATCH_CHARS);
        out.push(base + m.index, base + m.index + length);
        // A longer match is cut: what follows the piece is matched again, as a piece of its own.
        pattern.lastIndex = m.index + length;
      }
      if (last) break;
    }
  };
}

/**
 * Why a pattern risks exponential backtracking, or null: a group that repeats
 * without bound (`+`, `*`, `{n,}`) and contains something that does too, as
 * in `(a+)+`, `(\w*\s?)*` or `(?:x|y+)*`. A coarse check on the source, on the
 * safe side: it may refuse a harmless pattern, which can be written another way.
 */
export function nestedRepetition(source: string): string | null {
  // For each open group: whether something inside it repeats without bound.
  const open: boolean[] = [];
  let lastGroupHadUnbounded = false;
  let afterGroup = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      i++;
      afterGroup = false;
      continue;
    }
    if (c === '[') {
      // A character class: skip to its end (escapes inside included).
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      afterGroup = false;
      continue;
    }
    if (c === '(') {
      open.push(false);
      afterGroup = false;
      continue;
    }
    if (c === ')') {
      lastGroupHadUnbounded = open.pop() ?? false;
      // What repeats inside a group repeats inside its parent too.
      if (lastGroupHadUnbounded && open.length > 0) open[open.length - 1] = true;
      afterGroup = true;
      continue;
    }
    const unbounded = c === '*' || c === '+' || (c === '{' && /^\{\d+,\}/.test(source.slice(i, i + 12)));
    if (unbounded) {
      if (afterGroup && lastGroupHadUnbounded) return `nested unbounded repetition at character ${i} (as in (a+)+) can take exponential time`;
      if (open.length > 0) open[open.length - 1] = true;
    }
    afterGroup = false;
  }
  return null;
}
