import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el } from './format';

/** Time-series cards drawn with uPlot (small, fast, canvas-based). */

export interface SeriesSpec {
  label: string;
  color: string;
  values: (number | null)[];
  fill?: boolean;
}

const charts = new Set<uPlot>();
let resizeHooked = false;

function sizeOf(container: HTMLElement): { width: number; height: number } {
  return { width: Math.max(240, container.clientWidth - 8), height: 170 };
}

export function destroyCharts(): void {
  for (const c of charts) c.destroy();
  charts.clear();
}

export function chartCard(title: string, xs: number[], series: SeriesSpec[], format: (v: number) => string): HTMLElement {
  const body = el('div', { class: 'chart-body' });
  const card = el('section', { class: 'card chart', 'data-chart': title }, el('h3', {}, title), body);
  requestAnimationFrame(() => {
    const opts: uPlot.Options = {
      ...sizeOf(body),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      // From zero: a flat or single-valued series must not get a tiny, misleading axis.
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: '#94a3b8', grid: { stroke: '#1e293b' }, ticks: { stroke: '#334155' } },
        { stroke: '#94a3b8', grid: { stroke: '#1e293b' }, ticks: { stroke: '#334155' }, size: 72, values: (_u, vals) => vals.map((v) => format(v)) },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.6,
          fill: s.fill ? `${s.color}33` : undefined,
          spanGaps: false,
          // Sparse series (a few busy minutes) would not show as lines at all.
          points: { show: s.values.filter((v) => v !== null).length < 40 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
        })),
      ],
    };
    const chart = new uPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, body);
    charts.add(chart);
  });
  if (!resizeHooked) {
    resizeHooked = true;
    window.addEventListener('resize', () => {
      for (const c of charts) {
        const parent = c.root.parentElement;
        if (parent) c.setSize(sizeOf(parent));
      }
    });
  }
  return card;
}
