import { getJson, type AccessRecord } from './api';
import { dateTime, el } from './format';

/**
 * The access log (admins): who read which bodies or searched what, when and
 * from where, newest first, from `GET /api/access-log`. Filters go in the
 * hash (`#/access?actor=alice&action=search`), so a view can be shared.
 */

const ACTIONS = ['', 'request_bodies', 'request_previews', 'search', 'live_text'];
const FILTERS = ['actor', 'action', 'event_id'] as const;

function target(r: AccessRecord): HTMLElement {
  const out = el('div', {});
  if (r.query !== null) out.append(el('div', { class: 'query' }, `“${r.query}”`));
  const filters = Object.entries(r.filters).map(([k, v]) => `${k}=${v}`);
  if (filters.length) out.append(el('div', { class: 'dim' }, filters.join(' · ')));
  const ids = r.event_ids.slice(0, 5);
  for (const id of ids) out.append(el('div', { class: 'mono' }, el('a', { href: `#/request/${id}` }, id)));
  if (r.event_ids.length > ids.length) out.append(el('div', { class: 'dim' }, `and ${r.event_ids.length - ids.length} more calls`));
  return out;
}

function row(r: AccessRecord): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-id': r.id },
    el('td', { class: 'mono' }, dateTime(r.at)),
    el('td', {}, r.actor.name, el('div', { class: 'dim' }, `${r.actor.role} · ${r.actor.via}${r.actor.email ? ` · ${r.actor.email}` : ''}`)),
    el('td', { class: 'action' }, r.action),
    el('td', {}, target(r)),
    el('td', { class: 'num' }, r.results === null ? '–' : String(r.results)),
    el('td', { class: 'mono' }, r.client.ip, r.client.forwarded_for ? el('div', { class: 'dim' }, `for ${r.client.forwarded_for}`) : null),
  );
}

export function renderAccessLog(root: HTMLElement, params: URLSearchParams): void {
  const inputs = {
    actor: el('input', { id: 'access-actor', placeholder: 'who (name)', value: params.get('actor') ?? '' }),
    action: el('select', { id: 'access-action' }, ...ACTIONS.map((a) => el('option', { value: a }, a || 'any action'))),
    event_id: el('input', { id: 'access-event', placeholder: 'call id', value: params.get('event_id') ?? '' }),
  };
  inputs.action.value = params.get('action') ?? '';
  const form = el('form', { class: 'access-filters' }, inputs.actor, inputs.action, inputs.event_id, el('button', { type: 'submit' }, 'Filter'));
  form.onsubmit = (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const f of FILTERS) if (inputs[f].value.trim()) q.set(f, inputs[f].value.trim());
    location.hash = `#/access?${q}`;
  };
  const tbody = el('tbody', { id: 'access-rows' });
  const more = el('button', { type: 'button', class: 'hidden', id: 'access-more' }, 'Older');
  const status = el('div', { class: 'dim' }, 'Loading…');
  const table = el(
    'table',
    { class: 'access' },
    el('thead', {}, el('tr', {}, ...['time', 'who', 'action', 'what', 'results', 'from'].map((h) => el('th', {}, h)))),
    tbody,
  );
  root.replaceChildren(
    el('section', { class: 'card' }, el('h3', {}, 'Access log'), el('div', { class: 'dim' }, 'Every read of prompts and answers, and every audit search.'), form, status, table, more),
  );
  const load = async (before: string | null): Promise<void> => {
    const q = new URLSearchParams();
    for (const f of FILTERS) {
      const v = params.get(f);
      if (v) q.set(f, v);
    }
    if (before) q.set('before', before);
    try {
      const page = await getJson<{ entries: AccessRecord[]; next_before: string | null }>(`/api/access-log?${q}`);
      tbody.append(...page.entries.map(row));
      status.textContent = tbody.children.length === 0 ? 'No reads recorded (yet).' : '';
      more.classList.toggle('hidden', page.next_before === null);
      more.onclick = () => void load(page.next_before);
    } catch (err) {
      status.textContent = (err as Error).message;
    }
  };
  void load(null);
}
