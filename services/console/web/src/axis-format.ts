/**
 * Tick labels for the charts' axes. Pure (no DOM), so the rules are easy to
 * read: a y axis gets the decimals its tick step needs, so two ticks
 * never read the same (ticks 0.000005 apart were both "$0.00001" when every
 * label used the table's five decimals); the time axis reads HH:MM (24-hour,
 * like every time on the console), with the date under the first tick of each
 * day when the range spans several days, and D Mon for daily ticks.
 */

export type AxisKind = 'count' | 'ratio' | 'ms' | 'usd';

const DAY_S = 86_400;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Decimals that write `step` exactly (2.5 → 1, 0.000005 → 6), so that ticks at its multiples read as they are. */
export function decimalsFor(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  for (let d = 0; d < 12; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) <= 1e-9 * scaled) return d;
  }
  return 12;
}

function fixed(v: number, decimals: number): string {
  return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

function label(kind: AxisKind, v: number, step: number, max: number, extra: number): string {
  switch (kind) {
    case 'count': {
      const [div, unit] = max >= 1e9 ? [1e9, 'B'] : max >= 1e6 ? [1e6, 'M'] : max >= 1e4 ? [1e3, 'k'] : [1, ''];
      return v === 0 ? '0' : `${fixed(v / div, decimalsFor(step / div) + extra)}${unit}`;
    }
    case 'ratio':
      return v === 0 ? '0%' : `${fixed(v * 100, decimalsFor(step * 100) + extra)}%`;
    case 'ms':
      if (v === 0) return '0 ms';
      return max >= 1000 ? `${fixed(v / 1000, decimalsFor(step / 1000) + extra)} s` : `${fixed(v, decimalsFor(step) + extra)} ms`;
    case 'usd':
      return v === 0 ? '$0' : `$${fixed(v, Math.max(step < 1 ? 2 : 0, decimalsFor(step)) + extra)}`;
  }
}

/** Labels for y ticks `splits`, `step` apart: distinct whatever the scale. */
export function valueLabels(kind: AxisKind, splits: readonly number[], step: number): string[] {
  const max = Math.max(0, ...splits.map(Math.abs));
  let labels: string[] = [];
  // A step that is not a round number (uPlot's are: 1, 2, 2.5, 5 × 10^n) could still round two ticks alike.
  for (let extra = 0; extra <= 3; extra++) {
    labels = splits.map((v) => label(kind, v, step, max, extra));
    if (new Set(labels).size === labels.length) break;
  }
  return labels;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const dayMonth = (d: Date): string => `${d.getDate()} ${MONTHS[d.getMonth()]}`;

/** Labels for time ticks (epoch seconds, `stepS` apart), in the browser's time zone. */
export function timeLabels(splits: readonly number[], stepS: number): string[] {
  const dates = splits.map((s) => new Date(s * 1000));
  if (stepS >= DAY_S) return dates.map(dayMonth);
  const days = dates.map((d) => d.toDateString());
  const severalDays = new Set(days).size > 1;
  return dates.map((d, i) => {
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return severalDays && (i === 0 || days[i] !== days[i - 1]) ? `${hm}\n${dayMonth(d)}` : hm;
  });
}

/** The widest label the time axis draws on one line, to space its ticks by. */
export const WIDEST_TIME_LABELS = ['00:00', '30 Sep'];
