import { hash } from 'node:crypto';

/**
 * The redaction engine: pure, and linear in the length of the text. Every
 * rule's finders report spans of the original text; overlaps go to the
 * earlier rule (what sticks out of an earlier span is still redacted by the
 * later rule); the text is rebuilt once, so a replacement is never matched
 * again. Replacements already in the text (`[REDACTED:email]`,
 * `[email:0123456789abcdef]`) are kept as they are, so redacting twice gives
 * the same text as redacting once.
 */

export type RedactionAction = 'mask' | 'hash';

/**
 * Pushes the spans it finds in `text` to `out` as start, end pairs (end
 * exclusive), in any order; they may overlap. A finder must take time linear
 * in the length of the text, whatever the text.
 */
export type Finder = (text: string, out: number[]) => void;

export interface RedactionRule {
  name: string;
  action: RedactionAction;
  find: Finder;
}

export interface Redactor {
  /** Index prompts and responses at all (false = metadata only). */
  indexText: boolean;
  rules: RedactionRule[];
  /** Mixed into hashes so that low-entropy values (phone numbers) are not looked up by brute force. */
  hashSalt: string;
}

export interface RedactionResult {
  text: string;
  /** Names of the rules that changed something. */
  applied: string[];
}

/** Rule names: what `[REDACTED:<name>]` and `[<name>:<hash>]` may carry. */
export const RULE_NAME = /^[a-z0-9_-]{1,40}$/;

const isNameCode = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45;
const isLowerHexCode = (c: number): boolean => (c >= 97 && c <= 102) || (c >= 48 && c <= 57);

/** Replacements already in the text: `[REDACTED:<name>]` and `[<name>:<16 hex>]`. */
export const findReplacements: Finder = (text, out) => {
  for (let i = text.indexOf('['); i >= 0; i = text.indexOf('[', i + 1)) {
    let j = i + 1;
    const masked = text.startsWith('REDACTED:', j);
    if (masked) j += 9;
    const nameStart = j;
    while (j < text.length && j - nameStart < 41 && isNameCode(text.charCodeAt(j))) j++;
    const nameLength = j - nameStart;
    if (nameLength === 0 || nameLength > 40) continue;
    if (masked) {
      if (text.charCodeAt(j) === 93) out.push(i, j + 1); // ]
      continue;
    }
    if (text.charCodeAt(j) !== 58) continue; // :
    let k = j + 1;
    while (k < j + 17 && isLowerHexCode(text.charCodeAt(k))) k++;
    if (k === j + 17 && text.charCodeAt(k) === 93) out.push(i, k + 1);
  }
};

/** Sorts start, end pairs by start and merges the overlapping ones; returns the pairs kept (the same array when nothing changes). */
function normalize(pairs: number[]): number[] {
  let clean = true; // sorted, disjoint and non-empty already (the common case: one finder, in order)
  for (let i = 0; i < pairs.length && clean; i += 2) {
    if (pairs[i + 1]! <= pairs[i]! || (i > 0 && pairs[i]! < pairs[i - 1]!)) clean = false;
  }
  if (clean) return pairs;
  let list = pairs;
  let sorted = true;
  for (let i = 2; i < pairs.length && sorted; i += 2) if (pairs[i]! < pairs[i - 2]!) sorted = false;
  if (!sorted) {
    const order = Array.from({ length: pairs.length / 2 }, (_, i) => i).sort((a, b) => pairs[2 * a]! - pairs[2 * b]!);
    list = [];
    for (const i of order) list.push(pairs[2 * i]!, pairs[2 * i + 1]!);
  }
  const merged: number[] = [];
  for (let i = 0; i < list.length; i += 2) {
    const s = list[i]!;
    const e = list[i + 1]!;
    if (e <= s) continue;
    const n = merged.length;
    if (n > 0 && s <= merged[n - 1]!) merged[n - 1] = Math.max(merged[n - 1]!, e);
    else merged.push(s, e);
  }
  return merged;
}

/** Spans taken so far, in order: start, end, rule index (-1: a replacement already in the text) per span. */
type Taken = number[];

/**
 * The parts of `fresh` (sorted, disjoint pairs) that no span of `taken`
 * covers, merged into `taken` for rule `rule`. Linear in the sizes of both.
 */
