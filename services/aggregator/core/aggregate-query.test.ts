import { exactQuantile, meanOfWindowPercentiles, relativeError, skewedTraffic } from '../../../test/support/skewed-latency';
import { AggregatesView } from '../../console/aggregates-view';
import { RELATIVE_ACCURACY, WINDOWS, type AggregateRecord } from './aggregate-record';
import { AggregatorCore } from './aggregator-core';
import { coveredRange, mergePartials, parseAggregateQuery, rollupPartials } from './aggregate-query';

const MIN = 60_000;
const options = { windowSizesMs: [MIN, 60 * MIN], graceMs: 30_000, idleCloseMs: 120_000, maxKeys: 1_000 };
const PERCENTILES = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.95, 'p95'],
  [0.99, 'p99'],
] as const;

/** Every partial the aggregator publishes for `events`, spread over four input partitions; the newest per key. */
function aggregate(events: ReturnType<typeof skewedTraffic>['events'], now: number): AggregateRecord[] {
  const core = new AggregatorCore(options);
  const newest = new Map<string, AggregateRecord>();
  events.forEach((e, i) => {
    core.apply(i % 4, e, now);
    if (i % 500 === 499) for (const r of core.flush(now).records) newest.set(`${r.window_size_ms}|${r.window_start}|${r.dimension}|${r.group}|${r.source_partition}`, r);
  });
  for (const r of core.flush(now + 10 * MIN).records) newest.set(`${r.window_size_ms}|${r.window_start}|${r.dimension}|${r.group}|${r.source_partition}`, r);
  return [...newest.values()];
}

describe('percentiles over a range', () => {
  const now = Date.now();
  const traffic = skewedTraffic(now);
  const records = aggregate(traffic.events, now);
  const ofModel = (size: number) => records.filter((r) => r.dimension === 'model' && r.group === traffic.model && r.window_size_ms === size);

  it('the ground truth is skewed: the mean of the one-minute p99s is off by more than 20%', () => {
    const perMinute = mergePartials(ofModel(MIN));
    expect(perMinute).toHaveLength(51);
    const exact = exactQuantile(traffic.latencies, 0.99);
    expect(exact).toBeGreaterThanOrEqual(5_000);
    expect(relativeError(meanOfWindowPercentiles(perMinute, 'p99'), exact)).toBeGreaterThan(0.2);
  });

  it.each([
    ['1m', MIN],
    ['1h', 60 * MIN],
  ] as const)('a rollup of %s windows merges the sketches: every percentile within 1%% of the exact one', (window, size) => {
    const q = { window, from: traffic.from, to: now };
    const rows = rollupPartials(ofModel(size), q);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ group: traffic.model, calls: traffic.events.length, errors: 0 });
    // The hour that holds `now` may still be open: the rollup is final only when every window is.
    if (size === MIN) expect(row.final).toBe(true);
    expect(row.windowStart).toBe(new Date(coveredRange(q).start).toISOString());
    expect(row.windowEnd).toBe(new Date(coveredRange(q).end).toISOString());
    for (const [quantile, name] of PERCENTILES) {
      expect(relativeError(row.latencyMs![name], exactQuantile(traffic.latencies, quantile))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
      const ttfts = traffic.events.map((e) => e.ttft_ms!);
      expect(relativeError(row.ttftMs![name], exactQuantile(ttfts, quantile))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    }
  });

  it('the console view answers rollup=true with one merged row per group, the same numbers', () => {
    const view = new AggregatesView();
    view.put(records, now);
    const q = parseAggregateQuery(new URLSearchParams({ groupBy: 'app', from: String(traffic.from), to: String(now), rollup: 'true' }), now);
    if ('parameter' in q) throw new Error(q.message);
    const rows = view.query(q).filter((r) => r.group === traffic.app);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.calls).toBe(traffic.events.length);
    expect(relativeError(rows[0]!.latencyMs!.p99, exactQuantile(traffic.latencies, 0.99))).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    // Without rollup: the per-window rows, unchanged.
    expect(view.query({ ...q, rollup: false }).filter((r) => r.group === traffic.app)).toHaveLength(51);
  });

  it('a rollup of a range without calls has no rows', () => {
    expect(rollupPartials([], { window: '1m', from: now - 5 * MIN, to: now })).toEqual([]);
  });

  it('the covered range is the windows overlapping the query', () => {
    const t = Date.UTC(2026, 0, 1, 12, 0);
    expect(coveredRange({ window: '1m', from: t + 30_000, to: t + 5 * MIN })).toEqual({ start: t, end: t + 5 * MIN });
    expect(coveredRange({ window: '1h', from: t + 1, to: t + 60 * MIN + 1 })).toEqual({ start: t, end: t + 2 * WINDOWS['1h'] });
  });
});
