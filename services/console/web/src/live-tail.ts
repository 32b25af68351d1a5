import { getJson, type RequestSummary } from './api';
import { compact, el, ms, statusClass, time, usd } from './format';
import { on, type InFlightSnapshot } from './live-stream';
import type { LiveStarted } from '../../../shared/event/live-record';

/**
 * The live tail: calls appear when they start, their answer grows while they
 * stream, and they settle with status, usage and cost when their event
 * arrives. Bounded: the newest MAX_ROWS calls, MAX_TEXT characters each.
 */

const MAX_ROWS = 200;
const MAX_TEXT = 2_000;

interface Row {
  id: string;
  startedAt: number;
  model: string | null;
  /** The model that answered, once the call has settled. */
  servedModel: string | null;
  upstream: string;
  who: string;
  running: boolean;
  status: number | null;
  errorClass: string | null;
  text: string;
  chars: number;
  /** The gateway sends no text live (redaction policy `all`). */
  withheld: boolean;
  latencyMs: number | null;
  ttftMs: number | null;
  tokens: string;
  cost: number | null;
  tr: HTMLTableRowElement | null;
}

const rows = new Map<string, Row>();
const finished = new Set<string>();
let tbody: HTMLTableSectionElement | null = null;
let limitShown = MAX_ROWS;
const dirty = new Set<Row>();
let frame = 0;

function who(user: string | null, app: string | null): string {
  return [user, app].filter(Boolean).join(' · ');
}

function fromStarted(s: LiveStarted | InFlightSnapshot): Row {
  return {
    id: s.event_id,
    startedAt: s.started_at,
    model: s.model,
    servedModel: null,
    upstream: s.upstream,
    who: who(s.user, s.app),
    running: true,
    status: null,
    errorClass: null,
    text: 'text' in s ? s.text.slice(0, MAX_TEXT) : '',
    chars: 'chars' in s ? s.chars : 0,
    withheld: s.text_withheld === true,
    latencyMs: null,
    ttftMs: 'ttft_ms' in s ? s.ttft_ms : null,
    tokens: '',
    cost: null,
    tr: null,
  };
}

function settle(row: Row, s: RequestSummary): void {
  row.running = false;
  row.status = s.http_status;
  row.errorClass = s.error_class;
  row.latencyMs = s.latency_ms;
  row.ttftMs = s.ttft_ms;
  row.model = s.model;
  row.servedModel = s.served_model;
  row.tokens = `${compact(s.input_tokens)} → ${compact(s.output_tokens)}`;
  row.cost = s.cost_usd;
  row.who = who(s.user, s.app);
  // The streamed text is kept; a call seen only at its end shows the start of its answer.
  if (!row.text && s.response_preview) row.text = s.response_preview.slice(0, MAX_TEXT);
}

function fromSummary(s: RequestSummary): Row {
  const row = fromStarted({
    type: 'started',
    event_id: s.event_id,
    started_at: Date.parse(s.started_at),
    upstream: s.upstream,
    provider: s.provider,
    endpoint: s.endpoint,
    model: s.model,
    streamed: s.streamed,
    user: s.user,
    app: s.app,
    prompt: null,
  });
  settle(row, s);
  return row;
}

function add(row: Row): void {
  rows.set(row.id, row);
  if (rows.size > MAX_ROWS) {
    // Evict the oldest by start time.
    let oldest: Row | null = null;
    for (const r of rows.values()) if (!oldest || r.startedAt < oldest.startedAt) oldest = r;
    if (oldest) {
      rows.delete(oldest.id);
      oldest.tr?.remove();
    }
  }
  if (finished.size > 4 * MAX_ROWS) finished.clear();
  touch(row);
}

function touch(row: Row): void {
  dirty.add(row);
  if (!frame) frame = requestAnimationFrame(flush);
}

