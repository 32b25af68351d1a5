import { alertsFileSchema, type AlertRule } from '../../shared/config/alert-rules';
import type { AggregateRow, AggregatesQuery } from '../aggregates-contract';
import { AggregatorCore } from '../../aggregator/core/aggregator-core';
import { RELATIVE_ACCURACY } from '../../aggregator/core/aggregate-record';
import type { InferenceEvent } from '../../shared/event/inference-event';
import { sampleEvent } from '../../../test/support/sample-event';
import { exactQuantile, meanOfWindowPercentiles, relativeError, skewedTraffic } from '../../../test/support/skewed-latency';
import { AggregatesView } from '../aggregates-view';
import { Registry } from 'prom-client';
import type { EventLog } from '../../shared/log/event-log';
import { createLogger } from '../../shared/observability/logger';
import { startAlertRunner } from './alert-runner';
import { AlertTracker, type AlertTransition } from './alert-tracker';
import { escapeSlack, slackBody } from './alert-format';
import { evaluateRule, queryFor } from './evaluate-rules';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0);

interface Minute {
  group?: string;
  calls: number;
  errors?: number;
  p95?: number;
  ttftP95?: number;
  costUsd?: number;
}

/** Synthetic aggregate rows: one per minute (or hour) and group, as the aggregator would publish them. */
function row(start: number, m: Minute, windowMs = MIN): AggregateRow {
  const p = (v: number) => ({ p50: v / 2, p90: v * 0.9, p95: v, p99: v * 1.2 });
  return {
    windowStart: new Date(start).toISOString(),
    windowEnd: new Date(start + windowMs).toISOString(),
    group: m.group ?? '',
    final: true,
    calls: m.calls,
    errors: m.errors ?? 0,
    errorsByClass: {},
    errorRate: m.calls ? (m.errors ?? 0) / m.calls : 0,
    cancelled: 0,
    late: 0,
    inputTokens: 10 * m.calls,
    outputTokens: 20 * m.calls,
    cachedTokens: 0,
    reasoningTokens: 0,
    costMicroUsd: Math.round((m.costUsd ?? 0) * 1_000_000),
    latencyMs: p(m.p95 ?? 100),
    ttftMs: m.ttftP95 === undefined ? null : p(m.ttftP95),
    outputTokensPerSecond: null,
  };
}

/** A store of rows answering queries like the aggregates API: window, group-by, time range. */
class Rows {
  private readonly rows: { window: string; groupBy: string; row: AggregateRow }[] = [];
  add(window: '1m' | '1h', groupBy: string, r: AggregateRow): void {
    this.rows.push({ window, groupBy, row: r });
  }
  query(q: AggregatesQuery): AggregateRow[] {
    return this.rows
      .filter((x) => x.window === q.window && x.groupBy === q.groupBy)
      .map((x) => x.row)
      .filter((r) => Date.parse(r.windowStart) >= q.from - 60 * MIN && Date.parse(r.windowStart) < q.to);
  }
}

function rules(yaml: unknown): AlertRule[] {
  return alertsFileSchema.parse({ rules: yaml }).rules;
}

/** Runs the evaluator + tracker once a minute from T0 for `minutes`, with traffic from `traffic(minuteIndex)`. */
function simulate(
  ruleList: AlertRule[],
  minutes: number,
  traffic: (i: number, rows: Rows, start: number) => void,
  cooldownMs = 0,
): { minute: number; t: AlertTransition }[] {
  const rowsStore = new Rows();
  const tracker = new AlertTracker(cooldownMs);
  const out: { minute: number; t: AlertTransition }[] = [];
  for (let i = 0; i < minutes; i++) {
    traffic(i, rowsStore, T0 + i * MIN);
    const now = T0 + (i + 1) * MIN;
    const obs = ruleList.flatMap((r) => evaluateRule(r, rowsStore.query(queryFor(r, now)), now));
    for (const t of tracker.step(obs, new Set(ruleList.map((r) => r.name)), now)) out.push({ minute: i, t });
  }
  return out;
}

/**
 * Like simulate, but from calls: each minute's calls go through the
 * aggregator's core, and the rules read the console's view of its partials
 * (sketches and all), as in the console.
 */
