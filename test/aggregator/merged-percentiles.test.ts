import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import type { AggregateRow } from '../../services/aggregator/core/aggregate-query';
import type { AggregatesAnswer } from '../../services/console/aggregates-contract';
import type { AlertTransition } from '../../services/console/alerts/alert-tracker';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { exactQuantile, meanOfWindowPercentiles, relativeError, skewedTraffic, type SkewedTraffic } from '../support/skewed-latency';

/**
 * Percentiles over a range, through the real aggregator on the embedded log:
 * one minute of 5 s calls among fifty minutes of 50 ms calls, written to
 * llm.inference.v1 as the gateway would, read back from GET /api/aggregates
 * and from the alert rules. The mean of the minutes' p99s is off by far more
 * than 20%; the rollup's p99 (merged sketches) is within 1% of the exact p99
 * of the raw calls, and a latency rule fires on it.
 */

const PERCENTILES = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.95, 'p95'],
  [0.99, 'p99'],
] as const;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('percentiles over a range on the embedded pipeline', () => {
  let dir: string;
  let pipeline: Pipeline;
  let traffic: SkewedTraffic;
  let exactP99: number;

  beforeAll(async () => {
    traffic = skewedTraffic(Date.now());
    exactP99 = exactQuantile(traffic.latencies, 0.99);
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-percentiles-'));
    const config = join(dir, 'llm-logger.yaml');
    writeFileSync(
      config,
      [
        'alerts:',
        '  evaluateEverySeconds: 1',
        '  rules:',
        `    - { name: p99-over-1s, kind: latency, percentile: p99, aboveMs: 1000, windowMinutes: 60, model: ${traffic.model} }`,
        `    - { name: p99-over-limit, kind: latency, percentile: p99, aboveMs: ${Math.round(exactP99 * 1.05)}, windowMinutes: 60, model: ${traffic.model} }`,
        '',
      ].join('\n'),
    );
    // No call goes upstream here: the events are written to the log directly.
    pipeline = await startPipeline('http://127.0.0.1:9', { LLM_LOGGER_CONFIG: config, LLM_LOGGER_AGGREGATOR_EMIT_INTERVAL_MS: '200' });
    const serde = await inferenceEventSerde(pipeline.log.schemaRegistry);
    // In time order, as calls end: every minute closes after its calls, none is late.
    for (let i = 0; i < traffic.events.length; i += 500) {
      const chunk = traffic.events.slice(i, i + 500);
      await pipeline.log.append(TOPICS.inference, chunk.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })));
    }
  }, 60_000);

  afterAll(async () => {
    await pipeline?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const aggregatesUrl = (params: Record<string, string>) =>
    `${pipeline.consoleUrl}/api/aggregates?${new URLSearchParams({ from: String(traffic.from), to: String(Date.now()), ...params })}`;

  test('rollup=true: one row per group over the range, each percentile within 1% of the exact one; the mean of p99s is off by > 20%', async () => {
    const answer = await until(
      'the rollup counts every call',
      () => getJson<AggregatesAnswer>(aggregatesUrl({ window: '1m', groupBy: 'model', rollup: 'true' })),
      (a) => a.rows.find((r) => r.group === traffic.model)?.calls === traffic.events.length,
    );
    expect(answer).toMatchObject({ window: '1m', groupBy: 'model', rollup: true, relativeAccuracy: 0.01 });
    expect(answer.rows).toHaveLength(1);
    const row = answer.rows[0]!;
    expect(row).toMatchObject({ group: traffic.model, calls: traffic.events.length, errors: 0 });
    for (const [q, name] of PERCENTILES) {
      expect(relativeError(row.latencyMs![name], exactQuantile(traffic.latencies, q))).toBeLessThanOrEqual(answer.relativeAccuracy);
    }
    expect(row.latencyMs!.p99).toBeGreaterThan(4_900);

    // The per-window rows are unchanged (rollup=false is the default): 51 minutes, and their
    // call-weighted mean p99 (what the dashboard and the alerts used to show) is nowhere near.
    const perMinute = await getJson<AggregatesAnswer>(aggregatesUrl({ window: '1m', groupBy: 'model' }));
    expect(perMinute.rollup).toBe(false);
    const rows = perMinute.rows.filter((r: AggregateRow) => r.group === traffic.model);
    expect(rows).toHaveLength(51);
    expect(rows.reduce((n, r) => n + r.calls, 0)).toBe(traffic.events.length);
    expect(relativeError(meanOfWindowPercentiles(rows, 'p99'), exactP99)).toBeGreaterThan(0.2);
  }, 40_000);

  test('hour windows and other dimensions roll up the same calls to the same p99', async () => {
    for (const [window, groupBy, group] of [
      ['1h', 'model', traffic.model],
      ['1m', 'app', traffic.app],
      ['1m', 'overall', ''],
    ] as const) {
      const answer = await until(
        `${window} ${groupBy}`,
        () => getJson<AggregatesAnswer>(aggregatesUrl({ window, groupBy, rollup: 'true' })),
        (a) => a.rows.find((r) => r.group === group)?.calls === traffic.events.length,
      );
      const row = answer.rows.find((r) => r.group === group)!;
      expect(relativeError(row.latencyMs!.p99, exactP99)).toBeLessThanOrEqual(0.01);
      expect(relativeError(row.ttftMs!.p99, exactQuantile(traffic.events.map((e) => e.ttft_ms!), 0.99))).toBeLessThanOrEqual(0.01);
    }
  }, 40_000);

  test('a latency rule over 60 minutes fires on the merged p99, with that value', async () => {
    // An active alert shows the value of the latest round (a round may have seen only part of the calls).
    const alerts = await until(
      'the p99 rule fires, measuring the p99 of all the calls',
      () => getJson<{ active: AlertTransition[] }>(`${pipeline.consoleUrl}/api/alerts`),
      (a) => a.active.some((t) => t.rule === 'p99-over-1s' && relativeError(t.value!, exactP99) <= 0.01),
    );
    const fired = alerts.active.find((t) => t.rule === 'p99-over-1s')!;
    expect(fired).toMatchObject({ state: 'firing', group: traffic.model, threshold: 1000 });
    expect(fired.message).toContain(`p99 latency for model ${traffic.model}`);
    // The value is the p99, not more: a limit 5% above the exact p99 does not fire.
    expect(alerts.active.some((t) => t.rule === 'p99-over-limit')).toBe(false);
  }, 40_000);

  test('?rollup=maybe is refused naming rollup', async () => {
    const res = await fetch(aggregatesUrl({ rollup: 'maybe' }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { parameter: string } }).error.parameter).toBe('rollup');
  });
});
