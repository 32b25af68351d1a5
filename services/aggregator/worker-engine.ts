import type { Worker } from 'node:worker_threads';
import type { AggregateRecord } from './core/aggregate-record';
import type { PartitionMeta } from './core/aggregator-core';
import type { WindowingOptions } from './core/partition-state';
import type { AggregationEngine, BatchResult, EngineFlush, EngineRecord } from './aggregation-engine';
import { LlmLoggerError } from '../shared/errors';
import { HEADER_BYTES, MAGIC_BYTE } from '../shared/event/wire-format';
import type { SchemaRegistry } from '../shared/log/event-log';
import { packValues } from '../shared/threads/packed-values';
import { spawnWorker } from '../shared/threads/spawn-worker';
import { workerScript } from '../shared/threads/worker-script';

/**
 * Decoding and aggregating on a worker thread, so the calling thread only
 * reads the log and runs the transactions: on a Kafka consumer, reading the
 * records alone takes most of a core. A batch goes over as one transferred
 * buffer (values back to back, with their ends and partitions), and at most
 * MAX_IN_FLIGHT batches wait on the worker. Writer schemas are fetched here,
 * from the registry, and handed over before the first record that uses them.
 *
 * If the worker dies, every call fails until the partitions are dropped and
 * restored (what the exactly-once loop does when it starts over), which
 * starts a new worker: no batch is ever silently missing from a flush.
 */

const MAX_IN_FLIGHT = 4;

export interface WorkerInit {
  options: WindowingOptions;
  /** The reader schema the worker decodes events with (the aggregator's projection). */
  readerSchema: string;
  subject: string;
}

export type ToWorker =
  | { t: 'schema'; id: number; text: string }
  | { t: 'restore'; partition: number; records: AggregateRecord[]; meta: PartitionMeta | null }
  | { t: 'drop'; partitions: number[] }
  | { t: 'process'; seq: number; now: number; values: ArrayBuffer; ends: ArrayBuffer; partitions: ArrayBuffer }
  | { t: 'flush'; seq: number; now: number };

export type FromWorker =
  | { t: 'processed'; seq: number; result: BatchResult }
  | { t: 'flushed'; seq: number; flush: EngineFlush }
  | { t: 'failed'; message: string };

export class WorkerEngine implements AggregationEngine {
  private worker: Worker | null = null;
  private broken: Error | null = null;
  private readonly schemasSent = new Set<number>();
  private seq = 0;
  private readonly batches = new Map<number, (result: BatchResult) => void>();
  private readonly flushes = new Map<number, { resolve: (f: EngineFlush) => void; reject: (err: Error) => void }>();
  private slotFreed: (() => void)[] = [];

  constructor(
    private readonly init: WorkerInit,
    private readonly registry: SchemaRegistry,
  ) {}

  private thread(): Worker {
    if (this.broken) throw this.broken;
    if (this.worker) return this.worker;
    const worker = spawnWorker<FromWorker>(
      workerScript(__dirname, 'aggregate-worker'),
      { workerData: this.init },
      'aggregation worker',
      (m) => this.receive(m),
      (err, dead) => {
        if (this.worker === dead) this.fail(err);
      },
    );
    this.worker = worker;
    return worker;
  }

  private receive(m: FromWorker): void {
    if (m.t === 'processed') {
      const done = this.batches.get(m.seq);
      this.batches.delete(m.seq);
      done?.(m.result);
      this.slotFreed.shift()?.();
    } else if (m.t === 'flushed') {
      const waiter = this.flushes.get(m.seq);
      this.flushes.delete(m.seq);
      waiter?.resolve(withBuffers(m.flush));
    } else {
      this.fail(new Error(`aggregation worker failed: ${m.message}`));
    }
  }

  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    const worker = this.worker;
    this.worker = null;
    this.schemasSent.clear();
    this.batches.clear();
    for (const w of this.flushes.values()) w.reject(err);
    this.flushes.clear();
    for (const wake of this.slotFreed.splice(0)) wake();
    void worker?.terminate();
  }

  /** After a failure, dropping partitions is how the caller starts over: with a new worker. */
  private revive(): void {
    this.broken = null;
  }

  restore(partition: number, records: AggregateRecord[], meta: PartitionMeta | null): void {
    this.revive();
    this.post({ t: 'restore', partition, records, meta });
  }

  drop(partitions: number[]): void {
    this.revive();
    this.post({ t: 'drop', partitions });
  }

  async process(batch: readonly EngineRecord[], now: number, done: (result: BatchResult) => void): Promise<void> {
    while (this.batches.size >= MAX_IN_FLIGHT && !this.broken) await new Promise<void>((r) => this.slotFreed.push(r));
    await this.sendSchemas(batch);
    const { values, ends } = packValues(batch.length, (i) => batch[i]!.value);
    const partitions = Int32Array.from(batch, (r) => r.partition);
    const seq = ++this.seq;
    const message: ToWorker = { t: 'process', seq, now, values: values.buffer as ArrayBuffer, ends: ends.buffer, partitions: partitions.buffer };
    this.thread().postMessage(message, [message.values, message.ends, message.partitions]);
    this.batches.set(seq, done);
  }

  /** Writer schemas of the batch the worker has not seen (a registry outage fails the batch, to be read again). */
  private async sendSchemas(batch: readonly EngineRecord[]): Promise<void> {
    let last = -1;
    for (const r of batch) {
      if (r.value.length < HEADER_BYTES || r.value[0] !== MAGIC_BYTE) continue; // the worker sends it to the DLQ
      const id = r.value.readUInt32BE(1);
      if (id === last || this.schemasSent.has(id)) continue;
      last = id;
      const text = await this.registry.schemaById(id).catch((err: unknown) => {
        // An id the registry does not know is a bad record (the worker sends it to the DLQ); anything else is an outage.
        if (err instanceof LlmLoggerError && err.code === 'DECODE_FAILED') return null;
        throw err;
      });
      if (text === null) continue;
      this.post({ t: 'schema', id, text });
      this.schemasSent.add(id);
    }
  }

  flush(now: number): Promise<EngineFlush> {
    return new Promise((resolve, reject) => {
      const seq = ++this.seq;
      try {
        this.post({ t: 'flush', seq, now });
      } catch (err) {
        reject(err as Error);
        return;
      }
      this.flushes.set(seq, { resolve, reject });
    });
  }

  private post(message: ToWorker): void {
    this.thread().postMessage(message);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.broken = new Error('the aggregation engine is closed');
    await worker?.terminate();
  }
}

/** Bytes come back from the worker as Uint8Array; Avro encoding wants Buffers. */
function withBuffers(flush: EngineFlush): EngineFlush {
  const fix = (r: AggregateRecord): void => {
    if (r.latency_sketch && !Buffer.isBuffer(r.latency_sketch)) r.latency_sketch = toBuffer(r.latency_sketch);
    if (r.ttft_sketch && !Buffer.isBuffer(r.ttft_sketch)) r.ttft_sketch = toBuffer(r.ttft_sketch);
  };
  for (const r of flush.records) fix(r);
  for (const s of flush.state) if (s.record) fix(s.record);
  return flush;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
