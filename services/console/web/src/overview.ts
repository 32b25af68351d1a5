import { aggregates, ApiError, type AggregateGroupBy, type AggregateRow, type AggregateWindow } from './api';
import { chartCard, destroyCharts } from './charts';
import { compact, el, ms, num, pct, usd } from './format';

/**
 * Overview of a time range: headline numbers, charts of the overall rows and
 * a sortable top-N table per dimension. Percentiles over several windows are
 * shown as the call-weighted mean of the windows' percentiles (marked ≈).
 */

export const RANGES: Record<string, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

const DIMENSIONS: AggregateGroupBy[] = ['model', 'provider', 'upstream', 'user', 'app'];

interface Totals {
  group: string;
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  ttft95: number | null;
}

function weighted(rows: AggregateRow[], pick: (r: AggregateRow) => number | null): number | null {
  let calls = 0;
  let total = 0;
  for (const r of rows) {
    const v = pick(r);
    if (v === null || r.calls === 0) continue;
    calls += r.calls;
    total += v * r.calls;
  }
  return calls > 0 ? total / calls : null;
}

function totals(group: string, rows: AggregateRow[]): Totals {
  const sum = (f: (r: AggregateRow) => number) => rows.reduce((n, r) => n + f(r), 0);
  return {
    group,
    calls: sum((r) => r.calls),
    errors: sum((r) => r.errors),
    inputTokens: sum((r) => r.inputTokens),
    outputTokens: sum((r) => r.outputTokens),
    costUsd: sum((r) => r.costMicroUsd) / 1e6,
    p50: weighted(rows, (r) => (r.latencyMs?.p50 ?? null)),
    p95: weighted(rows, (r) => (r.latencyMs?.p95 ?? null)),
    p99: weighted(rows, (r) => (r.latencyMs?.p99 ?? null)),
    ttft95: weighted(rows, (r) => r.ttftMs?.p95 ?? null),
  };
}

const state = { dimension: 'model' as AggregateGroupBy, sortKey: 'calls' as keyof Totals, desc: true, topN: 10 };

function windowFor(rangeMs: number): { window: AggregateWindow; stepMs: number } {
  return rangeMs <= 6 * 3_600_000 ? { window: '1m', stepMs: 60_000 } : { window: '1h', stepMs: 3_600_000 };
}

export async function renderOverview(root: HTMLElement, range: string): Promise<void> {
  const rangeMs = RANGES[range] ?? RANGES['1h']!;
  const { window, stepMs } = windowFor(rangeMs);
  const to = Date.now();
  const from = Math.floor((to - rangeMs) / stepMs) * stepMs;
  let overall: AggregateRow[];
  let byDim: AggregateRow[];
  try {
    [overall, byDim] = await Promise.all([
      aggregates(window, 'overall', from, to).then((r) => r.rows),
      aggregates(window, state.dimension, from, to).then((r) => r.rows),
    ]);
  } catch (err) {
    destroyCharts();
    const message = err instanceof ApiError && err.status === 404 ? 'The aggregates API is not available on this console yet (GET /api/aggregates).' : (err as Error).message;
    root.replaceChildren(el('div', { class: 'card empty' }, message));
    return;
  }
  destroyCharts();
  const t = totals('', overall);
  const hours = rangeMs / 3_600_000;
  const kpis = el(
    'div',
    { class: 'kpis' },
    kpi('Calls', compact(t.calls), `${num(t.calls / (rangeMs / 60_000), 2)} / min`),
    kpi('Error rate', pct(t.calls ? t.errors / t.calls : null), `${num(t.errors)} errors`),
    kpi('Latency p95 ≈', ms(t.p95), `p50 ${ms(t.p50)} · p99 ${ms(t.p99)}`),
    kpi('TTFT p95 ≈', ms(t.ttft95), 'time to first token'),
    kpi('Tokens', `${compact(t.inputTokens)} / ${compact(t.outputTokens)}`, 'in / out'),
    kpi('Cost', usd(t.costUsd), `${usd(t.costUsd / hours)} per hour`),
  );

  // One point per window, empty windows included, so quiet periods show as quiet.
  const byStart = new Map(overall.map((r) => [Date.parse(r.windowStart), r]));
  const xs: number[] = [];
  const pts: (AggregateRow | undefined)[] = [];
  for (let x = from; x <= to; x += stepMs) {
    xs.push(x / 1000);
    pts.push(byStart.get(x));
  }
  const perMin = stepMs / 60_000;
  const v = (f: (r: AggregateRow) => number | null, zero: number | null = null) => pts.map((r) => (r ? f(r) : zero));
  const charts = el(
    'div',
    { class: 'charts' },
    chartCard('Calls per minute', xs, [
      { label: 'calls', color: '#818cf8', values: v((r) => r.calls / perMin, 0), fill: true },
      { label: 'errors', color: '#f87171', values: v((r) => r.errors / perMin, 0) },
    ], (x) => num(x, x < 10 ? 1 : 0)),
    chartCard('Error rate', xs, [{ label: 'error rate', color: '#f87171', values: v((r) => (r.calls ? r.errors / r.calls : null)), fill: true }], (x) => pct(x)),
    chartCard('Latency', xs, [
      { label: 'p50', color: '#34d399', values: v((r) => (r.latencyMs?.p50 ?? null)) },
      { label: 'p95', color: '#fbbf24', values: v((r) => (r.latencyMs?.p95 ?? null)) },
      { label: 'p99', color: '#f87171', values: v((r) => (r.latencyMs?.p99 ?? null)) },
    ], ms),
    chartCard('Time to first token', xs, [
      { label: 'p50', color: '#34d399', values: v((r) => r.ttftMs?.p50 ?? null) },
      { label: 'p95', color: '#fbbf24', values: v((r) => r.ttftMs?.p95 ?? null) },
      { label: 'p99', color: '#f87171', values: v((r) => r.ttftMs?.p99 ?? null) },
    ], ms),
    chartCard('Tokens', xs, [
      { label: 'in', color: '#60a5fa', values: v((r) => r.inputTokens, 0), fill: true },
      { label: 'out', color: '#c084fc', values: v((r) => r.outputTokens, 0), fill: true },
    ], compact),
    chartCard(`Cost per ${window === '1m' ? 'minute' : 'hour'}`, xs, [{ label: 'cost', color: '#2dd4bf', values: v((r) => r.costMicroUsd / 1e6, 0), fill: true }], usd),
  );
  root.replaceChildren(kpis, charts, breakdown(root, range, byDim));
}

