/** Small display helpers. Every value reaches the page through textContent, never as HTML. */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export const num = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  if (n >= 1_000) return `${(n / 1000).toFixed(2)} s`;
  if (n > 0 && n < 10) return `${n.toFixed(1)} ms`;
  return `${Math.round(n)} ms`;
}

export const pct = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? '–' : `${(n * 100).toFixed(n < 0.1 ? 2 : 1)}%`);

export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n === 0) return '$0';
  // Costs are whole micro-dollars: six decimals show one (five showed a single call as "$0.00000").
  if (Math.abs(n) < 0.00001) return `$${n.toFixed(6)}`;
  if (Math.abs(n) < 0.01) return `$${n.toFixed(5)}`;
  return `$${n.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })}`;
}

export function compact(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return num(n);
}

export function time(iso: string | number): string {
  const d = new Date(iso);
  return d.toLocaleTimeString('en-GB', { hour12: false });
}

export function dateTime(iso: string | number | null): string {
  if (iso === null) return '–';
  const d = new Date(iso);
  return `${d.toLocaleDateString('en-CA')} ${d.toLocaleTimeString('en-GB', { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function statusClass(status: number | null, errorClass: string | null): string {
  if (errorClass || status === null || status >= 400) return 'bad';
  return 'ok';
}
