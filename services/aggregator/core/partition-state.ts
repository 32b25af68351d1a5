import type { AggregatedEvent } from './aggregated-event';
import {
  DIMENSIONS,
  NONE_GROUP,
  OTHER_GROUP,
  aggregateKey,
  windowStart,
  type AggregateRecord,
  type Dimension,
} from './aggregate-record';
import { WindowAggregate } from './window-aggregate';

export interface WindowingOptions {
  /** Window sizes in ms (1 min and 1 h). */
  windowSizesMs: readonly number[];
  /** How long after a window's end (in stream time) events are still counted in it. */
  graceMs: number;
  /** A partition with no event for this long (wall clock) closes its windows as if stream time had moved on. */
  idleCloseMs: number;
  /** Most groups per window and dimension in one partition; later keys fold into `__other__`. */
  maxKeys: number;
}

/** What a flush produces: partials to publish and state changes to persist. */
export interface FlushOutput {
  /** Records to publish on the aggregates topic: updated open windows and final records of closed ones. */
  records: AggregateRecord[];
  /** Keys of windows that closed (their state is dropped: tombstones in the changelog). */
  closedKeys: string[];
}

export interface ApplyResult {
  late: number;
  folded: number;
}

export function groupOf(e: AggregatedEvent, d: Dimension): string {
  const model = e.response_model ?? e.request_model;
  switch (d) {
    case 'overall':
      return '';
    case 'model':
      return model ?? NONE_GROUP;
    case 'provider':
      return e.provider;
    case 'upstream':
      return e.upstream;
    case 'user':
      return e.user ?? NONE_GROUP;
    case 'app':
      return e.app ?? NONE_GROUP;
    case 'model_upstream':
      return `${model ?? NONE_GROUP}@${e.upstream}`;
  }
}

/**
 * The aggregation state of one input partition. Stream time is the largest
 * event time seen in the partition; a window closes once stream time passes
 * its end plus the grace period. Deterministic given the events and the
 * wall-clock values passed in, so a replay from the same state rebuilds the
 * same output.
 */
export class PartitionState {
  private readonly windows = new Map<string, WindowAggregate>();
  private readonly dirty = new Set<string>();
  /** Distinct groups per window and dimension, for the cardinality guard. */
  private readonly groupCounts = new Map<string, number>();
  streamTime = 0;
  /** Wall-clock time of the last event, for idle closing. */
  lastEventWallTime = 0;

  constructor(
    readonly partition: number,
    private readonly options: WindowingOptions,
  ) {}

  get openWindows(): number {
    return this.windows.size;
  }

  /** Puts back a window from the changelog (state restore). */
  restore(record: AggregateRecord): void {
    const key = aggregateKey(record);
    if (record.final) return;
    this.windows.set(key, WindowAggregate.fromRecord(record));
    const gk = groupCountKey(record.window_size_ms, record.window_start, record.dimension);
    this.groupCounts.set(gk, (this.groupCounts.get(gk) ?? 0) + 1);
    if (record.last_event_at > this.streamTime) this.streamTime = record.last_event_at;
  }

  apply(e: AggregatedEvent, wallNow: number): ApplyResult {
    const result: ApplyResult = { late: 0, folded: 0 };
    const eventTime = e.ended_at;
    if (eventTime > this.streamTime) this.streamTime = eventTime;
    this.lastEventWallTime = wallNow;
    for (const size of this.options.windowSizesMs) {
      const start = windowStart(eventTime, size);
      const late = start + size + this.options.graceMs <= this.streamTime && !this.isOpen(size, start);
      // A late event is not added to its closed window; it is counted in the window open now.
      const target = late ? windowStart(this.streamTime, size) : start;
      if (late) result.late++;
      for (const d of DIMENSIONS) {
        const agg = this.windowFor(size, target, d, groupOf(e, d), result);
        if (late) agg.late++;
        else agg.add(e);
        this.dirty.add(aggregateKey(keyParts(agg)));
      }
    }
    return result;
  }

  private isOpen(size: number, start: number): boolean {
    return this.windows.has(aggregateKey({ window_size_ms: size, window_start: start, dimension: 'overall', group: '', source_partition: this.partition }));
  }

  private windowFor(size: number, start: number, d: Dimension, group: string, result: ApplyResult): WindowAggregate {
    const parts = { window_size_ms: size, window_start: start, dimension: d, group, source_partition: this.partition };
    let agg = this.windows.get(aggregateKey(parts));
    if (agg) return agg;
    const gk = groupCountKey(size, start, d);
    const count = this.groupCounts.get(gk) ?? 0;
    if (count >= this.options.maxKeys && group !== OTHER_GROUP) {
      result.folded++;
      return this.windowFor(size, start, d, OTHER_GROUP, result);
    }
    agg = new WindowAggregate(start, size, d, group, this.partition);
    this.windows.set(aggregateKey(parts), agg);
    this.groupCounts.set(gk, count + 1);
    return agg;
  }

  /**
   * Closes the windows that are over and collects what changed since the last
   * flush. `wallNow` only matters for idle partitions.
   */
  flush(wallNow: number): FlushOutput {
    let closeBefore = this.streamTime - this.options.graceMs;
    const idle = this.lastEventWallTime > 0 && wallNow - this.lastEventWallTime >= this.options.idleCloseMs;
    // An idle partition's stream time cannot advance on its own: let wall clock close its windows.
    if (idle) closeBefore = Math.max(closeBefore, wallNow - this.options.graceMs);
    const records: AggregateRecord[] = [];
    const closedKeys: string[] = [];
    for (const [key, agg] of this.windows) {
      if (agg.windowStart + agg.windowSizeMs <= closeBefore) {
        records.push(agg.toRecord(true, wallNow));
        closedKeys.push(key);
        this.windows.delete(key);
        this.dirty.delete(key);
        this.groupCounts.delete(groupCountKey(agg.windowSizeMs, agg.windowStart, agg.dimension));
      }
    }
    if (idle && closeBefore > this.streamTime) this.streamTime = closeBefore;
    for (const key of this.dirty) {
      const agg = this.windows.get(key);
      if (agg) records.push(agg.toRecord(false, wallNow));
    }
    this.dirty.clear();
    return { records, closedKeys };
  }
}

function keyParts(a: WindowAggregate): Parameters<typeof aggregateKey>[0] {
  return { window_size_ms: a.windowSizeMs, window_start: a.windowStart, dimension: a.dimension, group: a.group, source_partition: a.sourcePartition };
}

function groupCountKey(size: number, start: number, d: Dimension): string {
  return `${size}|${start}|${d}`;
}
