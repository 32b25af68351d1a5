import { ALNUM, B64, BEARER, BLANK, CLASS, DASH, DIGIT, EQUALS, HEX, is, LOWER, runEnd, UPPER, URLSAFE, WORD } from './char-class';
import type { Finder } from './redact-text';

/**
 * Finders of credentials. Each is one pass over the text: a literal prefix
 * (or a setting's name) found by the regular expression engine, then a scan
 * forward over a run of characters that never goes back over what an earlier
 * hit of the same kind already scanned, or a look at a window of bounded
 * size. So a text made to provoke (a prefix followed by a megabyte of spaces,
 * a prefix repeated a million times) costs a few passes over it, never one
 * per position.
 */

/** Characters of an assignment's value: anything up to a blank, a quote, a comma or a semicolon (as before). */
function isValueCode(c: number): boolean {
  if (c < 128) return !(c <= 32 || c === 34 || c === 39 || c === 44 || c === 59 || c === 127);
  return !(c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff);
}

// ---------------------------------------------------------------------------------------------
// Keys with a recognisable prefix.
/** How long the 40-character AWS secret access key may follow its key id and still be taken for one. */
const AWS_SECRET_WINDOW = 200;

/**
 * One kind of prefixed key: where its prefixes are (a search the regular
 * expression engine runs natively), and where the key found at `p` ends
 * (-1: none) and how far that look reached: the next search for this kind
 * starts there, since a later start inside that run would find nothing new.
 */
interface PrefixedKind {
  prefixes: RegExp;
  scan(text: string, p: number, body: number, out: number[]): { end: number; reach: number };
}

const run = (classes: number, min: number): PrefixedKind['scan'] => (text, p, body) => {
  const reach = runEnd(text, body, classes);
  return { end: reach - body >= min ? reach : -1, reach };
};

/** Reset per call: how far the AWS secret key look after a key id has reached. */
let awsScanned = 0;

const PREFIXED_KINDS: PrefixedKind[] = [
  { prefixes: /sk-/g, scan: run(URLSAFE, 16) },
  {
    prefixes: /A[KS]IA/g,
    scan: (text, p, body, out) => {
      const reach = runEnd(text, body, UPPER | DIGIT, body + 16);
      if (reach - body !== 16 || is(text, reach, ALNUM)) return { end: -1, reach: body };
      awsScanned = findAwsSecretNear(text, reach, Math.max(reach, awsScanned), out);
      return { end: reach, reach };
    },
  },
  { prefixes: /gh[pousr]_/g, scan: run(ALNUM, 30) },
  { prefixes: /github_pat_/g, scan: run(WORD, 30) },
  { prefixes: /xox[abeprs]-|xapp-/g, scan: run(ALNUM | DASH, 10) },
  { prefixes: /AIza/g, scan: run(URLSAFE, 35) },
  { prefixes: /eyJ/g, scan: (text, p) => jwtAt(text, p) },
];

/**
 * OpenAI and Anthropic (`sk-`), AWS access key ids (`AKIA` long-lived, `ASIA`
 * temporary) and the secret access key written near one, GitHub (`ghp_`,
 * `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), Slack (`xoxb-`, `xoxp-`,
 * `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-`, `xapp-`), Google (`AIza`) keys and JWTs.
 * Each must start a word.
 */
export const findPrefixedKeys: Finder = (text, out) => {
  awsScanned = 0;
  for (const kind of PREFIXED_KINDS) {
    const re = kind.prefixes;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const p = m.index;
      if (is(text, p - 1, WORD)) continue;
      const { end, reach } = kind.scan(text, p, p + m[0].length, out);
      if (end > 0) out.push(p, end);
      re.lastIndex = Math.max(reach, p + 1);
    }
  }
};

function jwtAt(text: string, p: number): { end: number; reach: number } {
  const header = runEnd(text, p, URLSAFE);
  if (header - p < 11 || text.charCodeAt(header) !== 46) return { end: -1, reach: header };
  const payload = runEnd(text, header + 1, URLSAFE);
  if (payload - header - 1 < 8 || text.charCodeAt(payload) !== 46) return { end: -1, reach: payload };
  const signature = runEnd(text, payload + 1, URLSAFE);
  if (signature - payload - 1 < 8) return { end: -1, reach: signature };
  return { end: signature, reach: signature };
}

/**
 * A 40-character secret access key (base64 letters, mixed case) within the
 * window after an access key id, as in a pasted credentials file. Returns how
 * far it looked, so overlapping windows are not looked at twice.
 */
function findAwsSecretNear(text: string, keyEnd: number, from: number, out: number[]): number {
  const windowEnd = Math.min(text.length, keyEnd + AWS_SECRET_WINDOW);
  let i = from;
  while (i < windowEnd) {
    if (!is(text, i, B64)) {
      i++;
      continue;
    }
    const start = i;
    const end = runEnd(text, i, B64, start + 41);
    if (end - start === 40 && !is(text, start - 1, B64) && !is(text, end, B64) && text.charCodeAt(end) !== 61 && mixedCase(text, start, end)) {
      out.push(start, end);
    }
    i = runEnd(text, end, B64, windowEnd + 41); // the rest of a longer run is not a key either
  }
  return Math.max(from, i);
}

