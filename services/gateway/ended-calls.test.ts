import { Registry } from 'prom-client';
import type { InferenceEvent } from '../shared/event/inference-event';
import { createLogger } from '../shared/observability/logger';
import { sampleObservation } from '../../test/support/sample-observation';
import { LiveCoalescer, CallProgress } from './core/live-coalescer';
import type { CallObservation } from './core/event-builder';
import { EndedCalls, type EventSink } from './ended-calls';
import { createGatewayMetrics } from './gateway-metrics';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(sink: Partial<EventSink> = {}) {
  const recorded: InferenceEvent[] = [];
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry, () => 0);
  const live = new LiveCoalescer({ maxCalls: 10, maxRecordsPerTick: 10, maxAgeMs: 60_000, minAgeMs: 0 });
  const ended = new EndedCalls({
    eventDeps: { estimateTokens: () => 0, price: () => ({ costMicroUsd: 1, priceVersion: 'p1' }) },
    metrics,
    sink: { record: (e) => recorded.push(e), recordDurable: async (e) => void recorded.push(e), ...sink },
    live,
    logger: createLogger('silent', 'test'),
  });
  const liveEntry = (id: string) =>
    live.start(
      { type: 'started', event_id: id, started_at: 0, upstream: 'openai', provider: 'openai', endpoint: 'chat.completions', model: null, streamed: false, user: null, app: null, prompt: null },
      new CallProgress(false),
    );
  return { ended, recorded, registry, live, liveEntry };
}

const call = (eventId: string, seen: string[] = []) => (): CallObservation => {
  seen.push(eventId);
  return sampleObservation({ eventId });
};

describe('EndedCalls', () => {
  it('records the calls that ended in one turn together at its end, in order, and counts them', async () => {
    const { ended, recorded, registry } = setup();
    const seen: string[] = [];
    ended.record(call('a', seen), null);
    ended.record(call('b', seen), null);
    expect(seen).toEqual([]); // nothing is read while the turn goes on
    expect(ended.waiting).toBe(2);
    await nextTurn();
    expect(recorded.map((e) => e.event_id)).toEqual(['a', 'b']);
    expect(ended.waiting).toBe(0);
    expect(await registry.metrics()).toContain('llm_logger_gateway_calls_total{upstream="openai",status="2xx",error_class="none"} 2');
    ended.record(call('c'), null);
    await nextTurn();
    expect(recorded.map((e) => e.event_id)).toEqual(['a', 'b', 'c']);
  });

  it('records at once on flush (shutdown), and the scheduled turn then finds nothing to do', async () => {
    const { ended, recorded } = setup();
    ended.record(call('a'), null);
    ended.flush();
    expect(recorded.map((e) => e.event_id)).toEqual(['a']);
    await nextTurn();
    expect(recorded).toHaveLength(1);
  });

  it('drops only the event of a call whose facts cannot be read, counting it, and ends its live entry', async () => {
    const { ended, recorded, registry, live, liveEntry } = setup();
    const entry = liveEntry('bad');
    ended.record(() => {
      throw new Error('defect in a parser');
    }, entry);
    ended.record(call('good'), null);
    const durable = ended.recordDurable(() => {
      throw new Error('another defect');
    }, null);
    await expect(durable).rejects.toThrow('another defect');
    expect(recorded.map((e) => e.event_id)).toEqual(['good']);
    expect(live.size).toBe(0);
    expect(await registry.metrics()).toContain('llm_logger_gateway_events_dropped_total 2');
  });

  it('resolves a durable record once the sink has stored it, and passes on the sink refusing', async () => {
    let store: () => void = () => undefined;
    const { ended, recorded } = setup({
      recordDurable: (e) =>
        e.event_id === 'refused'
          ? Promise.reject(new Error('log unavailable'))
          : new Promise<void>((resolve) => {
              store = () => {
                recorded.push(e);
                resolve();
              };
            }),
    });
    let done = false;
    const stored = ended.recordDurable(call('a'), null).then(() => (done = true));
    await nextTurn();
    expect(done).toBe(false);
    store();
    await stored;
    expect(recorded.map((e) => e.event_id)).toEqual(['a']);
    await expect(ended.recordDurable(call('refused'), null)).rejects.toThrow('log unavailable');
  });
});
