import './style.css';
import { renderAccessLog } from './access-log';
import { leaveAlerts, renderAlerts, startAlerts } from './alerts-view';
import { getJson, signOut, type Me } from './api';
import { destroyCharts } from './charts';
import { renderDetail } from './detail';
import { el } from './format';
import { connect, on } from './live-stream';
import { detachLiveTail, liveTailTable, startLiveTail } from './live-tail';
import { RANGES, renderOverview } from './overview';
import { renderSearch } from './search';

/** Hash routes: #/overview, #/live, #/request/<id>, #/search?q=…, #/alerts, #/access?… (admins). */

const view = document.getElementById('view')!;
const rangeSelect = document.getElementById('range') as HTMLSelectElement;
const conn = document.getElementById('conn')!;

let current = '';
/** Who the console takes this page's user for (GET /api/me): decides what the page offers; the API enforces it. */
let me: Me | null = null;
let refreshing = false;
let pendingRefresh = false;

function setConn(text: string, ok: boolean): void {
  conn.textContent = text;
  conn.className = `conn ${ok ? 'ok' : 'bad'}`;
}

async function refreshOverview(container: HTMLElement): Promise<void> {
  if (refreshing) {
    pendingRefresh = true;
    return;
  }
  refreshing = true;
  try {
    await renderOverview(container, rangeSelect.value);
  } finally {
    refreshing = false;
    if (pendingRefresh && current === 'overview') {
      pendingRefresh = false;
      void refreshOverview(container);
    }
  }
}

function route(): void {
  const hash = location.hash.replace(/^#/, '') || '/overview';
  const [path, query] = hash.split('?');
  const parts = (path ?? '').split('/').filter(Boolean);
  const name = parts[0] ?? 'overview';
  if (current === 'alerts') leaveAlerts();
  if (current === 'live' || current === 'overview') detachLiveTail();
  destroyCharts();
  current = name;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) a.classList.toggle('active', a.dataset.nav === name);
  rangeSelect.disabled = name !== 'overview';
  if (name === 'live') {
    view.replaceChildren(el('section', { class: 'card' }, el('h3', {}, 'Live tail'), el('div', { class: 'dim' }, 'Calls appear as they start and stream; click a model for the detail.'), liveTailTable()));
  } else if (name === 'request' && parts[1]) {
    void renderDetail(view, decodeURIComponent(parts[1]));
  } else if (name === 'search') {
    if (me?.permissions.search) renderSearch(view, new URLSearchParams(query ?? '').get('q') ?? '');
    else view.replaceChildren(notAllowed('Audit search reads prompts and answers: it needs the auditor role.'));
  } else if (name === 'access') {
    if (me?.permissions.access_log) renderAccessLog(view, new URLSearchParams(query ?? ''));
    else view.replaceChildren(notAllowed('The access log is for admins.'));
  } else if (name === 'alerts') {
    renderAlerts(view);
  } else {
    current = 'overview';
    const charts = el('div', { id: 'overview' }, el('div', { class: 'dim' }, 'Loading…'));
    const tail = el('section', { class: 'card' }, el('h3', {}, 'Latest calls'), liveTailTable(8));
    view.replaceChildren(charts, tail);
    void refreshOverview(charts);
  }
}

function notAllowed(text: string): HTMLElement {
  return el('section', { class: 'card empty', id: 'not-allowed' }, `${text} You are signed in as ${me?.name ?? '?'} (${me?.role ?? '?'}).`);
}

function showIdentity(who: Me): void {
  document.getElementById('nav-search')!.classList.toggle('hidden', !who.permissions.search);
  document.getElementById('nav-access')!.classList.toggle('hidden', !who.permissions.access_log);
  const shown = document.getElementById('me')!;
  shown.replaceChildren(who.access_control ? `${who.name} · ` : 'no access control · ', el('span', { class: 'role' }, who.role));
  const button = document.getElementById('sign-out')!;
  button.classList.toggle('hidden', who.via !== 'session');
  button.onclick = () => void signOut();
}

rangeSelect.onchange = () => route();
window.addEventListener('hashchange', route);
// Short ranges follow every update; long ones (hourly windows) need no more than one refresh a minute.
let lastRefresh = 0;
on('aggregates', () => {
  const charts = document.getElementById('overview');
  const minGapMs = (RANGES[rangeSelect.value] ?? 0) > 6 * 3_600_000 ? 60_000 : 0;
  if (current !== 'overview' || !charts || Date.now() - lastRefresh < minGapMs) return;
  lastRefresh = Date.now();
  void refreshOverview(charts);
});
// With no traffic no notification comes: the live range still slides forward.
setInterval(() => {
  const charts = document.getElementById('overview');
  if (current === 'overview' && charts && !document.hidden) void refreshOverview(charts);
}, 60_000);
void getJson<Me>('/api/me').then((who) => {
  me = who;
  showIdentity(who);
  connect(setConn);
  startLiveTail();
  startAlerts();
  route();
});
