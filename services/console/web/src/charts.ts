import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { timeLabels, valueLabels, WIDEST_TIME_LABELS, type AxisKind } from './axis-format';
import { el } from './format';

/** Time-series cards drawn with uPlot (small, fast, canvas-based). */

export interface SeriesSpec {
  label: string;
  color: string;
  values: (number | null)[];
  fill?: boolean;
}

/** One tick label as drawn on a chart's canvas, in CSS pixels from the chart's top left corner. */
export interface LabelBox {
  text: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const AXIS_FONT_PX = 12;
const AXIS_FONT = `${AXIS_FONT_PX}px system-ui, -apple-system, 'Segoe UI', sans-serif`;
/** Room between two time labels, beyond their own width. */
const TIME_LABEL_GAP_PX = 24;
const TICK_PX = 10;
const AXIS_GAP_PX = 5;

const charts = new Set<uPlot>();
let resizeHooked = false;
let measureCtx: CanvasRenderingContext2D | null = null;

/** Width of a (possibly multi-line) label in the axis font, in CSS pixels. */
function textWidth(text: string): number {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  if (!measureCtx) return text.length * AXIS_FONT_PX * 0.6;
  measureCtx.font = AXIS_FONT;
  return Math.max(...text.split('\n').map((line) => measureCtx!.measureText(line).width));
}

function sizeOf(container: HTMLElement): { width: number; height: number } {
  return { width: Math.max(240, container.clientWidth - 8), height: 170 };
}

export function destroyCharts(): void {
  for (const c of charts) c.destroy();
  charts.clear();
}

/**
 * Where uPlot drew the tick labels (it centres a time label on its tick and
 * right-aligns a value label beside the y axis), as `data-axis-labels` on the
 * card: the canvas holds no text a test or an inspector could read.
 */
function publishLabels(u: uPlot, card: HTMLElement, drawn: { x: string[]; y: string[]; xs: number[]; ys: number[] }): void {
  const root = u.root.getBoundingClientRect();
  const over = u.over.getBoundingClientRect();
  const ox = over.left - root.left;
  const oy = over.top - root.top;
  const x: LabelBox[] = drawn.x.map((text, i) => {
    const cx = ox + u.valToPos(drawn.xs[i]!, 'x');
    const w = textWidth(text);
    const top = oy + over.height + TICK_PX + AXIS_GAP_PX;
    return { text, left: cx - w / 2, right: cx + w / 2, top, bottom: top + AXIS_FONT_PX * text.split('\n').length };
  });
  const y: LabelBox[] = drawn.y.map((text, i) => {
    const cy = oy + u.valToPos(drawn.ys[i]!, 'y');
    const right = ox - TICK_PX - AXIS_GAP_PX;
    return { text, left: right - textWidth(text), right, top: cy - AXIS_FONT_PX / 2, bottom: cy + AXIS_FONT_PX / 2 };
  });
  card.dataset.axisLabels = JSON.stringify({ x, y });
}

export function chartCard(title: string, xs: number[], series: SeriesSpec[], format: (v: number) => string, axis: AxisKind): HTMLElement {
  const body = el('div', { class: 'chart-body' });
  const card = el('section', { class: 'card chart', 'data-chart': title }, el('h3', {}, title), body);
  // The labels of the last draw, to publish where they went.
  const drawn = { x: [] as string[], y: [] as string[], xs: [] as number[], ys: [] as number[] };
  const axisStyle = { stroke: '#94a3b8', font: AXIS_FONT, gap: AXIS_GAP_PX, grid: { stroke: '#1e293b' }, ticks: { stroke: '#334155', size: TICK_PX } };
  requestAnimationFrame(() => {
    const opts: uPlot.Options = {
      ...sizeOf(body),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      // From zero: a flat or single-valued series must not get a tiny, misleading axis.
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          ...axisStyle,
          // Ticks at least one label (plus a gap) apart: "10:50" must not run into "10:55".
          space: () => Math.max(...WIDEST_TIME_LABELS.map(textWidth)) + TIME_LABEL_GAP_PX,
          values: (_u, splits, _axisIdx, _space, incr) => {
            drawn.xs = splits;
            return (drawn.x = timeLabels(splits, incr));
          },
        },
        {
          ...axisStyle,
          // As wide as its widest label, so that "$0.000015" is not cut.
          size: (_u, values) => Math.ceil(Math.max(24, ...(values ?? []).map(textWidth))) + TICK_PX + AXIS_GAP_PX + 4,
          values: (_u, splits, _axisIdx, _space, incr) => {
            drawn.ys = splits;
            return (drawn.y = valueLabels(axis, splits, incr));
          },
        },
      ],
      hooks: { draw: [(u) => publishLabels(u, card, drawn)] },
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
