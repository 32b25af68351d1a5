/**
 * Audit search queries, parsed once and run by every SearchIndex adapter
 * with the same meaning:
 * - words: every word must occur in the prompt, the response or the error message;
 * - "quoted phrases": the words in that order;
 * - a word with punctuation inside (gpt-4o, foo.bar) is a phrase of its parts,
 *   as both backends split text into letters-and-digits tokens, lowercased;
 * - filters, inline (`user:alice status:5xx`) or as parameters: user, app, model
 *   (served or requested), upstream, status (200, 4xx, 5xx, ok, error, cancelled),
 *   time range (from, to);
 * - newest first; pages of `limit` from `offset`.
 */

import { parseStatusFilter, STATUS_FILTER_HELP, type StatusFilter } from '../../shared/event/call-status';

export type { StatusFilter };

export interface SearchQuery {
  /** Single tokens, lowercased. */
  terms: string[];
  /** Each phrase as its tokens, lowercased (two or more). */
  phrases: string[][];
  user: string | null;
  app: string | null;
  model: string | null;
  upstream: string | null;
  status: StatusFilter | null;
  /** Epoch ms, inclusive. */
  from: number | null;
  /** Epoch ms, exclusive. */
  to: number | null;
  limit: number;
  offset: number;
}

export interface SearchHit {
  event_id: string;
  timestamp: string;
  user: string | null;
  app: string | null;
  model: string | null;
  upstream: string;
  status: number | null;
  outcome: string;
  latency_ms: number;
  cost_usd: number | null;
  /** Fragments with matches wrapped in <mark>…</mark>; the rest HTML-escaped. */
  highlights: { prompt: string[]; response: string[]; error_message: string[] };
}

export interface SearchPage {
  total: number;
  limit: number;
  offset: number;
  hits: SearchHit[];
}

export class SearchQueryError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_LIMIT = 100;
/** Deep paging is what time ranges are for; both backends refuse past this. */
export const MAX_WINDOW = 10_000;
const FILTER_KEYS = ['user', 'app', 'model', 'upstream', 'status', 'from', 'to'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/** The tokenizer both backends agree with: runs of letters and digits, lowercased. */
export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) as string[];
}

export function parseStatus(raw: string): StatusFilter {
  const filter = parseStatusFilter(raw);
  if (filter === null) throw new SearchQueryError('status', `status must be ${STATUS_FILTER_HELP}, not "${raw}"`);
  return filter;
}

export function parseTime(parameter: string, raw: string): number {
  const v = raw.trim();
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw new SearchQueryError(parameter, `${parameter} must be an ISO date-time or epoch milliseconds, not "${raw}"`);
  return ms;
}

function parseIntParam(name: string, raw: string | null, def: number, min: number, max: number): number {
  if (raw === null || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new SearchQueryError(name, `${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

/** Splits `q` into quoted phrases, `key:value` filters and words. */
function scan(q: string): { words: string[]; phrases: string[]; filters: Partial<Record<FilterKey, string>> } {
  const words: string[] = [];
  const phrases: string[] = [];
  const filters: Partial<Record<FilterKey, string>> = {};
  const re = /"([^"]*)"?|(\S+)/g;
  for (const m of q.matchAll(re)) {
    if (m[1] !== undefined) {
      phrases.push(m[1]);
      continue;
    }
    const tok = m[2]!;
    const f = /^([a-z]+):(.+)$/i.exec(tok);
    const key = f?.[1]?.toLowerCase() as FilterKey | undefined;
    if (f && key && (FILTER_KEYS as readonly string[]).includes(key)) {
      const value = f[2]!.replace(/^"|"$/g, '');
      if (filters[key] !== undefined) throw new SearchQueryError('q', `filter ${key}: is given twice`);
      filters[key] = value;
    } else {
      words.push(tok);
    }
  }
  return { words, phrases, filters };
}

/**
 * Parses the search parameters (the console's query string, or the CLI's
 * flags turned into one). Throws SearchQueryError naming the parameter.
 */
export function parseSearchQuery(params: URLSearchParams): SearchQuery {
  const q = params.get('q') ?? '';
  if (q.length > 2000) throw new SearchQueryError('q', 'q must be at most 2000 characters');
  const { words, phrases, filters } = scan(q);
  const terms: string[] = [];
  const phraseTokens: string[][] = [];
  const addPhrase = (tokens: string[]): void => {
    if (tokens.length === 1) terms.push(tokens[0]!);
    else if (tokens.length > 1) phraseTokens.push(tokens);
  };
  for (const w of words) addPhrase(tokenize(w));
  for (const p of phrases) addPhrase(tokenize(p));

  const pick = (key: FilterKey): string | null => {
    const fromParam = params.get(key);
    const inline = filters[key];
    if (fromParam !== null && fromParam !== '' && inline !== undefined && inline !== fromParam) {
      throw new SearchQueryError(key, `${key} is given both in q and as a parameter`);
    }
    const v = fromParam !== null && fromParam !== '' ? fromParam : (inline ?? null);
    if (v !== null && v.length > 512) throw new SearchQueryError(key, `${key} must be at most 512 characters`);
    return v;
  };
  const statusRaw = pick('status');
  const fromRaw = pick('from');
  const toRaw = pick('to');
  const from = fromRaw === null ? null : parseTime('from', fromRaw);
  const to = toRaw === null ? null : parseTime('to', toRaw);
  if (from !== null && to !== null && from >= to) throw new SearchQueryError('from', 'from must be before to');
  const limit = parseIntParam('limit', params.get('limit'), 20, 1, MAX_LIMIT);
  const offset = parseIntParam('offset', params.get('offset'), 0, 0, MAX_WINDOW);
  if (offset + limit > MAX_WINDOW) throw new SearchQueryError('offset', `offset + limit must be at most ${MAX_WINDOW}; narrow the time range`);
  return {
    terms: [...new Set(terms)],
    phrases: phraseTokens,
    user: pick('user'),
    app: pick('app'),
    model: pick('model'),
    upstream: pick('upstream'),
    status: statusRaw === null ? null : parseStatus(statusRaw),
    from,
    to,
    limit,
    offset,
  };
}

export function hasText(q: SearchQuery): boolean {
  return q.terms.length > 0 || q.phrases.length > 0;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * Turns a fragment whose matches are delimited by two private markers into
 * escaped HTML with <mark> tags (the embedded index's snippets).
 */
export function markFragment(fragment: string, open: string, close: string): string {
  return escapeHtml(fragment).split(open).join('<mark>').split(close).join('</mark>');
}
