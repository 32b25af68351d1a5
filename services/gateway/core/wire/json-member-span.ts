/**
 * Locates the members of a top-level JSON object in its source text, so a
 * single member can be added, replaced or removed while every other byte stays
 * exactly as the sender wrote it (number spellings, key order, escapes,
 * integers beyond 2^53 that a parse/stringify round trip would corrupt).
 *
 * The scanner only looks at ASCII structural characters, so it works equally
 * on a JS string and on a `latin1` view of UTF-8 bytes: bytes of multibyte
 * UTF-8 sequences are all >= 0x80 and never look like `"`, `\`, `{`, … .
 */

export interface MemberSpan {
  /** The key exactly as written between its quotes (escapes not decoded). */
  rawKey: string;
  /** Offset of the key's opening quote. */
  keyStart: number;
  valueStart: number;
  /** Offset just past the value. */
  valueEnd: number;
}

/**
 * Members of the object in `text`, in source order; null if `text` is not a
 * JSON object. The text must be valid JSON (callers check with JSON.parse
 * first); the scanner trusts that and only tracks where values end.
 */
export function topLevelMembers(text: string): MemberSpan[] | null {
  let i = skipWhitespace(text, 0);
  if (text[i] !== '{') return null;
  i = skipWhitespace(text, i + 1);
  const members: MemberSpan[] = [];
  if (text[i] === '}') return members;
  for (;;) {
    if (text[i] !== '"') return null;
    const keyStart = i;
    i = skipString(text, i);
    const rawKey = text.slice(keyStart + 1, i - 1);
    i = skipWhitespace(text, i);
    if (text[i] !== ':') return null;
    const valueStart = skipWhitespace(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    if (valueEnd <= valueStart) return null;
    members.push({ rawKey, keyStart, valueStart, valueEnd });
    i = skipWhitespace(text, valueEnd);
    if (text[i] === '}') return members;
    if (text[i] !== ',') return null;
    i = skipWhitespace(text, i + 1);
  }
}

/** The last member with this key: JSON.parse keeps the last of duplicate keys, so that one is "the" value. */
export function findMember(members: readonly MemberSpan[], key: string): MemberSpan | null {
  for (let i = members.length - 1; i >= 0; i--) {
    const member = members[i];
    if (member !== undefined && decodeKey(member.rawKey) === key) return member;
  }
  return null;
}

/**
 * `text` without the given member and exactly one of its separating commas:
 * `{"a":1,"m":null,"b":2}` → `{"a":1,"b":2}`, `{"a":1,"m":null}` → `{"a":1}`.
 */
export function removeMember(text: string, members: readonly MemberSpan[], target: MemberSpan): string {
  const at = members.indexOf(target);
  const next = members[at + 1];
  if (next !== undefined) return text.slice(0, target.keyStart) + text.slice(next.keyStart);
  const previous = members[at - 1];
  if (previous !== undefined) return text.slice(0, previous.valueEnd) + text.slice(target.valueEnd);
  return text.slice(0, target.keyStart) + text.slice(target.valueEnd);
}

function decodeKey(rawKey: string): string {
  if (!rawKey.includes('\\')) return rawKey;
  try {
    return JSON.parse(`"${rawKey}"`) as string;
  } catch {
    return rawKey;
  }
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** From an opening quote to just past the closing one; `\` always escapes the next character. */
function skipString(text: string, i: number): number {
  i++;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i += 2;
    else if (c === 0x22 /* " */) return i + 1;
    else i++;
  }
  return i;
}

function skipValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first === '{' || first === '[') {
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i = skipString(text, i);
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  // Number, true, false or null: runs until a delimiter.
  while (i < text.length && !/[\s,}\]]/.test(text[i] ?? '')) i++;
  return i;
}