function mixedCase(text: string, start: number, end: number): boolean {
  let upper = false;
  let lower = false;
  for (let i = start; i < end && !(upper && lower); i++) {
    if (is(text, i, UPPER)) upper = true;
    else if (is(text, i, LOWER)) lower = true;
  }
  return upper && lower;
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens.

const BEARER_WORD = /\bbearer[ \t]+/gi;

/** The token after `Bearer ` (16+ characters of RFC 6750's token68 alphabet). */
export const findBearerTokens: Finder = (text, out) => {
  BEARER_WORD.lastIndex = 0;
  for (let m = BEARER_WORD.exec(text); m !== null; m = BEARER_WORD.exec(text)) {
    const start = m.index + m[0].length;
    const end = runEnd(text, start, BEARER);
    if (end - start >= 16) out.push(start, end);
    BEARER_WORD.lastIndex = Math.max(end, start);
  }
};

// ---------------------------------------------------------------------------------------------
// Assignments: `api_key=…`, `"password": "…"`, `AccountKey=…;`, `?key=…`.

/**
 * A setting whose name ends with one of these words holds a secret (in any
 * case: `api_key`, `AZURE_OPENAI_API_KEY`, `aws_secret_access_key`,
 * `AccountKey`, `spring.datasource.password`), followed by `:` or `=`; in a
 * URL's query (`?key=…`, `&sig=…`) a few shorter names hold one too. Blanks
 * around the separator are bounded, so `token` and a megabyte of spaces cost
 * one look.
 */
const SECRET_SETTING =
  /(?:api[_-]?key|secret(?:[_-]?access[_-]?key|[_-]?key)?|token|passw(?:or)?d|private[_-]?key|account[_-]?key|shared[_-]?access[_-]?(?:key|signature)|subscription[_-]key)["']?[ \t]{0,16}[:=]|[?&](?:key|sig|signature|code|x-amz-signature|x-amz-security-token|x-goog-signature|x-goog-credential)=/gi;
const MAX_BLANKS = 16;

/**
 * The value (8+ characters) assigned to a setting whose name says it is
 * secret, quoted or not: only the value is redacted.
 */
export const findAssignedSecrets: Finder = (text, out) => {
  SECRET_SETTING.lastIndex = 0;
  for (let m = SECRET_SETTING.exec(text); m !== null; m = SECRET_SETTING.exec(text)) {
    const after = m.index + m[0].length;
    const inQuery = m[0][0] === '?' || m[0][0] === '&';
    // Blanks, an optional opening quote, the value.
    let v = runEnd(text, after, BLANK, after + MAX_BLANKS);
    if (is(text, v, BLANK)) continue;
    const open = text.charCodeAt(v);
    if (open === 34 || open === 39) v++;
    let end = v;
    while (end < text.length) {
      const d = text.charCodeAt(end);
      if (!isValueCode(d) || (inQuery && (d === 38 || d === 35))) break; // a query value ends at & or #
      end++;
    }
    if (end - v >= 8) out.push(v, end);
    SECRET_SETTING.lastIndex = Math.max(end, after);
  }
};

// ---------------------------------------------------------------------------------------------
// Azure keys.

/** Words that, shortly before a 32-hex-digit value, say it is an Azure (OpenAI, AI services) key. */
const AZURE_CONTEXT = ['azure', 'openai', 'cognitive', 'subscription', 'key'];
const AZURE_CONTEXT_CHARS = 128;

function isAnnotatedKey(text: string, start: number): boolean {
  // Microsoft's common annotated key format: 52 characters, `JQQJ9`, then 9, D or H at 57.
  if (!text.startsWith('JQQJ9', start + 52)) return false;
  const c = text.charCodeAt(start + 57);
  return c === 57 || c === 68 || c === 72;
}

/**
 * Azure keys: a 32-hex-digit key (Azure OpenAI, Cognitive Services) with a
 * word such as `azure`, `openai` or `key` in the 128 characters before it;
 * an 84-character key in Microsoft's annotated format (newer Azure AI keys);
 * an 88-character storage account key (base64 ending in `==`).
 */
export const findAzureKeys: Finder = (text, out) => {
  // Only runs of 32 base64 characters or more matter, and such a run covers a position that is a
  // multiple of 32: look there, and scan a run out from it only when it is a base64 character.
  // (A regular expression for "32 or more of a class" costs several times as much: it is tried at every position.)
  const n = text.length;
  for (let probe = 31; probe < n; ) {
    const c = text.charCodeAt(probe);
    if (c >= 128 || (CLASS[c]! & B64) === 0) {
      probe += 32;
      continue;
    }
    let start = probe;
    while (start > 0 && isB64(text.charCodeAt(start - 1))) start--;
    let end = probe + 1;
    while (end < n && isB64(text.charCodeAt(end))) end++;
    if (end - start >= 32) azureRun(text, start, end, out);
    probe = end + 32;
  }
};

function isB64(c: number): boolean {
  return c < 128 && (CLASS[c]! & B64) !== 0;
}

function azureRun(text: string, start: number, end: number, out: number[]): void {
  if (is(text, start - 1, WORD) || text.charCodeAt(start - 1) === 45) return;
  const length = end - start;
  const alnumEnd = runEnd(text, start, ALNUM, end);
  if (alnumEnd === end && !is(text, end, WORD) && text.charCodeAt(end) !== 45) {
    if (length === 32 && runEnd(text, start, HEX, end) === end && azureContext(text, start)) out.push(start, end);
    else if (length === 84 && isAnnotatedKey(text, start)) out.push(start, end);
  }
  if (length === 86 && text.startsWith('==', end) && !is(text, end + 2, B64) && !is(text, end + 2, EQUALS)) out.push(start, end + 2);
  else if (length === 84 && text.startsWith('==', end) && isAnnotatedKey(text, start)) out.push(start, end + 2);
}

function azureContext(text: string, start: number): boolean {
  const before = text.slice(Math.max(0, start - AZURE_CONTEXT_CHARS), start).toLowerCase();
  return AZURE_CONTEXT.some((w) => before.includes(w));
}
