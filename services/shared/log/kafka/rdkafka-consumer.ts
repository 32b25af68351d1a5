import type { TopicName } from '../../../../topology/topics';
import type { ConsumedRecord } from '../event-log';
import { loadKafkaLibrary, type KafkaMessageLowLevel, type LowLevelConsumer } from './kafka-client';

/**
 * A consumer-group member on the library's lower-level (node-rdkafka-style)
 * API. On the local broker it read ~150,000 records/s where the KafkaJS-style
 * layer's `eachBatch` read ~104,000 with the main thread saturated in both
 * (docs/benchmarks.md): that layer copies every message into a second object
 * and a per-partition cache. Here a batch is what librdkafka has queued, over
 * all assigned partitions, in offset order within each partition.
 */

const ERR_ASSIGN = -175; // RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS
const ERR_REVOKE = -174; // RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS

/**
 * Fetch sizes measured on the local broker with ~2 KB records: 8 MiB per
 * partition and 64 MiB per request instead of librdkafka's 1 MiB / 50 MiB
 * took a plain consumer from ~123,000 to ~150,000 records/s.
 */
export const FETCH_CONFIG = {
  'max.partition.fetch.bytes': 8 * 1024 * 1024,
  'fetch.max.bytes': 64 * 1024 * 1024,
} as const;

export interface GroupConsumerOptions {
  /** librdkafka settings: connection, security and the group's own. */
  config: Record<string, unknown>;
  topic: TopicName;
  groupId: string;
  start: 'earliest' | 'latest';
  /** Cooperative-sticky (incremental) or range (every rebalance revokes everything). */
  cooperative: boolean;
  onAssigned?: (partitions: number[]) => void;
  /**
   * Called before the partitions are given up; the rebalance waits for the
   * promise, if one is returned (e.g. to commit what was processed first).
   */
  onRevoked?: (partitions: number[]) => void | Promise<void>;
  /** A rebalance step that failed while not disconnecting (the partitions would be held in name only). */
  onRebalanceError?: (err: unknown, step: 'assign' | 'revoke') => void;
}

export class RdkafkaGroupConsumer {
  readonly consumer: LowLevelConsumer;
  private readonly topic: TopicName;
  private assigned = new Set<number>();
  private closing = false;

  constructor(private readonly options: GroupConsumerOptions) {
    const { KafkaConsumer } = loadKafkaLibrary();
    this.topic = options.topic;
    const c: LowLevelConsumer = new KafkaConsumer(
      {
        ...FETCH_CONFIG,
        ...options.config,
        'group.id': options.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'partition.assignment.strategy': options.cooperative ? 'cooperative-sticky' : 'range',
        rebalance_cb: (err: { code: number }, assignment: { topic: string; partition: number }[]) => this.rebalance(err.code, assignment),
      },
      { 'auto.offset.reset': options.start },
    );
    this.consumer = c;
  }

  private rebalance(code: number, assignment: { topic: string; partition: number }[]): void {
    const partitions = assignment.map((a) => a.partition);
    const c = this.consumer;
    try {
      if (code === ERR_ASSIGN) {
        for (const p of partitions) this.assigned.add(p);
        if (this.options.cooperative) c.incrementalAssign(assignment);
        else c.assign(assignment);
        this.options.onAssigned?.(partitions);
      } else if (code === ERR_REVOKE) {
        const giveUp = (): void => {
          for (const p of partitions) this.assigned.delete(p);
          try {
            if (this.options.cooperative) c.incrementalUnassign(assignment);
            else c.unassign();
          } catch {
            // Only when disconnecting: the group is being left anyway.
          }
        };
        const before = this.options.onRevoked?.(partitions);
        // While closing, librdkafka waits inside close for the unassign: deferring it would deadlock.
        if (before && !this.closing) void before.catch(() => undefined).finally(giveUp);
        else giveUp();
      }
    } catch (err) {
      // While disconnecting the group is being left anyway; otherwise the owner must hear of it.
      if (!this.closing) this.options.onRebalanceError?.(err, code === ERR_ASSIGN ? 'assign' : 'revoke');
    }
  }