function kpi(label: string, value: string, sub: string): HTMLElement {
  return el('div', { class: 'card kpi' }, el('div', { class: 'kpi-label' }, label), el('div', { class: 'kpi-value' }, value), el('div', { class: 'dim' }, sub));
}

function breakdown(root: HTMLElement, range: string, rows: AggregateRow[]): HTMLElement {
  const groups = new Map<string, AggregateRow[]>();
  for (const r of rows) {
    const list = groups.get(r.group) ?? [];
    list.push(r);
    groups.set(r.group, list);
  }
  const all = [...groups].map(([g, rs]) => totals(g, rs));
  const k = state.sortKey;
  all.sort((a, b) => {
    const x = a[k] ?? -Infinity;
    const y = b[k] ?? -Infinity;
    return (x < y ? -1 : x > y ? 1 : 0) * (state.desc ? -1 : 1);
  });
  const top = all.slice(0, state.topN);
  const rerender = () => void renderOverview(root, range);
  const tabs = el(
    'div',
    { class: 'tabs' },
    ...DIMENSIONS.map((d) => {
      const b = el('button', { class: d === state.dimension ? 'active' : '', 'data-dimension': d }, `by ${d}`);
      b.onclick = () => {
        state.dimension = d;
        rerender();
      };
      return b;
    }),
  );
  const topSelect = el('select', { 'aria-label': 'top N' }, ...[5, 10, 25, 50].map((n) => el('option', n === state.topN ? { value: String(n), selected: '' } : { value: String(n) }, `top ${n}`)));
  topSelect.onchange = () => {
    state.topN = Number(topSelect.value);
    rerender();
  };
  const columns: [keyof Totals, string, (t: Totals) => string][] = [
    ['group', state.dimension, (t) => t.group || '(none)'],
    ['calls', 'calls', (t) => num(t.calls)],
    ['errors', 'errors', (t) => `${num(t.errors)} (${pct(t.calls ? t.errors / t.calls : null)})`],
    ['p50', 'p50 ≈', (t) => ms(t.p50)],
    ['p95', 'p95 ≈', (t) => ms(t.p95)],
    ['p99', 'p99 ≈', (t) => ms(t.p99)],
    ['ttft95', 'TTFT p95 ≈', (t) => ms(t.ttft95)],
    ['inputTokens', 'tokens in', (t) => compact(t.inputTokens)],
    ['outputTokens', 'tokens out', (t) => compact(t.outputTokens)],
    ['costUsd', 'cost', (t) => usd(t.costUsd)],
  ];
  const head = el(
    'tr',
    {},
    ...columns.map(([key, label]) => {
      const th = el('th', { class: `sortable${key === state.sortKey ? ' sorted' : ''}${key === 'group' ? '' : ' num'}` }, `${label}${key === state.sortKey ? (state.desc ? ' ▾' : ' ▴') : ''}`);
      th.onclick = () => {
        if (state.sortKey === key) state.desc = !state.desc;
        else {
          state.sortKey = key;
          state.desc = key !== 'group';
        }
        rerender();
      };
      return th;
    }),
  );
  const body = el('tbody', {}, ...top.map((t) => el('tr', {}, ...columns.map(([key, , f]) => el('td', { class: key === 'group' ? '' : 'num' }, f(t))))));
  return el(
    'section',
    { class: 'card breakdown' },
    el('div', { class: 'card-head' }, el('h3', {}, 'Breakdown'), tabs, topSelect),
    top.length ? el('table', { class: 'grid' }, el('thead', {}, head), body) : el('div', { class: 'empty' }, 'No calls in this range.'),
  );
}
