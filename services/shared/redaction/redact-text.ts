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

/** Sorts start, end pairs by start and merges the overlapping ones, in place; returns the pairs kept. */
function normalize(pairs: number[]): number[] {
  let sorted = true;
  for (let i = 2; i < pairs.length; i += 2) {
    if (pairs[i]! < pairs[i - 2]!) {
      sorted = false;
      break;
    }
  }
  let list = pairs;
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

interface Spans {
  starts: number[];
  ends: number[];
  /** Index of the rule (-1: a replacement already in the text, kept). */
  rules: number[];
}

/**
 * The parts of `fresh` (sorted, disjoint) that no span of `taken` covers,
 * merged into `taken`. Linear in the sizes of both.
 */
function addUncovered(taken: Spans, fresh: number[], rule: number): Spans {
  const out: Spans = { starts: [], ends: [], rules: [] };
  const push = (s: number, e: number, r: number): void => {
    out.starts.push(s);
    out.ends.push(e);
    out.rules.push(r);
  };
  let k = 0; // next span of `taken` to copy
  let scan = 0; // first span of `taken` that may overlap the current fresh span
  for (let f = 0; f < fresh.length; f += 2) {
    let s = fresh[f]!;
    const e = fresh[f + 1]!;
    while (scan < taken.starts.length && taken.ends[scan]! <= s) scan++;
    let t = scan;
    while (s < e) {
      const nextStart = t < taken.starts.length ? taken.starts[t]! : Infinity;
      if (nextStart >= e) {
        // Nothing of `taken` covers [s, e): copy what comes before it, then the piece.
        while (k < taken.starts.length && taken.starts[k]! < s) push(taken.starts[k]!, taken.ends[k]!, taken.rules[k++]!);
        push(s, e, rule);
        break;
      }
      if (nextStart > s) {
        while (k < taken.starts.length && taken.starts[k]! < s) push(taken.starts[k]!, taken.ends[k]!, taken.rules[k++]!);
        push(s, nextStart, rule);
      }
      s = Math.max(s, taken.ends[t]!);
      t++;
    }
  }
  while (k < taken.starts.length) push(taken.starts[k]!, taken.ends[k]!, taken.rules[k++]!);
  return out;
}

function hashToken(name: string, salt: string, value: string): string {
  return `[${name}:${hash('sha256', `${salt}\0${value}`, 'hex').slice(0, 16)}]`;
}

/** What to redact in a text: spans in order, each with its rule. */
export interface FoundSpans {
  starts: number[];
  ends: number[];
  rules: RedactionRule[];
}

/** The spans to redact in `text` (replacements already there left out), or null when there is none. */
export function findSpans(text: string, redactor: Pick<Redactor, 'rules'>): FoundSpans | null {
  if (text.length === 0 || redactor.rules.length === 0) return null;
  const first: number[] = [];
  findReplacements(text, first);
  let taken = addUncovered({ starts: [], ends: [], rules: [] }, normalize(first), -1);
  let found = false;
  redactor.rules.forEach((rule, index) => {
    const pairs: number[] = [];
    rule.find(text, pairs);
    if (pairs.length === 0) return;
    const before = taken.starts.length;
    taken = addUncovered(taken, normalize(pairs), index);
    if (taken.starts.length !== before) found = true;
  });
  if (!found) return null;
  const out: FoundSpans = { starts: [], ends: [], rules: [] };
  for (let i = 0; i < taken.starts.length; i++) {
    const index = taken.rules[i]!;
    if (index < 0) continue; // a replacement already there: kept
    out.starts.push(taken.starts[i]!);
    out.ends.push(taken.ends[i]!);
    out.rules.push(redactor.rules[index]!);
  }
  return out;
}

/** Makes the replacement of each value: `[REDACTED:<rule>]`, or `[<rule>:<hash>]` (computed once per value). */
export function replacer(salt: string): (rule: RedactionRule, value: string) => string {
  const hashes = new Map<string, string>();
  return (rule, value) => {
    if (rule.action === 'mask') return `[REDACTED:${rule.name}]`;
    const key = `${rule.name}\0${value}`;
    let token = hashes.get(key);
    if (token === undefined) hashes.set(key, (token = hashToken(rule.name, salt, value)));
    return token;
  };
}

export function redactText(text: string, redactor: Pick<Redactor, 'rules' | 'hashSalt'>): RedactionResult {
  const spans = findSpans(text, redactor);
  if (spans === null) return { text, applied: [] };
  const replace = replacer(redactor.hashSalt);
  const parts: string[] = [];
  const applied = new Set<string>();
  let at = 0;
  for (let i = 0; i < spans.starts.length; i++) {
    const rule = spans.rules[i]!;
    parts.push(text.slice(at, spans.starts[i]), replace(rule, text.slice(spans.starts[i], spans.ends[i])));
    at = spans.ends[i]!;
    applied.add(rule.name);
  }
  parts.push(text.slice(at));
  return { text: parts.join(''), applied: [...applied] };
}
