/**
 * The redaction algorithm before the linear rewrite (services/indexer/core/redaction.ts
 * at commit 6a15e39), kept only as the baseline of `npm run bench:redaction`:
 * regular expressions over the whole text (a look-behind with unbounded
 * repetition, overlap checks against every span found so far). Do not use
 * it anywhere else.
 */
import { createHash } from 'node:crypto';

export type RedactionAction = 'mask' | 'hash';

export interface RedactionRule {
  name: string;
  pattern: RegExp;
  action: RedactionAction;
  /** Extra check on a match (e.g. Luhn for card numbers); false keeps the text. */
  accept?: (match: string) => boolean;
  /** Cheap test that must pass for the pattern to have a chance (skips the costly scan on most texts). */
  hint?: RegExp;
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

/** Luhn checksum over the digits of a candidate card number. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const digitsOf = (s: string): string => s.replace(/\D/g, '');

/**
 * Built-in rules, in priority order. Secrets first (they may contain digits
 * that look like phone numbers), then e-mails, then cards before phones
 * (a spaced card number is also a plausible phone number).
 */
export const BUILTIN_RULES: Record<'secret' | 'email' | 'card' | 'phone', Omit<RedactionRule, 'action'>> = {
  secret: {
    name: 'secret',
    hint: /sk-|AKIA|gh[pousr]_|github_pat_|xox[abprs]-|AIza|eyJ|bearer|api[_-]?key|secret|token|passw/i,
    // Provider key shapes (OpenAI/Anthropic sk-, AWS AKIA, GitHub, Slack, Google), JWTs,
    // bearer tokens, and `api_key=...`-style assignments (only the value is redacted).
    pattern:
      /\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})|(?<=\bBearer\s+)[A-Za-z0-9._~+/=-]{16,}|(?<=\b(?:api[_-]?key|secret|token|password|passwd)["']?\s*[:=]\s*["']?)[^\s"',;]{8,}/gi,
  },
  email: {
    name: 'email',
    hint: /@/,
    pattern: /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/g,
  },
  card: {
    name: 'card',
    hint: /\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d/,
    pattern: /(?<![\d.-])\d(?:[ -]?\d){12,18}(?![\d])/g,
    accept: (m) => {
      const d = digitsOf(m);
      return d.length >= 13 && d.length <= 19 && luhnValid(d);
    },
  },
  phone: {
    name: 'phone',
    // International (+CC ...) or grouped national numbers with separators or a (area) code;
    // bare digit runs (ids, timestamps) and dotted quads (IP addresses) are left alone.
    pattern: /(?<![\w+.])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}|\(\d{2,4}\)[\s.-]?\d{2,4}(?:[\s.-]\d{2,4}){1,3}|\d{2,4}(?:[\s.-]\d{2,4}){2,4})(?![\w.]?\d)/g,
    accept: (m) => {
      const d = digitsOf(m);
      if (d.length < 9 || d.length > 15) return false;
      if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(m)) return false; // IPv4
      if (/^\d{4}[-./]\d{2}[-./]\d{2}/.test(m)) return false; // ISO date (+ time)
      return true;
    },
  },
};

export type BuiltinName = keyof typeof BUILTIN_RULES;
function replacement(rule: RedactionRule, match: string, salt: string): string {
  if (rule.action === 'mask') return `[REDACTED:${rule.name}]`;
  const h = createHash('sha256').update(salt).update('\0').update(match).digest('hex').slice(0, 16);
  return `[${rule.name}:${h}]`;
}

export function redactText(text: string, redactor: Redactor): RedactionResult {
  interface Span {
    start: number;
    end: number;
    rule: RedactionRule;
  }
  const spans: Span[] = [];
  const overlaps = (s: number, e: number): boolean => spans.some((x) => s < x.end && e > x.start);
  for (const rule of redactor.rules) {
    if (rule.hint && !rule.hint.test(text)) continue;
    // Patterns are global (buildRedactor and the built-ins make sure); matchAll works on a copy.
    for (const m of text.matchAll(rule.pattern)) {
      const value = m[0];
      if (value.length === 0) continue;
      const start = m.index;
      const end = start + value.length;
      if (rule.accept && !rule.accept(value)) continue;
      if (overlaps(start, end)) continue;
      spans.push({ start, end, rule });
    }
  }
  if (spans.length === 0) return { text, applied: [] };
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  const applied = new Set<string>();
  for (const s of spans) {
    out += text.slice(at, s.start) + replacement(s.rule, text.slice(s.start, s.end), redactor.hashSalt);
    at = s.end;
    applied.add(s.rule.name);
  }
  return { text: out + text.slice(at), applied: [...applied] };
}


/** Every built-in rule of the old algorithm, masking (its default). */
export function baselineRedactor(): Redactor {
  return { indexText: true, rules: (Object.keys(BUILTIN_RULES) as BuiltinName[]).map((n) => ({ ...BUILTIN_RULES[n], action: 'mask' })), hashSalt: '' };
}