function render(row: Row): HTMLTableRowElement {
  const tr = row.tr ?? el('tr', { 'data-id': row.id });
  row.tr = tr;
  tr.className = row.running ? 'running' : '';
  const status = row.running
    ? el('span', { class: 'pill run' }, 'streaming')
    : el('span', { class: `pill ${statusClass(row.status, row.errorClass)}` }, row.errorClass ?? String(row.status ?? '–'));
  const answer = el('div', { class: 'answer' }, row.text || (row.running && row.chars > 0 ? `(${row.chars} characters, ${row.withheld ? 'withheld until redacted' : 'text not shown'})` : ''));
  tr.replaceChildren(
    el('td', { class: 'mono' }, time(row.startedAt)),
    el('td', {}, status),
    el(
      'td',
      {},
      el('a', { href: `#/request/${row.id}` }, row.model ?? '–'),
      el('div', { class: 'dim nowrap' }, row.servedModel && row.servedModel !== row.model ? `${row.upstream} · ${row.servedModel}` : row.upstream),
    ),
    el('td', { class: 'dim' }, row.who),
    el('td', { class: 'num' }, row.running ? (row.ttftMs !== null ? `ttft ${ms(row.ttftMs)}` : '…') : ms(row.latencyMs)),
    el('td', { class: 'num' }, row.tokens),
    el('td', { class: 'num' }, row.running ? '' : usd(row.cost)),
    el('td', { class: 'answer-cell' }, answer),
  );
  return tr;
}

function flush(): void {
  frame = 0;
  if (!tbody) {
    dirty.clear();
    return;
  }
  for (const row of dirty) render(row);
  dirty.clear();
  // Keep newest first: re-append rows in order (cheap for ≤ 200 rows).
  const ordered = [...rows.values()].sort((a, b) => b.startedAt - a.startedAt).slice(0, limitShown);
  const body = tbody;
  ordered.forEach((r, i) => {
    if (body.children[i] !== r.tr) body.insertBefore(r.tr ?? render(r), body.children[i] ?? null);
  });
  while (body.children.length > ordered.length) body.lastElementChild?.remove();
}

async function backfill(): Promise<void> {
  const { requests } = await getJson<{ requests: RequestSummary[] }>('/api/requests?limit=50');
  for (const s of requests) {
    const existing = rows.get(s.event_id);
    if (existing) {
      if (existing.running) {
        settle(existing, s);
        touch(existing);
      }
    } else add(fromSummary(s));
    finished.add(s.event_id);
  }
}

let started = false;
/** Subscribes once for the page's life; views attach a table to show the rows. */
export function startLiveTail(): void {
  if (started) return;
  started = true;
  on('snapshot', (snap) => {
    for (const s of snap.inFlight) if (!finished.has(s.event_id) && !rows.has(s.event_id)) add(fromStarted(s));
  });
  on('started', (s) => {
    if (!finished.has(s.event_id) && !rows.has(s.event_id)) add(fromStarted(s));
  });
  on('progress', (p) => {
    const row = rows.get(p.event_id);
    if (!row || !row.running) return;
    if (row.text.length < MAX_TEXT) row.text = (row.text + p.text).slice(0, MAX_TEXT);
    row.chars = p.chars;
    row.ttftMs = p.ttft_ms;
    touch(row);
  });
  on('finished', (s) => {
    finished.add(s.event_id);
    const row = rows.get(s.event_id);
    if (row) {
      settle(row, s);
      touch(row);
    } else add(fromSummary(s));
  });
  on('reconnected', () => void backfill().catch(() => undefined));
  void backfill().catch(() => undefined);
}

export function liveTailTable(limit = MAX_ROWS): HTMLElement {
  limitShown = limit;
  tbody = el('tbody', { id: 'live-rows' });
  const table = el(
    'table',
    { class: 'live' },
    el('thead', {}, el('tr', {}, ...['time', 'status', 'model', 'user · app', 'latency', 'tokens in → out', 'cost', 'answer'].map((h) => el('th', {}, h)))),
    tbody,
  );
  for (const r of rows.values()) r.tr = null;
  for (const r of rows.values()) dirty.add(r);
  flush();
  return table;
}

export function detachLiveTail(): void {
  tbody = null;
}
