import type { AggregatedEvent } from './aggregated-event';
import { aggregateKey, type AggregateRecord } from './aggregate-record';
import { PartitionState, type WindowingOptions } from './partition-state';

/** A change of the aggregation state of one input partition (changelog entry). */
export interface StateChange {
  partition: number;
  key: string;
  /** null deletes the key (the window closed). */
  record: AggregateRecord | null;
}

/** Per-partition bookkeeping persisted with the windows, so a restore resumes stream time exactly. */
export interface PartitionMeta {
  streamTime: number;
  lastEventWallTime: number;
}

export const META_KEY = '__meta__';

export interface CoreFlush {
  records: AggregateRecord[];
  state: StateChange[];
  meta: Map<number, PartitionMeta>;
  closedWindows: number;
}

/**
 * The aggregator's pure core over several input partitions: partitions are
 * restored, fed events and flushed; nothing here reads a clock or does I/O.
 */
export class AggregatorCore {
  private readonly partitions = new Map<number, PartitionState>();
  private readonly touched = new Set<number>();

  constructor(private readonly options: WindowingOptions) {}

  restore(partition: number, records: AggregateRecord[], meta: PartitionMeta | null): void {
    const state = new PartitionState(partition, this.options);
    for (const r of records) state.restore(r);
    if (meta) {
      // Written with every state change: exact, where the windows' newest events may be ahead of it (see apply).
      state.streamTime = meta.streamTime;
      state.lastEventWallTime = meta.lastEventWallTime;
    }
    this.partitions.set(partition, state);
  }

  drop(partitions: Iterable<number>): void {
    for (const p of partitions) {
      this.partitions.delete(p);
      this.touched.delete(p);
    }
  }

  has(partition: number): boolean {
    return this.partitions.has(partition);
  }

  get openWindows(): number {
    let n = 0;
    for (const s of this.partitions.values()) n += s.openWindows;
    return n;
  }

  apply(partition: number, event: AggregatedEvent, wallNow: number): { late: number; folded: number } {
    let state = this.partitions.get(partition);
    if (!state) {
      state = new PartitionState(partition, this.options);
      this.partitions.set(partition, state);
    }
    this.touched.add(partition);
    return state.apply(event, wallNow);
  }

  /** Everything to write in the next transaction: updated and final partials, state changes, metas. */
  flush(wallNow: number): CoreFlush {
    const out: CoreFlush = { records: [], state: [], meta: new Map(), closedWindows: 0 };
    for (const [p, state] of this.partitions) {
      const streamBefore = state.streamTime;
      const { records, closedKeys } = state.flush(wallNow);
      if (records.length === 0 && closedKeys.length === 0 && !this.touched.has(p) && state.streamTime === streamBefore) continue;
      for (const r of records) {
        out.records.push(r);
        if (!r.final) out.state.push({ partition: p, key: aggregateKey(r), record: r });
      }
      for (const key of closedKeys) out.state.push({ partition: p, key, record: null });
      out.closedWindows += closedKeys.length;
      out.meta.set(p, { streamTime: state.streamTime, lastEventWallTime: state.lastEventWallTime });
    }
    this.touched.clear();
    return out;
  }
}
