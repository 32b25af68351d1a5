import type { AggregatedEvent } from './core/aggregated-event';
import type { AggregateRecord } from './core/aggregate-record';
import { AggregatorCore, type CoreFlush, type PartitionMeta } from './core/aggregator-core';
import type { WindowingOptions } from './core/partition-state';
import type { AvroSerde } from '../shared/event/serde';
import { eventTimeProblem } from '../shared/event/event-times';

/**
 * Where events are decoded and aggregated: on the calling thread
 * (`LocalEngine`), or on a worker thread while the caller goes on reading the
 * log (`WorkerEngine`, worker-engine.ts). Calls take effect in the order they
 * are made, whichever engine.
 */

/** The part of a consumed record the engine reads. */
export interface EngineRecord {
  partition: number;
  value: Buffer;
}

export interface BatchResult {
  late: number;
  folded: number;
  /** Newest event time in the batch (0 if none decoded). */
  newest: number;
  /**
   * Records that cannot be aggregated, by index in the batch (they belong in
   * the DLQ): they did not decode (`decode_failed`), their times are not
   * dates (`invalid_event`), or aggregating them threw (`handler_error`: the
   * core is pure, so trying again would throw again).
   */
  failures: { index: number; message: string; reason?: 'decode_failed' | 'invalid_event' | 'handler_error' }[];
}

export interface EngineFlush extends CoreFlush {
  openWindows: number;
}

export interface AggregationEngine {
  restore(partition: number, records: AggregateRecord[], meta: PartitionMeta | null): void;
  drop(partitions: number[]): void;
  /**
   * Decodes and aggregates a batch; `done` is called with its result before
   * the next flush resolves. Resolves once the engine accepted the batch
   * (at once on the calling thread; when a slot is free on a worker).
   */
  process(batch: readonly EngineRecord[], now: number, done: (result: BatchResult) => void): Promise<void>;
  flush(now: number): Promise<EngineFlush>;
  close(): Promise<void>;
}

export class LocalEngine implements AggregationEngine {
  private readonly core: AggregatorCore;

  constructor(
    options: WindowingOptions,
    private readonly events: AvroSerde<AggregatedEvent>,
  ) {
    this.core = new AggregatorCore(options);
  }

  restore(partition: number, records: AggregateRecord[], meta: PartitionMeta | null): void {
    this.core.restore(partition, records, meta);
  }

  drop(partitions: number[]): void {
    this.core.drop(partitions);
  }

  async process(batch: readonly EngineRecord[], now: number, done: (result: BatchResult) => void): Promise<void> {
    done(await this.apply(batch, now));
  }

  /** Decodes and aggregates: the whole job, here or on the worker. */
  async apply(batch: readonly EngineRecord[], now: number): Promise<BatchResult> {
    const result: BatchResult = { late: 0, folded: 0, newest: 0, failures: [] };
    for (let i = 0; i < batch.length; i++) {
      const record = batch[i]!;
      let event: AggregatedEvent;
      try {
        event = this.events.decodeKnown(record.value) ?? (await this.events.decode(record.value));
      } catch (err) {
        result.failures.push({ index: i, message: (err as Error).message });
        continue;
      }
      const problem = eventTimeProblem({ first_token_at: event.first_token_at, ended_at: event.ended_at });
      if (problem) {
        result.failures.push({ index: i, message: problem, reason: 'invalid_event' });
        continue;
      }
      let r: { late: number; folded: number };
      try {
        r = this.core.apply(record.partition, event, now);
      } catch (err) {
        result.failures.push({ index: i, message: (err as Error).message, reason: 'handler_error' });
        continue;
      }
      result.late += r.late;
      result.folded += r.folded;
      if (event.ended_at > result.newest) result.newest = event.ended_at;
    }
    return result;
  }

  async flush(now: number): Promise<EngineFlush> {
    return { ...this.core.flush(now), openWindows: this.core.openWindows };
  }

  async close(): Promise<void> {}
}