function simulateCalls(
  ruleList: AlertRule[],
  minutes: number,
  calls: (i: number, start: number) => Partial<InferenceEvent>[],
): { minute: number; t: AlertTransition }[] {
  const core = new AggregatorCore({ windowSizesMs: [MIN, 60 * MIN], graceMs: 30_000, idleCloseMs: 120_000, maxKeys: 1_000 });
  const view = new AggregatesView();
  const tracker = new AlertTracker(0);
  const out: { minute: number; t: AlertTransition }[] = [];
  for (let i = 0; i < minutes; i++) {
    const start = T0 + i * MIN;
    calls(i, start).forEach((c, k) => core.apply(k % 3, call(start + 1_000 + k, c), start + 1_000));
    const now = T0 + (i + 1) * MIN;
    view.put(core.flush(now).records, now);
    const obs = ruleList.flatMap((r) => evaluateRule(r, view.query(queryFor(r, now)), now));
    for (const t of tracker.step(obs, new Set(ruleList.map((r) => r.name)), now)) out.push({ minute: i, t });
  }
  return out;
}

function call(endedAt: number, c: Partial<InferenceEvent>): InferenceEvent {
  const latency = c.latency_ms ?? 100;
  return sampleEvent({ started_at: endedAt - latency, ended_at: endedAt, latency_ms: latency, first_token_at: null, ttft_ms: null, ...c });
}

const many = (n: number, c: Partial<InferenceEvent>): Partial<InferenceEvent>[] => Array.from({ length: n }, () => c);

const states = (ts: { minute: number; t: AlertTransition }[]) => ts.map(({ minute, t }) => `${minute}:${t.state}:${t.key}`);