function addUncovered(taken: Taken, fresh: number[], rule: number): Taken {
  if (taken.length === 0) {
    const out: Taken = new Array<number>((fresh.length / 2) * 3);
    for (let f = 0, o = 0; f < fresh.length; f += 2, o += 3) {
      out[o] = fresh[f]!;
      out[o + 1] = fresh[f + 1]!;
      out[o + 2] = rule;
    }
    return out;
  }
  const out: Taken = [];
  let k = 0; // next span of `taken` to copy (index of its start)
  let scan = 0; // first span of `taken` that may overlap the current fresh span
  const copyBefore = (pos: number): void => {
    while (k < taken.length && taken[k]! < pos) {
      out.push(taken[k]!, taken[k + 1]!, taken[k + 2]!);
      k += 3;
    }
  };
  for (let f = 0; f < fresh.length; f += 2) {
    let s = fresh[f]!;
    const e = fresh[f + 1]!;
    while (scan < taken.length && taken[scan + 1]! <= s) scan += 3;
    let t = scan;
    while (s < e) {
      const nextStart = t < taken.length ? taken[t]! : Infinity;
      if (nextStart >= e) {
        // Nothing of `taken` covers [s, e): what comes before it, then the piece.
        copyBefore(s);
        out.push(s, e, rule);
        break;
      }
      if (nextStart > s) {
        copyBefore(s);
        out.push(s, nextStart, rule);
      }
      s = Math.max(s, taken[t + 1]!);
      t += 3;
    }
  }
  copyBefore(Infinity);
  return out;
}

function hashToken(name: string, salt: string, value: string): string {
  return `[${name}:${hash('sha256', `${salt}\0${value}`, 'hex').slice(0, 16)}]`;
}

/** What to redact in a text: spans in order (start, end, index in `rules`; -1: a replacement already there, to keep). */
export interface FoundSpans {
  spans: number[];
  rules: readonly RedactionRule[];
}

/** The spans to redact in `text`, or null when there is none. */
export function findSpans(text: string, redactor: Pick<Redactor, 'rules'>): FoundSpans | null {
  if (text.length === 0 || redactor.rules.length === 0) return null;
  const first: number[] = [];
  findReplacements(text, first);
  let taken: Taken = first.length > 0 ? addUncovered([], normalize(first), -1) : [];
  let found = false;
  redactor.rules.forEach((rule, index) => {
    const pairs: number[] = [];
    rule.find(text, pairs);
    if (pairs.length === 0) return;
    const before = taken.length;
    taken = addUncovered(taken, normalize(pairs), index);
    if (taken.length !== before) found = true;
  });
  return found ? { spans: taken, rules: redactor.rules } : null;
}

/** Makes the replacement of each value: `[REDACTED:<rule>]`, or `[<rule>:<hash>]` (computed once per value). */
export function replacer(salt: string): (rule: RedactionRule, value: string) => string {
  const masks = new Map<string, string>();
  const hashes = new Map<string, string>();
  return (rule, value) => {
    if (rule.action === 'mask') {
      let token = masks.get(rule.name);
      if (token === undefined) masks.set(rule.name, (token = `[REDACTED:${rule.name}]`));
      return token;
    }
    const key = `${rule.name}\0${value}`;
    let token = hashes.get(key);
    if (token === undefined) hashes.set(key, (token = hashToken(rule.name, salt, value)));
    return token;
  };
}

export function redactText(text: string, redactor: Pick<Redactor, 'rules' | 'hashSalt'>): RedactionResult {
  const found = findSpans(text, redactor);
  if (found === null) return { text, applied: [] };
  const replace = replacer(redactor.hashSalt);
  const { spans, rules } = found;
  const used = new Set<number>();
  // Concatenation (V8 builds a rope and flattens it once) measured faster than joining an array of
  // parts or copying into one buffer, with 150,000 replacements.
  let out = '';
  let at = 0;
  for (let i = 0; i < spans.length; i += 3) {
    const index = spans[i + 2]!;
    if (index < 0) continue; // a replacement already there: kept
    const rule = rules[index]!;
    const start = spans[i]!;
    const end = spans[i + 1]!;
    out += text.slice(at, start) + replace(rule, rule.action === 'mask' ? '' : text.slice(start, end));
    at = end;
    if (!used.has(index)) used.add(index);
  }
  out += text.slice(at);
  return { text: out, applied: [...new Set([...used].map((i) => rules[i]!.name))] };
}
