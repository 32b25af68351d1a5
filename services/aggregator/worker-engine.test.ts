import Database from 'better-sqlite3';
import { sampleEvent } from '../../test/support/sample-event';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import { SqliteSchemaRegistry } from '../shared/log/embedded/sqlite-schema-registry';
import type { EventLog } from '../shared/log/event-log';
import { LocalEngine, type BatchResult, type EngineRecord } from './aggregation-engine';
import { WINDOWS } from './core/aggregate-record';
import { aggregatedEventSerde, aggregationEngine } from './run-aggregator';
import { WorkerEngine } from './worker-engine';

/** The worker engine gives what the in-thread engine gives, batch by batch, and fails loudly when its thread dies. */

const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const options = { windowSizesMs: Object.values(WINDOWS), graceMs: 30_000, idleCloseMs: 60_000, maxKeys: 50 };

async function fixture(): Promise<{ log: EventLog; batches: EngineRecord[][] }> {
  const registry = new SqliteSchemaRegistry(new Database(':memory:'));
  const serde = await inferenceEventSerde(registry);
  const batches: EngineRecord[][] = [];
  for (let b = 0; b < 4; b++) {
    const batch: EngineRecord[] = [];
    for (let i = 0; i < 500; i++) {
      const n = b * 500 + i;
      const ended = T0 + n * 100;
      batch.push({
        partition: n % 3,
        value: serde.encode(sampleEvent({ ended_at: ended, started_at: ended - 300 - (n % 97), first_token_at: ended - 100, latency_ms: 300 + (n % 97), ttft_ms: 200, user: `u${n % 70}` })),
      });
    }
    batches.push(batch);
  }
  batches[2]!.splice(10, 0, { partition: 1, value: Buffer.from('not avro at all') });
  return { log: { kind: 'kafka', schemaRegistry: registry } as unknown as EventLog, batches };
}

describe('WorkerEngine', () => {
  it('decodes and aggregates on its thread exactly as the in-thread engine does', async () => {
    const { log, batches } = await fixture();
    const worker = aggregationEngine(log, options);
    expect(worker).toBeInstanceOf(WorkerEngine);
    const local = new LocalEngine(options, aggregatedEventSerde(log));
    try {
      const results: { worker: BatchResult[]; local: BatchResult[] } = { worker: [], local: [] };
      for (const engine of [worker, local]) {
        const into = engine === worker ? results.worker : results.local;
        engine.restore(0, [], null);
        for (const batch of batches) await engine.process(batch, T0 + 60_000, (r) => into.push(r));
      }
      const [w, l] = await Promise.all([worker.flush(T0 + 61_000), local.flush(T0 + 61_000)]);
      expect(results.worker).toEqual(results.local);
      expect(results.worker[2]!.failures).toEqual([{ index: 10, message: expect.stringMatching(/wire format/) }]);
      expect(w).toEqual(l);
      expect(Buffer.isBuffer(w.records[0]!.latency_sketch)).toBe(true);
      expect(w.records.find((r) => r.dimension === 'overall' && r.window_size_ms === WINDOWS['1h'])).toBeDefined();
    } finally {
      await worker.close();
    }
  });

  it('after its thread dies, fails every call until the partitions are dropped and restored', async () => {
    const { log, batches } = await fixture();
    const engine = aggregationEngine(log, options) as WorkerEngine;
    try {
      await engine.process(batches[0]!, T0, () => undefined);
      await engine.flush(T0);
      await (engine as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      await new Promise((r) => setTimeout(r, 50));
      await expect(engine.flush(T0)).rejects.toThrow(/exited/);
      await expect(engine.process(batches[1]!, T0, () => undefined)).rejects.toThrow(/exited/);
      // What the exactly-once loop does when it starts over: a new thread, restored state.
      engine.drop([0, 1, 2]);
      engine.restore(0, [], null);
      const results: BatchResult[] = [];
      await engine.process(batches[1]!, T0, (r) => results.push(r));
      const f = await engine.flush(T0 + 1);
      expect(results).toHaveLength(1);
      const hour = f.records.filter((r) => r.dimension === 'overall' && r.window_size_ms === WINDOWS['1h']);
      expect(hour.reduce((n, r) => n + r.calls, 0)).toBe(500); // nothing left from before the thread died
    } finally {
      await engine.close();
    }
  });
});
