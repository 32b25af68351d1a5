import { sampleEvent } from '../../../test/support/sample-event';
import type { InferenceEvent } from '../../shared/event/inference-event';
import { DIMENSIONS, NONE_GROUP, OTHER_GROUP, type AggregateRecord } from './aggregate-record';
import { AggregatorCore } from './aggregator-core';
import { mergePartials, parseAggregateQuery } from './aggregate-query';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
/** Wall-clock time in tests that are not about it: a while after the events. */
const W = T0 + 10 * MIN;
const options = { windowSizesMs: [MIN, 60 * MIN], graceMs: 30_000, idleCloseMs: 120_000, maxKeys: 3 };

function ev(endedAt: number, partial: Partial<InferenceEvent> = {}): InferenceEvent {
  return sampleEvent({ started_at: endedAt - 1000, first_token_at: endedAt - 800, ended_at: endedAt, latency_ms: 1000, ttft_ms: 200, ...partial });
}

function find(records: AggregateRecord[], size: number, dimension: string, group: string, start = T0): AggregateRecord | undefined {
  return records.find((r) => r.window_size_ms === size && r.dimension === dimension && r.group === group && r.window_start === start);
}

describe('AggregatorCore', () => {
  it('counts calls, tokens, cost and errors per window and group', () => {
    const core = new AggregatorCore(options);
    core.apply(0, ev(T0 + 1_000), W + 1);
    core.apply(0, ev(T0 + 2_000, { error_class: 'rate_limited', http_status: 429, user: 'bob' }), W + 1);
    core.apply(0, ev(T0 + 3_000, { client_cancelled: true, error_class: 'client_cancelled' }), W + 1);
    const { records } = core.flush(W + 2);
    const overall = find(records, MIN, 'overall', '')!;
    expect(overall).toMatchObject({ calls: 3, errors: 1, errors_by_class: { rate_limited: 1 }, cancelled: 1, input_tokens: 36, output_tokens: 9, cost_micro_usd: 12, final: false });
    expect(find(records, MIN, 'user', 'bob')!.calls).toBe(1);
    expect(find(records, MIN, 'user', 'alice')!.calls).toBe(2);
    expect(find(records, MIN, 'app', '__none__')!.calls).toBe(3);
    expect(find(records, MIN, 'model_upstream', 'gpt-4o-mini@openai')!.calls).toBe(3);
    expect(find(records, 60 * MIN, 'overall', '')!.calls).toBe(3);
    // Nothing changed: nothing to publish.
    expect(core.flush(W + 3).records).toHaveLength(0);
  });

  it('closes a window once stream time passes its end plus the grace period, with one final record', () => {
    const core = new AggregatorCore(options);
    core.apply(0, ev(T0 + 10_000), W + 1);
    core.flush(W + 1);
    core.apply(0, ev(T0 + MIN + 29_000), W + 2); // within grace of window T0
    expect(core.flush(W + 2).records.some((r) => r.final)).toBe(false);
    core.apply(0, ev(T0 + MIN + 30_000), W + 3); // stream time reaches end + grace
    const { records, state } = core.flush(W + 3);
    const final = records.filter((r) => r.final && r.window_size_ms === MIN);
    expect(final).toHaveLength(DIMENSIONS.length); // one group per dimension in window T0
    expect(find(final, MIN, 'overall', '')!.calls).toBe(1);
    // Their state is dropped (tombstones), and they are never published again.
    expect(state.filter((s) => s.record === null)).toHaveLength(DIMENSIONS.length);
    core.apply(0, ev(T0 + 2 * MIN), W + 4);
    expect(core.flush(W + 4).records.filter((r) => r.window_start === T0 && r.window_size_ms === MIN)).toHaveLength(0);
  });

  it('counts events later than the grace period as late, never in their closed window', () => {
    const core = new AggregatorCore(options);
    core.apply(0, ev(T0 + 1_000), W + 1);
    core.apply(0, ev(T0 + 2 * MIN), W + 1);
    core.flush(W + 1); // closes window T0
    const r = core.apply(0, ev(T0 + 5_000), W + 2);
    expect(r.late).toBe(1); // late for the 1-minute window only; the hour is still open
    const { records } = core.flush(W + 2);
    expect(find(records, MIN, 'overall', '', T0)).toBeUndefined();
    expect(find(records, MIN, 'overall', '', T0 + 2 * MIN)).toMatchObject({ calls: 1, late: 1 });
    expect(find(records, 60 * MIN, 'overall', '')).toMatchObject({ calls: 3, late: 0 });
  });

  it('an event stamped ahead of the clock moves stream time only to now + grace', () => {
    const core = new AggregatorCore(options);
    core.apply(0, ev(T0 + 60 * MIN), T0); // a client clock an hour fast
    expect(find(core.flush(T0).records, MIN, 'overall', '', T0 + 60 * MIN)).toMatchObject({ calls: 1, late: 0 });
    // Calls at the real time are not late, and the future one is kept in its own window.
    expect(core.apply(0, ev(T0 + 5_000), T0 + 5_000).late).toBe(0);
    const { records } = core.flush(T0 + 5_000);
    expect(find(records, MIN, 'overall', '', T0)).toMatchObject({ calls: 1, late: 0 });
  });

  it('closes the windows of an idle partition by wall clock', () => {
    const core = new AggregatorCore(options);
    core.apply(0, ev(T0 + 1_000), T0 + 1_000);
    expect(core.flush(T0 + 100_000).records.some((r) => r.final)).toBe(false);
    const { records } = core.flush(T0 + 1_000 + 120_000);
    expect(find(records, MIN, 'overall', '')!.final).toBe(true);
    expect(find(records, 60 * MIN, 'overall', '')).toBeUndefined(); // the hour is not over
  });

  it('groups calls by the model they asked for, failed or not; the snapshot that answered is served_model', () => {
    const core = new AggregatorCore(options);
    // OpenAI answers gpt-4o with a dated snapshot; a failed call has no answer, so no served model.
    const ok = { request_model: 'gpt-4o', response_model: 'gpt-4o-2024-08-06' };
    const failed = { request_model: 'gpt-4o', response_model: null, error_class: 'server_error' as const, http_status: 500 };
    for (let i = 0; i < 6; i++) core.apply(0, ev(T0 + 1_000 + i, ok), W + 1);
    for (let i = 0; i < 4; i++) core.apply(1, ev(T0 + 2_000 + i, failed), W + 1);
    const records = core.flush(W + 1).records.filter((r) => r.window_size_ms === MIN);
    const rows = (d: string) => mergePartials(records.filter((r) => r.dimension === d));
    expect(rows('model').map((r) => [r.group, r.calls, r.errors, r.errorRate])).toEqual([['gpt-4o', 10, 4, 0.4]]);
    expect(rows('served_model').map((r) => [r.group, r.calls, r.errors])).toEqual([
      [NONE_GROUP, 4, 4],
      ['gpt-4o-2024-08-06', 6, 0],
    ]);
    expect(rows('model_upstream').map((r) => [r.group, r.calls])).toEqual([['gpt-4o@openai', 10]]);
  });

  it('a call that names no model is grouped under the model that answered it, else __none__', () => {
    const core = new AggregatorCore(options);
    core.apply(0, ev(T0 + 1_000, { request_model: null, response_model: 'text-embedding-3-small' }), W + 1);
    core.apply(0, ev(T0 + 2_000, { request_model: null, response_model: null, error_class: 'upstream_unreachable', http_status: null }), W + 1);
    const records = core.flush(W + 1).records.filter((r) => r.window_size_ms === MIN);
    expect(find(records, MIN, 'model', 'text-embedding-3-small')!.calls).toBe(1);
    expect(find(records, MIN, 'served_model', 'text-embedding-3-small')!.calls).toBe(1);
    expect(find(records, MIN, 'model', NONE_GROUP)!.calls).toBe(1);
    expect(find(records, MIN, 'served_model', NONE_GROUP)!.calls).toBe(1);
  });

  it('folds groups past the cardinality limit into __other__', () => {
    const core = new AggregatorCore(options);
    for (const user of ['a', 'b', 'c', 'd', 'e']) core.apply(0, ev(T0 + 1_000, { user }), W + 1);
    const { records } = core.flush(W + 1);
    const users = records.filter((r) => r.window_size_ms === MIN && r.dimension === 'user');
    expect(users.map((r) => r.group).sort()).toEqual([OTHER_GROUP, 'a', 'b', 'c']);
    expect(find(users, MIN, 'user', OTHER_GROUP)!.calls).toBe(2);
  });

  it('rebuilds the same aggregates from restored state as without the restart', () => {
    const events = Array.from({ length: 200 }, (_, i) => ev(T0 + i * 700, { user: `u${i % 4}`, latency_ms: 100 + i }));
    const straight = new AggregatorCore(options);
    for (const e of events) straight.apply(3, e, W + 1);
    const expected = straight.flush(W + 1).records;

    const first = new AggregatorCore(options);
    for (const e of events.slice(0, 120)) first.apply(3, e, W + 1);
    const f = first.flush(W + 1);
    const state = new Map<string, AggregateRecord>();
    for (const s of f.state) {
      if (s.record) state.set(s.key, s.record);
      else state.delete(s.key);
    }
    const second = new AggregatorCore(options);
    second.restore(3, [...state.values()], f.meta.get(3)!);
    for (const e of events.slice(120)) second.apply(3, e, W + 1);
    const resumed = [...f.records.filter((r) => r.final), ...second.flush(W + 1).records];
    const key = (r: AggregateRecord): string => `${r.window_size_ms}|${r.window_start}|${r.dimension}|${r.group}`;
    const last = (rs: AggregateRecord[]): Map<string, AggregateRecord> => new Map(rs.map((r) => [key(r), r]));
    const a = last(expected);
    const b = last(resumed);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, r] of a) {
      expect({ ...b.get(k)!, updated_at: 0, latency_sketch: null, ttft_sketch: null }).toEqual({ ...r, updated_at: 0, latency_sketch: null, ttft_sketch: null });
    }
  });

  it('merges partials of several partitions with percentiles within 1%', () => {
    const core = new AggregatorCore(options);
    const latencies: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const latency = 50 + ((i * 7919) % 5000);
      latencies.push(latency);
      core.apply(i % 4, ev(T0 + (i % 50) * 1000, { latency_ms: latency }), W + 1);
    }
    const rows = mergePartials(core.flush(W + 1).records.filter((r) => r.window_size_ms === MIN && r.dimension === 'overall'));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.calls).toBe(1_000);
    latencies.sort((x, y) => x - y);
    for (const [q, name] of [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99']] as const) {
      const exact = latencies[Math.floor(q * (latencies.length - 1))]!;
      expect(Math.abs(rows[0]!.latencyMs![name] - exact) / exact).toBeLessThanOrEqual(0.011);
    }
  });
});

describe('parseAggregateQuery', () => {
  const now = T0;
  it('defaults to the last hour of 1-minute windows, overall', () => {
    expect(parseAggregateQuery(new URLSearchParams(''), now)).toEqual({ window: '1m', groupBy: 'overall', from: now - 3_600_000, to: now, rollup: false });
  });
  it.each([
    ['window=5m', 'window'],
    ['groupBy=country', 'groupBy'],
    ['from=yesterday', 'from'],
    ['to=2026-13-01', 'to'],
    ['from=2026-11-27T10:00:00Z&to=2026-11-27T09:00:00Z', 'from'],
    ['limit=3', 'limit'],
    ['rollup=yes', 'rollup'],
    ['rollup=', 'rollup'],
  ])('refuses %s naming %s', (query, parameter) => {
    expect(parseAggregateQuery(new URLSearchParams(query), now)).toMatchObject({ parameter });
  });
});