describe('alert rules on aggregates', () => {
  it('latency: fires when the model p95 crosses the threshold and resolves when it clears', () => {
    const r = rules([{ name: 'slow-4o', kind: 'latency', percentile: 'p95', aboveMs: 1000, windowMinutes: 2, model: 'gpt-4o' }]);
    const ts = simulateCalls(r, 12, (i) => [
      ...many(10, { request_model: 'gpt-4o', latency_ms: i >= 3 && i < 6 ? 3000 : 200 }),
      ...many(10, { request_model: 'other', latency_ms: 9000 }),
    ]);
    expect(states(ts)).toEqual(['3:firing:slow-4o', '7:resolved:slow-4o']);
    expect(ts[0]!.t.message).toContain('p95 latency for model gpt-4o');
    expect(ts[0]!.t.value).toBeGreaterThan(1000);
  });

  it('latency on time to first token for an upstream', () => {
    const r = rules([{ name: 'ttft', kind: 'latency', metric: 'ttft', percentile: 'p95', aboveMs: 500, windowMinutes: 1, upstream: 'openai' }]);
    const ts = simulateCalls(r, 6, (i, start) => many(5, { upstream: 'openai', first_token_at: start, ttft_ms: i === 2 ? 900 : 100 }));
    expect(states(ts)).toEqual(['2:firing:ttft', '3:resolved:ttft']);
  });

  it('latency over windowMinutes is the percentile of all its calls: one slow minute among fifty quiet ones fires', () => {
    const now = T0 + 2 * 60 * MIN;
    const traffic = skewedTraffic(now);
    const core = new AggregatorCore({ windowSizesMs: [MIN, 60 * MIN], graceMs: 30_000, idleCloseMs: 120_000, maxKeys: 1_000 });
    traffic.events.forEach((e, k) => core.apply(k % 4, e, now));
    const view = new AggregatesView();
    view.put(core.flush(now).records, now);
    const exact = exactQuantile(traffic.latencies, 0.99);
    const rule = (name: string, aboveMs: number) => rules([{ name, kind: 'latency', percentile: 'p99', aboveMs, windowMinutes: 60, model: traffic.model }])[0]!;
    // The mean of the minutes' p99s (what this rule used to compute) is far below 1 s.
    const perMinute = view.query({ window: '1m', groupBy: 'model', from: now - 60 * MIN, to: now }).filter((x) => x.group === traffic.model);
    expect(meanOfWindowPercentiles(perMinute, 'p99')).toBeLessThan(1000);
    const [slow] = evaluateRule(rule('p99-1s', 1000), view.query(queryFor(rule('p99-1s', 1000), now)), now);
    expect(slow).toMatchObject({ firing: true, group: traffic.model });
    expect(relativeError(slow!.value!, exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    // And the value is that p99, not more: a limit above it does not fire.
    const [ok] = evaluateRule(rule('p99-6s', exact * 1.05), view.query(queryFor(rule('p99-6s', exact * 1.05), now)), now);
    expect(ok).toMatchObject({ firing: false });
  });

  it('a rule on a model counts its failed calls (no served model) with its successful ones; servedModel watches the snapshot', () => {
    const r = rules([
      { name: 'errors-4o', kind: 'error_rate', above: 0.3, windowMinutes: 1, model: 'gpt-4o' },
      { name: 'slow-snapshot', kind: 'latency', percentile: 'p50', aboveMs: 1000, windowMinutes: 1, servedModel: 'gpt-4o-2024-08-06' },
    ]);
    const ts = simulateCalls(r, 3, (i) =>
      i === 1
        ? [
            ...many(6, { request_model: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', latency_ms: 1500 }),
            ...many(4, { request_model: 'gpt-4o', response_model: null, error_class: 'server_error', http_status: 500, latency_ms: 20 }),
          ]
        : many(10, { request_model: 'gpt-4o', response_model: 'gpt-4o-2024-08-06', latency_ms: 200 }),
    );
    expect(states(ts)).toEqual(['1:firing:errors-4o', '1:firing:slow-snapshot', '2:resolved:errors-4o', '2:resolved:slow-snapshot']);
    expect(ts[0]!.t.message).toContain('40.0% (4 of 10 calls');
    expect(ts[1]!.t.message).toContain('for served model gpt-4o-2024-08-06');
  });

  it('error rate: fires above the threshold (with enough calls) and resolves', () => {
    const r = rules([{ name: 'errors', kind: 'error_rate', above: 0.1, windowMinutes: 1, minCalls: 5 }]);
    const ts = simulate(r, 8, (i, rows, start) => {
      const calls = i === 1 ? 2 : 20; // minute 1: 100% errors but too few calls
      const errors = i === 1 ? 2 : i >= 3 && i < 5 ? 10 : 0;
      rows.add('1m', 'overall', row(start, { calls, errors }));
    });
    expect(states(ts)).toEqual(['3:firing:errors', '5:resolved:errors']);
  });

  it('cost per hour per user: each user against the budget, resolving as the hour rolls on', () => {
    const r = rules([{ name: 'user-budget', kind: 'cost', per: 'hour', budgetUsd: 1, scope: 'user' }]);
    const ts = simulate(r, 70, (i, rows, start) => {
      rows.add('1m', 'user', row(start, { group: 'alice', calls: 1, costUsd: i === 5 ? 2 : 0.001 }));
      rows.add('1m', 'user', row(start, { group: 'bob', calls: 1, costUsd: 0.001 }));
    });
    // alice's $2 minute leaves the last hour 60 minutes after it happened.
    expect(states(ts)).toEqual(['5:firing:user-budget|alice', '65:resolved:user-budget|alice']);
    expect(ts[0]!.t.group).toBe('alice');
  });

  it('cost per day overall reads hourly windows', () => {
    const r = rules([{ name: 'daily', kind: 'cost', per: 'day', budgetUsd: 50 }]);
    expect(queryFor(r[0]!, T0)).toMatchObject({ window: '1h', groupBy: 'overall', from: T0 - 24 * 60 * MIN });
    const rowsStore = new Rows();
    rowsStore.add('1h', 'overall', row(T0 - 2 * 60 * MIN, { calls: 100, costUsd: 30 }, 60 * MIN));
    rowsStore.add('1h', 'overall', row(T0 - 60 * MIN, { calls: 100, costUsd: 30 }, 60 * MIN));
    const [o] = evaluateRule(r[0]!, rowsStore.query(queryFor(r[0]!, T0)), T0);
    expect(o).toMatchObject({ firing: true, value: 60 });
  });

  it('no traffic: fires after N quiet minutes and resolves when calls come back', () => {
    const r = rules([{ name: 'silence', kind: 'no_traffic', minutes: 3 }]);
    const ts = simulate(r, 12, (i, rows, start) => {
      if (i < 2 || i >= 8) rows.add('1m', 'overall', row(start, { calls: 3 }));
    });
    expect(states(ts)).toEqual(['4:firing:silence', '8:resolved:silence']);
  });

  it('de-duplicates a condition that stays true and holds back a flapping one during the cool-down', () => {
    const r = rules([{ name: 'errors', kind: 'error_rate', above: 0.5, windowMinutes: 1 }]);
    // Flaps every minute for 10 minutes, then stays bad.
    const bad = (i: number) => (i < 10 ? i % 2 === 0 : true);
    const ts = simulate(r, 20, (i, rows, start) => rows.add('1m', 'overall', row(start, { calls: 10, errors: bad(i) ? 10 : 0 })), 5 * MIN);
    expect(states(ts)).toEqual(['0:firing:errors', '1:resolved:errors', '6:firing:errors', '7:resolved:errors', '11:firing:errors']);
  });
});

describe('alert state across a restart', () => {
  const r = new Set(['errors']);
  const obs = (firing: boolean, group: string | null = null) =>
    ({ key: group ? `errors|${group}` : 'errors', rule: 'errors', kind: 'error_rate', group, firing, value: firing ? 0.9 : 0, threshold: 0.5, message: 'error rate' }) as const;

  it('a condition notified before the restart is not notified again while it holds, and resolves once', () => {
    const before = new AlertTracker(5 * MIN);
    const sent = before.step([obs(true)], r, T0);
    expect(sent.map((t) => t.state)).toEqual(['firing']);
    const after = new AlertTracker(5 * MIN);
    after.restore(sent, r, T0 + MIN);
    expect(after.active().map((t) => [t.key, t.since, t.message])).toEqual([['errors', new Date(T0).toISOString(), 'errors: error rate']]);
    expect(after.step([obs(true)], r, T0 + 2 * MIN)).toEqual([]);
    const resolved = after.step([obs(false)], r, T0 + 3 * MIN);
    expect(resolved.map((t) => [t.state, t.id])).toEqual([['resolved', sent[0]!.id]]);
  });

  it('a cool-down that began before the restart goes on after it', () => {
    const before = new AlertTracker(5 * MIN);
    const sent = [...before.step([obs(true)], r, T0), ...before.step([obs(false)], r, T0 + MIN)];
    expect(sent.map((t) => t.state)).toEqual(['firing', 'resolved']);
    const after = new AlertTracker(5 * MIN);
    after.restore(sent, r, T0 + 2 * MIN);
    expect(after.step([obs(true)], r, T0 + 2 * MIN)).toEqual([]); // inside the cool-down: held back
    expect(after.step([obs(true)], r, T0 + 5 * MIN).map((t) => t.state)).toEqual(['firing']); // still firing when it ends
  });

  it('ignores transitions of rules no longer configured and cool-downs that are over', () => {
    const before = new AlertTracker(5 * MIN);
    const sent = [...before.step([obs(true, 'a')], r, T0), ...before.step([obs(false, 'a')], r, T0 + MIN)];
    const after = new AlertTracker(5 * MIN);
    after.restore(sent, new Set(['other']), T0 + 2 * MIN);
    after.restore([...sent, { ...sent[0]!, key: 'gone', rule: 'gone' }], r, T0 + 10 * MIN);
    expect(after.active()).toEqual([]);
    expect(after.step([obs(true, 'a')], r, T0 + 10 * MIN).map((t) => t.state)).toEqual(['firing']);
  });
});

describe('alert rule config', () => {
  it('names the bad key', () => {
    const parsed = alertsFileSchema.safeParse({ rules: [{ name: 'x', kind: 'latency', percentile: 'p97', aboveMs: 1 }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(['rules', 0, 'percentile']);
  });

  it('refuses duplicate names, unknown keys and a rule on two targets', () => {
    const dup = alertsFileSchema.safeParse({ rules: [{ name: 'a', kind: 'no_traffic', minutes: 1 }, { name: 'a', kind: 'no_traffic', minutes: 2 }] });
    expect(dup.error!.issues[0]).toMatchObject({ path: ['rules', 1, 'name'] });
    const unknown = alertsFileSchema.safeParse({ rules: [{ name: 'a', kind: 'no_traffic', minutes: 1, minute: 2 }] });
    expect(unknown.success).toBe(false);
    const both = alertsFileSchema.safeParse({ rules: [{ name: 'a', kind: 'no_traffic', minutes: 1, model: 'm', upstream: 'u' }] });
    expect(both.error!.issues[0]).toMatchObject({ path: ['rules', 0, 'upstream'] });
    const served = alertsFileSchema.safeParse({ rules: [{ name: 'a', kind: 'latency', percentile: 'p95', aboveMs: 1, model: 'm', servedModel: 's' }] });
    expect(served.error!.issues[0]).toMatchObject({ path: ['rules', 0, 'servedModel'], message: 'set one of model, servedModel or upstream, not model and servedModel' });
  });

  it('formats a Slack-compatible body', () => {
    const r = rules([{ name: 'silence', kind: 'no_traffic', minutes: 3 }]);
    const [o] = evaluateRule(r[0]!, [], T0);
    const [t] = new AlertTracker(0).step([o!], new Set(['silence']), T0);
    expect(slackBody(t!).text).toMatch(/^:red_circle: llm-logger alert FIRING: \*silence\*: silence: 0 calls in the last 3 min$/);
  });

  it('escapes &, < and > for Slack mrkdwn, so <!channel> and <url|text> from the traffic stay text', () => {
    expect(escapeSlack('<!channel> & <https://evil.example|click>')).toBe('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    expect(escapeSlack('&lt;')).toBe('&amp;lt;');
  });
});

describe('alert runner start', () => {
  it('evaluates on its timer only once the aggregate view is loaded, and then at once', async () => {
    const queried: number[] = [];
    let loaded!: () => void;
    const runner = startAlertRunner({
      config: alertsFileSchema.parse({ evaluateEverySeconds: 1, rules: [{ name: 'silence', kind: 'no_traffic', minutes: 3 }] }),
      source: async () => {
        queried.push(Date.now());
        return [];
      },
      log: { append: async () => undefined } as unknown as EventLog,
      registry: new Registry(),
      logger: createLogger('silent', 'test'),
      onTransition: () => undefined,
      ready: new Promise<void>((r) => (loaded = r)),
    });
    try {
      await new Promise((r) => setTimeout(r, 1_300)); // one timer tick went by
      expect(queried).toEqual([]); // a half-loaded view would have said "no traffic"
      const at = Date.now();
      loaded();
      await new Promise((r) => setTimeout(r, 100));
      expect(queried.length).toBe(1);
      expect(queried[0]! - at).toBeLessThan(100);
    } finally {
      await runner.stop();
    }
  });

  it('takes back the transitions sent before the start: no second notification for a condition that holds', async () => {
    const config = alertsFileSchema.parse({ evaluateEverySeconds: 60, rules: [{ name: 'silence', kind: 'no_traffic', minutes: 3 }] });
    const run = async (history?: Promise<AlertTransition[]>) => {
      const sent: AlertTransition[] = [];
      const runner = startAlertRunner({
        config,
        source: async () => [],
        log: { append: async () => undefined } as unknown as EventLog,
        registry: new Registry(),
        logger: createLogger('silent', 'test'),
        onTransition: (t) => sent.push(t),
        history,
      });
      await new Promise((r) => setTimeout(r, 50));
      await runner.evaluate();
      const recent = runner.recent();
      await runner.stop();
      return { sent, recent };
    };
    const first = await run();
    expect(first.sent.map((t) => t.state)).toEqual(['firing']);
    const second = await run(Promise.resolve(first.sent));
    expect(second.sent).toEqual([]);
    expect(second.recent).toEqual(first.sent); // the dashboard's recent transitions survive too
    // History that cannot be read: the runner starts anyway (and notifies again).
    const third = await run(Promise.reject(new Error('log down')));
    expect(third.sent.map((t) => t.state)).toEqual(['firing']);
  });
});
