import { ApiError, getJson } from './api';
import { dateTime, el } from './format';

/**
 * Audit search over `GET /api/search?q=` (served by the audit index). The
 * page reads the answer loosely: a list under `hits`, `results`, `items` or
 * `documents` (or the body itself), each hit a document or `{ _source }`,
 * with an event id under `event_id`, `eventId`, `id` or `_id`, and optional
 * highlight snippets under `highlight(s)` / `snippet(s)`.
 */

type Hit = Record<string, unknown>;

function hitsOf(body: unknown): { hits: Hit[]; total: number | null } {
  const b = body as Record<string, unknown>;
  const list = Array.isArray(body) ? body : (['hits', 'results', 'items', 'documents'].map((k) => b?.[k]).find(Array.isArray) as unknown[] | undefined);
  const total = typeof b?.total === 'number' ? b.total : typeof (b?.total as { value?: number })?.value === 'number' ? (b.total as { value: number }).value : null;
  return { hits: ((list ?? []) as Hit[]).map((h) => ({ ...(h._source as Hit | undefined), ...h })), total };
}

const field = (h: Hit, ...names: string[]): string | null => {
  for (const n of names) {
    const v = h[n];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return null;
};

/** Snippets with the field they come from (`prompt`, `response`, …) when the backend says. */
function snippets(h: Hit): { label: string | null; text: string }[] {
  const raw = h.highlight ?? h.highlights ?? h.snippet ?? h.snippets;
  if (typeof raw === 'string') return [{ label: null, text: raw }];
  if (Array.isArray(raw)) return raw.map((t) => ({ label: null, text: String(t) }));
  if (raw && typeof raw === 'object') {
    return Object.entries(raw as Record<string, unknown>).flatMap(([label, v]) => (Array.isArray(v) ? v : [v]).map((t) => ({ label, text: String(t) })));
  }
  const text = field(h, 'response_text', 'prompt', 'request_text', 'text');
  return text ? [{ label: null, text: text.slice(0, 300) }] : [];
}

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&amp;': '&' };
const unescape = (s: string): string => s.replace(/&(?:lt|gt|quot|#39|amp);/g, (e) => ENTITIES[e]!);

/**
 * Shows a snippet whose matches are wrapped in `<mark>`/`<em>` (the rest
 * HTML-escaped, as search backends return highlights) as text with marks:
 * nothing from it is ever parsed as HTML.
 */
function snippetNode(s: { label: string | null; text: string }): HTMLElement {
  const out = el('div', { class: 'snippet' }, s.label ? el('span', { class: 'dim' }, `${s.label}: `) : null);
  const parts = s.text.split(/<\/?(?:em|mark|b)>/);
  parts.forEach((p, i) => out.append(i % 2 === 1 ? el('mark', {}, unescape(p)) : document.createTextNode(unescape(p))));
  return out;
}

export function renderSearch(root: HTMLElement, q: string): void {
  const input = el('input', { type: 'search', placeholder: 'words or a phrase in prompts and answers', value: q, id: 'search-q' });
  const results = el('div', { id: 'search-results' });
  const form = el('form', { class: 'search-form' }, input, el('button', { type: 'submit' }, 'Search'));
  form.onsubmit = (e) => {
    e.preventDefault();
    location.hash = `#/search?q=${encodeURIComponent(input.value)}`;
  };
  root.replaceChildren(el('section', { class: 'card' }, el('h3', {}, 'Audit search'), form, results));
  if (q.trim()) void run(q, results);
}

async function run(q: string, results: HTMLElement): Promise<void> {
  results.replaceChildren(el('div', { class: 'dim' }, 'Searching…'));
  let body: unknown;
  try {
    body = await getJson(`/api/search?q=${encodeURIComponent(q)}`);
  } catch (err) {
    const message = err instanceof ApiError && err.status === 404 ? 'Audit search is not available on this console (GET /api/search needs the audit index).' : (err as Error).message;
    results.replaceChildren(el('div', { class: 'empty' }, message));
    return;
  }
  const { hits, total } = hitsOf(body);
  if (hits.length === 0) {
    results.replaceChildren(el('div', { class: 'empty' }, 'No matches.'));
    return;
  }
  results.replaceChildren(
    el('div', { class: 'dim' }, `${total ?? hits.length} match${(total ?? hits.length) === 1 ? '' : 'es'}`),
    ...hits.map((h) => {
      const id = field(h, 'event_id', 'eventId', 'id', '_id');
      const status = field(h, 'status', 'http_status');
      const when = field(h, 'started_at', 'startedAt', 'timestamp', '@timestamp');
      const title = [field(h, 'response_model', 'model', 'request_model'), field(h, 'upstream'), field(h, 'user'), field(h, 'app'), status ? `status ${status}` : null]
        .filter(Boolean)
        .join(' · ');
      return el(
        'div',
        { class: 'hit' },
        el('div', {}, id ? el('a', { href: `#/request/${id}` }, title || id) : title || '(hit)', el('span', { class: 'dim' }, when ? `  ${dateTime(isNaN(Number(when)) ? when : Number(when))}` : '')),
        ...snippets(h).slice(0, 3).map(snippetNode),
      );
    }),
  );
}
