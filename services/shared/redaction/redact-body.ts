import { findSpans, replacer, type FoundSpans, type RedactionResult, type Redactor } from './redact-text';

/**
 * Redaction of a body that is, or contains, JSON (a request, an answer, a
 * stream of server-sent events), or is plain text. JSON string literals are
 * matched on their decoded text, so an escape cannot hide a value
 * (`\u0040` for `@`, `\n` right before an address), and a replacement is
 * written back encoded, so the body stays valid JSON: a match never takes a
 * literal's quotes. Everything else is matched as it is written. One pass to
 * find the literals, one run of the rules over the decoded view, one rebuild.
 */

const enum Kind {
  /** Text outside string literals, taken as written. */
  Outside,
  /** A literal's quote: never replaced, so a match stops at it. */
  Quote,
  /** A literal's content without escapes: as written. */
  Plain,
  /** A literal's content with escapes: decoded in the view, encoded again when changed. */
  Escaped,
}

interface Segment {
  kind: Kind;
  /** Where it is in the body. */
  rawStart: number;
  rawEnd: number;
  /** Where it is in the view the rules run over. */
  viewStart: number;
  viewEnd: number;
}

// A quote, a backslash or a control character (which a JSON string cannot hold raw).
// eslint-disable-next-line no-control-regex
const LITERAL_STOP = /["\\\u0000-\u001f]/g;
const ESCAPE = /^\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/;

/**
 * The end (index of the closing quote) of the JSON string literal opening at
 * `q`, whether it has escapes, or where it stopped being one (a control
 * character, a bad escape, no closing quote).
 */
function literalAt(text: string, q: number): { end: number; escaped: boolean; ok: boolean } {
  let escaped = false;
  LITERAL_STOP.lastIndex = q + 1;
  for (;;) {
    const m = LITERAL_STOP.exec(text);
    if (m === null) return { end: text.length, escaped, ok: false };
    const i = m.index;
    const c = text.charCodeAt(i);
    if (c === 34) return { end: i, escaped, ok: true };
    if (c !== 92) return { end: i, escaped, ok: false };
    const escape = ESCAPE.exec(text.slice(i, i + 6));
    if (escape === null) return { end: i, escaped, ok: false };
    escaped = true;
    LITERAL_STOP.lastIndex = i + escape[0].length;
  }
}

/** The body cut into segments, and the view (literals decoded) the rules run over. */
function segment(text: string): { segments: Segment[]; view: string } {
  const segments: Segment[] = [];
  const parts: string[] = [];
  let viewAt = 0;
  const add = (kind: Kind, rawStart: number, rawEnd: number, viewText: string): void => {
    if (rawEnd <= rawStart) return;
    segments.push({ kind, rawStart, rawEnd, viewStart: viewAt, viewEnd: viewAt + viewText.length });
    parts.push(viewText);
    viewAt += viewText.length;
  };
  let outsideFrom = 0;
  let from = 0;
  for (let q = text.indexOf('"', from); q >= 0; q = text.indexOf('"', from)) {
    const lit = literalAt(text, q);
    if (!lit.ok) {
      // Not a literal: the quote is ordinary text; go on after where the attempt stopped (linear).
      from = Math.max(q + 1, lit.end);
      continue;
    }
    add(Kind.Outside, outsideFrom, q, text.slice(outsideFrom, q));
    add(Kind.Quote, q, q + 1, '"');
    if (lit.escaped) add(Kind.Escaped, q + 1, lit.end, JSON.parse(text.slice(q, lit.end + 1)) as string);
    else add(Kind.Plain, q + 1, lit.end, text.slice(q + 1, lit.end));
    add(Kind.Quote, lit.end, lit.end + 1, '"');
    outsideFrom = from = lit.end + 1;
  }
  add(Kind.Outside, outsideFrom, text.length, text.slice(outsideFrom));
  return { segments, view: parts.join('') };
}

export function redactBody(text: string, redactor: Pick<Redactor, 'rules' | 'hashSalt'>): RedactionResult {
  if (text.length === 0 || redactor.rules.length === 0) return { text, applied: [] };
  const { segments, view } = segment(text);
  const spans = findSpans(view, redactor);
  if (spans === null) return { text, applied: [] };
  return rebuild(text, segments, view, spans, redactor.hashSalt);
}

function rebuild(text: string, segments: Segment[], view: string, found: FoundSpans, salt: string): RedactionResult {
  const replace = replacer(salt);
  const used = new Set<number>();
  let out = '';
  let rawAt = 0;
  // An escaped literal is rebuilt from its decoded text once its last piece is known, then encoded again.
  let escaped: { seg: Segment; decoded: string; parts: string[]; at: number } | null = null;
  const flushEscaped = (): void => {
    if (!escaped) return;
    const { seg, decoded, parts, at } = escaped;
    parts.push(decoded.slice(at));
    out += text.slice(rawAt, seg.rawStart) + JSON.stringify(parts.join('')).slice(1, -1);
    rawAt = seg.rawEnd;
    escaped = null;
  };
  let k = 0;
  const { spans, rules } = found;
  for (let i = 0; i < spans.length; i += 3) {
    const index = spans[i + 2]!;
    if (index < 0) continue; // a replacement already there: kept
    const start = spans[i]!;
    const end = spans[i + 1]!;
    const rule = rules[index]!;
    const token = replace(rule, rule.action === 'mask' ? '' : view.slice(start, end));
    // Cut at segment borders: the first piece carries the replacement, the others are removed;
    // pieces in a literal's quotes are dropped, so the quotes stay.
    let first = true;
    while (k < segments.length && segments[k]!.viewEnd <= start) k++;
    for (let j = k; j < segments.length && segments[j]!.viewStart < end; j++) {
      const s = segments[j]!;
      if (s.kind === Kind.Quote) continue;
      const ps = Math.max(start, s.viewStart);
      const pe = Math.min(end, s.viewEnd);
      const replacement = first ? token : '';
      first = false;
      if (escaped && escaped.seg !== s) flushEscaped();
      if (s.kind === Kind.Escaped) {
        escaped ??= { seg: s, decoded: view.slice(s.viewStart, s.viewEnd), parts: [], at: 0 };
        escaped.parts.push(escaped.decoded.slice(escaped.at, ps - s.viewStart), replacement);
        escaped.at = pe - s.viewStart;
      } else {
        // View and body agree character for character here.
        out += text.slice(rawAt, s.rawStart + (ps - s.viewStart)) + replacement;
        rawAt = s.rawStart + (pe - s.viewStart);
      }
    }
    if (!first) used.add(index);
  }
  flushEscaped();
  if (used.size === 0) return { text, applied: [] };
  out += text.slice(rawAt);
  return { text: out, applied: [...new Set([...used].map((i) => rules[i]!.name))] };
}