  /** Partitions this member holds now. */
  partitions(): number[] {
    return [...this.assigned];
  }

  async connect(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    // Wait at most this long for a first record, then return what is queued without waiting to fill the batch.
    this.consumer.setDefaultConsumeTimeout(200);
    this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    this.consumer.subscribe([this.topic]);
  }

  /** Up to `max` records (none after ~200 ms without any). */
  next(max: number): Promise<ConsumedRecord[]> {
    return new Promise((resolve, reject) =>
      this.consumer.consume(max, (err, messages) => (err ? reject(err) : resolve(messages.map((m) => this.toRecord(m))))),
    );
  }

  /**
   * The library's message object becomes the record, in place: a second
   * object per record was measurable at 100,000 records/s.
   */
  private toRecord(m: KafkaMessageLowLevel): ConsumedRecord {
    const r = m as unknown as { -readonly [K in keyof ConsumedRecord]: ConsumedRecord[K] };
    r.key = m.key === null || m.key === undefined ? null : m.key.toString();
    r.value = m.value ?? EMPTY;
    r.headers = m.headers ? headersOf(m.headers) : NO_HEADERS;
    return r;
  }

  /**
   * Commits next offsets, acknowledged by the group coordinator. Partitions
   * given up meanwhile are left out: their next owner resumes from the last
   * commit that went through. Resolves with the positions committed.
   */
  commit(positions: Iterable<[number, number]>): Promise<Map<number, number>> {
    const held = new Map([...positions].filter(([partition]) => this.assigned.has(partition)));
    if (held.size === 0) return Promise.resolve(held);
    const offsets = [...held].map(([partition, offset]) => ({ topic: this.topic, partition, offset }));
    return new Promise((resolve, reject) => this.consumer.commitCb(offsets, (err) => (err ? reject(err) : resolve(held))));
  }

  /** Goes back to the first of these records in each of their partitions still held (a batch to read again). */
  async rewind(records: readonly ConsumedRecord[]): Promise<void> {
    const first = new Map<number, number>();
    for (const r of records) if (!first.has(r.partition)) first.set(r.partition, r.offset);
    await Promise.all(
      [...first]
        .filter(([partition]) => this.assigned.has(partition))
        .map(
          ([partition, offset]) =>
            new Promise<void>((resolve, reject) =>
              this.consumer.seek({ topic: this.topic, partition, offset }, 5_000, (err) => (err ? reject(err) : resolve())),
            ),
        ),
    );
  }

  /** Whether a partition holds no record now (asks the broker; false if it cannot tell). */
  isEmpty(partition: number): Promise<boolean> {
    return new Promise((resolve) => {
      try {
        this.consumer.queryWatermarkOffsets(this.topic, partition, 5_000, (err, o) => resolve(!err && o.highOffset <= o.lowOffset));
      } catch {
        resolve(false); // not connected (closing)
      }
    });
  }

  /** Records after `next` in a partition, from the watermarks librdkafka last fetched (no request). */
  lagAfter(partition: number, next: number): number | undefined {
    try {
      const { highOffset } = this.consumer.getWatermarkOffsets(this.topic, partition);
      return highOffset >= 0 ? Math.max(0, highOffset - next) : undefined;
    } catch {
      return undefined;
    }
  }

  disconnect(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()));
  }
}

const EMPTY = Buffer.alloc(0);
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

function headersOf(headers: Record<string, Buffer | string>[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of headers) for (const [k, v] of Object.entries(h)) out[k] ??= v.toString();
  return out;
}

/** Splits a multi-partition batch's last offsets: the next offset to commit per partition. */
export function nextOffsets(records: readonly ConsumedRecord[]): Map<number, number> {
  const next = new Map<number, number>();
  for (const r of records) next.set(r.partition, r.offset + 1);
  return next;
}
