import { aggregates, ApiError, type AggregateGroupBy, type AggregateRow, type AggregatesAnswer, type AggregateWindow } from './api';
import { chartCard, destroyCharts } from './charts';
import { compact, el, ms, num, pct, usd } from './format';

/**
 * Overview of a time range: headline numbers, charts of the overall rows and
 * a sortable top-N table per dimension. Headline numbers and the breakdown
 * read rollups (`rollup=true`): one row per group whose percentiles merge the
 * sketches of every window in the range, so they are the percentiles of all
 * its calls, within the sketches' relative accuracy (shown on the page).
 */

export const RANGES: Record<string, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

const DIMENSIONS: [AggregateGroupBy, string][] = [
  ['model', 'model'],
  ['served_model', 'served model'],
  ['provider', 'provider'],
  ['upstream', 'upstream'],
  ['user', 'user'],
  ['app', 'app'],
];

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

/** The numbers of a rollup row (one group over the whole range). */
function totals(group: string, r: AggregateRow | undefined): Totals {
  return {
    group,
    calls: r?.calls ?? 0,
    errors: r?.errors ?? 0,
    inputTokens: r?.inputTokens ?? 0,
    outputTokens: r?.outputTokens ?? 0,
    costUsd: (r?.costMicroUsd ?? 0) / 1e6,
    p50: r?.latencyMs?.p50 ?? null,
    p95: r?.latencyMs?.p95 ?? null,
    p99: r?.latencyMs?.p99 ?? null,
    ttft95: r?.ttftMs?.p95 ?? null,
  };
}

/** "±1%": how far a shown percentile may be from the exact one. */
function accuracyText(relativeAccuracy: number): string {
  return `±${Number((relativeAccuracy * 100).toPrecision(2))}%`;
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
  let summary: AggregatesAnswer;
  let byDim: AggregatesAnswer;
  try {
    [overall, summary, byDim] = await Promise.all([
      aggregates(window, 'overall', from, to).then((r) => r.rows),
      aggregates(window, 'overall', from, to, true),
      aggregates(window, state.dimension, from, to, true),
    ]);
  } catch (err) {
    destroyCharts();
    const message = err instanceof ApiError && err.status === 404 ? 'The aggregates API is not available on this console yet (GET /api/aggregates).' : (err as Error).message;
    root.replaceChildren(el('div', { class: 'card empty' }, message));
    return;
  }
  destroyCharts();
  const t = totals('', summary.rows[0]);
  const accuracy = accuracyText(summary.relativeAccuracy);
  const hours = rangeMs / 3_600_000;
  const kpis = el(
    'div',
    { class: 'kpis' },
    kpi('calls', 'Calls', compact(t.calls), `${num(t.calls / (rangeMs / 60_000), 2)} / min`),
    kpi('errors', 'Error rate', pct(t.calls ? t.errors / t.calls : null), `${num(t.errors)} errors`),
    kpi('latency', 'Latency p95', ms(t.p95), `p50 ${ms(t.p50)} · p99 ${ms(t.p99)}`),
    kpi('ttft', 'TTFT p95', ms(t.ttft95), 'time to first token'),
    kpi('tokens', 'Tokens', `${compact(t.inputTokens)} / ${compact(t.outputTokens)}`, 'in / out'),
    kpi('cost', 'Cost', usd(t.costUsd), `${usd(t.costUsd / hours)} per hour`),
  );
  const note = el(
    'div',
    { class: 'dim accuracy', 'data-relative-accuracy': String(summary.relativeAccuracy) },
    `Percentiles over the range are those of all its calls (DDSketches merged across windows), each within ${accuracy} of the exact value.`,
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
    ], (x) => num(x, x < 10 ? 1 : 0), 'count'),
    chartCard('Error rate', xs, [{ label: 'error rate', color: '#f87171', values: v((r) => (r.calls ? r.errors / r.calls : null)), fill: true }], (x) => pct(x), 'ratio'),
    chartCard('Latency', xs, [
      { label: 'p50', color: '#34d399', values: v((r) => (r.latencyMs?.p50 ?? null)) },
      { label: 'p95', color: '#fbbf24', values: v((r) => (r.latencyMs?.p95 ?? null)) },
      { label: 'p99', color: '#f87171', values: v((r) => (r.latencyMs?.p99 ?? null)) },
    ], ms, 'ms'),
    chartCard('Time to first token', xs, [
      { label: 'p50', color: '#34d399', values: v((r) => r.ttftMs?.p50 ?? null) },
      { label: 'p95', color: '#fbbf24', values: v((r) => r.ttftMs?.p95 ?? null) },
      { label: 'p99', color: '#f87171', values: v((r) => r.ttftMs?.p99 ?? null) },
    ], ms, 'ms'),
    chartCard('Tokens', xs, [
      { label: 'in', color: '#60a5fa', values: v((r) => r.inputTokens, 0), fill: true },
      { label: 'out', color: '#c084fc', values: v((r) => r.outputTokens, 0), fill: true },
    ], compact, 'count'),
    chartCard(`Cost per ${window === '1m' ? 'minute' : 'hour'}`, xs, [{ label: 'cost', color: '#2dd4bf', values: v((r) => r.costMicroUsd / 1e6, 0), fill: true }], usd, 'usd'),
  );
  root.replaceChildren(kpis, note, charts, breakdown(root, range, byDim));
}

function kpi(name: string, label: string, value: string, sub: string): HTMLElement {
  return el(
    'div',
    { class: 'card kpi', 'data-kpi': name },
    el('div', { class: 'kpi-label' }, label),
    el('div', { class: 'kpi-value' }, value),
    el('div', { class: 'dim kpi-sub' }, sub),
  );
}

function breakdown(root: HTMLElement, range: string, answer: AggregatesAnswer): HTMLElement {
  const all = answer.rows.map((r) => totals(r.group, r));
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
    ...DIMENSIONS.map(([d, label]) => {
      const b = el('button', { class: d === state.dimension ? 'active' : '', 'data-dimension': d }, `by ${label}`);
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
    ['group', DIMENSIONS.find(([d]) => d === state.dimension)?.[1] ?? state.dimension, (t) => t.group || '(none)'],
    ['calls', 'calls', (t) => num(t.calls)],
    ['errors', 'errors', (t) => `${num(t.errors)} (${pct(t.calls ? t.errors / t.calls : null)})`],
    ['p50', 'p50', (t) => ms(t.p50)],
    ['p95', 'p95', (t) => ms(t.p95)],
    ['p99', 'p99', (t) => ms(t.p99)],
    ['ttft95', 'TTFT p95', (t) => ms(t.ttft95)],
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
  const body = el(
    'tbody',
    {},
    ...top.map((t) => el('tr', { 'data-group': t.group }, ...columns.map(([key, , f]) => el('td', { class: key === 'group' ? '' : 'num', 'data-column': key }, f(t))))),
  );
  return el(
    'section',
    { class: 'card breakdown' },
    el(
      'div',
      { class: 'card-head' },
      el('h3', {}, 'Breakdown'),
      tabs,
      topSelect,
      el('span', { class: 'dim' }, `over the whole range; percentiles ${accuracyText(answer.relativeAccuracy)}`),
    ),
    top.length ? el('table', { class: 'grid' }, el('thead', {}, head), body) : el('div', { class: 'empty' }, 'No calls in this range.'),
  );
}
