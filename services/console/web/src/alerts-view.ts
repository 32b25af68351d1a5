import { getJson, type AlertTransition } from './api';
import { dateTime, el } from './format';
import { on } from './live-stream';

/** Active alerts (banner on every page, count in the menu) and the recent transitions. */

let active = new Map<string, AlertTransition>();
const recent: AlertTransition[] = [];
const RECENT_MAX = 100;
let onChange: (() => void) | null = null;

function updateBanner(): void {
  const banner = document.getElementById('alert-banner')!;
  const count = document.getElementById('alert-count')!;
  const list = [...active.values()];
  banner.classList.toggle('hidden', list.length === 0);
  count.classList.toggle('hidden', list.length === 0);
  count.textContent = String(list.length);
  banner.replaceChildren(...list.map((a) => el('div', { class: 'firing' }, el('strong', {}, `FIRING ${a.rule}`), ` ${a.message}`)));
  onChange?.();
}

export function startAlerts(): void {
  void getJson<{ active: AlertTransition[]; recent: AlertTransition[] }>('/api/alerts')
    .then((r) => {
      active = new Map(r.active.map((a) => [a.key, a]));
      recent.splice(0, recent.length, ...r.recent);
      updateBanner();
    })
    .catch(() => undefined);
  on('snapshot', (s) => {
    active = new Map(s.alerts.map((a) => [a.key, a]));
    updateBanner();
  });
  on('alert', (t) => {
    if (t.state === 'firing') active.set(t.key, t);
    else active.delete(t.key);
    recent.unshift(t);
    if (recent.length > RECENT_MAX) recent.pop();
    updateBanner();
  });
}

export function renderAlerts(root: HTMLElement): void {
  const draw = (): void => {
    const row = (a: AlertTransition) =>
      el('tr', { class: a.state }, el('td', { class: 'mono' }, dateTime(a.at)), el('td', {}, el('span', { class: `pill ${a.state === 'firing' ? 'bad' : 'ok'}` }, a.state)), el('td', {}, a.rule), el('td', {}, a.group ?? ''), el('td', {}, a.message));
    const head = el('thead', {}, el('tr', {}, ...['at', 'state', 'rule', 'group', 'message'].map((h) => el('th', {}, h))));
    root.replaceChildren(
      el('section', { class: 'card' }, el('h3', {}, 'Firing now'), active.size ? el('table', { class: 'grid', id: 'alerts-active' }, head.cloneNode(true), el('tbody', {}, ...[...active.values()].map(row))) : el('div', { class: 'empty' }, 'Nothing is firing.')),
      el('section', { class: 'card' }, el('h3', {}, 'Recent transitions'), recent.length ? el('table', { class: 'grid' }, head, el('tbody', {}, ...recent.map(row))) : el('div', { class: 'empty' }, 'No transitions yet. Rules come from the config file (alerts:).')),
    );
  };
  onChange = draw;
  draw();
}

export function leaveAlerts(): void {
  onChange = null;
}
