import type { AggregatedEvent } from './aggregated-event';
import { modelOf, servedModelOf } from '../../shared/event/model-identity';
import { DIMENSIONS, NONE_GROUP, OTHER_GROUP, windowStart, type AggregateRecord, type Dimension } from './aggregate-record';
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

/**
 * The group of an event in each dimension, in DIMENSIONS order: computed once
 * per event and used for every window size.
 */
export function eventGroups(e: AggregatedEvent): string[] {
  const model = modelOf(e) ?? NONE_GROUP;
  return [
    '', // overall
    model,
    e.provider,
    e.upstream,
    e.user ?? NONE_GROUP,
    e.app ?? NONE_GROUP,
    `${model}@${e.upstream}`, // model_upstream
    servedModelOf(e) ?? NONE_GROUP, // served_model
  ];
}

/** The open aggregates of one window (size and start): per dimension, per group. */
interface Slot {
  size: number;
  start: number;
  groups: Map<Dimension, Map<string, WindowAggregate>>;
}

/**
 * The aggregation state of one input partition. Stream time is the largest
 * event time seen in the partition; a window closes once stream time passes
 * its end plus the grace period. Deterministic given the events and the
 * wall-clock values passed in, so a replay from the same state rebuilds the
 * same output.
 */
export class PartitionState {
  /** Open windows by size, then start. */
  private readonly slots = new Map<number, Map<number, Slot>>();
  private readonly dirty = new Set<WindowAggregate>();
  private open = 0;
  streamTime = 0;
  /** Wall-clock time of the last event, for idle closing. */
  lastEventWallTime = 0;

  constructor(
    readonly partition: number,
    private readonly options: WindowingOptions,
  ) {
    for (const size of options.windowSizesMs) this.slots.set(size, new Map());
  }

  get openWindows(): number {
    return this.open;
  }

  /** Puts back a window from the changelog (state restore). */
  restore(record: AggregateRecord): void {
    if (record.final) return;
    const agg = WindowAggregate.fromRecord(record);
    this.groupsOf(this.slotFor(record.window_size_ms, record.window_start), record.dimension).set(record.group, agg);
    this.open++;
    if (record.last_event_at > this.streamTime) this.streamTime = record.last_event_at;
  }

  apply(e: AggregatedEvent, wallNow: number): ApplyResult {
    const result: ApplyResult = { late: 0, folded: 0 };
    const eventTime = e.ended_at;
    // An event stamped ahead of the clock (a skewed client, the ingest API) moves stream time at most
    // to now + grace: otherwise every call that follows it would count as late until the clock caught up.
    const advance = Math.min(eventTime, wallNow + this.options.graceMs);
    if (advance > this.streamTime) this.streamTime = advance;
    this.lastEventWallTime = wallNow;
    const groups = eventGroups(e);
    for (const size of this.options.windowSizesMs) {
      const start = windowStart(eventTime, size);
      const late = start + size + this.options.graceMs <= this.streamTime && !this.slots.get(size)!.has(start);
      // A late event is not added to its closed window; it is counted in the window open now.
      const slot = this.slotFor(size, late ? windowStart(this.streamTime, size) : start);
      if (late) result.late++;
      for (let i = 0; i < DIMENSIONS.length; i++) {
        const agg = this.windowFor(slot, DIMENSIONS[i]!, groups[i]!, result);
        if (late) agg.late++;
        else agg.add(e);
        this.dirty.add(agg);
      }
    }
    return result;
  }

  private slotFor(size: number, start: number): Slot {
    let bySize = this.slots.get(size);
    if (!bySize) this.slots.set(size, (bySize = new Map()));
    let slot = bySize.get(start);
    if (!slot) bySize.set(start, (slot = { size, start, groups: new Map() }));
    return slot;
  }

  private groupsOf(slot: Slot, d: Dimension): Map<string, WindowAggregate> {
    let groups = slot.groups.get(d);
    if (!groups) slot.groups.set(d, (groups = new Map()));
    return groups;
  }

  private windowFor(slot: Slot, d: Dimension, group: string, result: ApplyResult): WindowAggregate {
    const groups = this.groupsOf(slot, d);
    let agg = groups.get(group);
    if (agg) return agg;
    if (groups.size >= this.options.maxKeys && group !== OTHER_GROUP) {
      result.folded++;
      return this.windowFor(slot, d, OTHER_GROUP, result);
    }
    agg = new WindowAggregate(slot.start, slot.size, d, group, this.partition);
    groups.set(group, agg);
    this.open++;
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
    for (const bySize of this.slots.values()) {
      for (const [start, slot] of bySize) {
        if (start + slot.size > closeBefore) continue;
        for (const groups of slot.groups.values()) {
          for (const agg of groups.values()) {
            records.push(agg.toRecord(true, wallNow));
            closedKeys.push(agg.key);
            this.dirty.delete(agg);
            this.open--;
          }
        }
        bySize.delete(start);
      }
    }
    if (idle && closeBefore > this.streamTime) this.streamTime = closeBefore;
    for (const agg of this.dirty) records.push(agg.toRecord(false, wallNow));
    this.dirty.clear();
    return { records, closedKeys };
  }
}
