import type { TopicName } from '../../../../topology/topics';
import { LlmLoggerError } from '../../errors';
import type { ConsumedRecord, Rewind } from '../event-log';
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
/** The consumer is unusable; for a group consumer this is FENCED_INSTANCE_ID (static membership). */
const ERR_FATAL = -150; // RD_KAFKA_RESP_ERR__FATAL
const OFFSET_BEGINNING = -2;
const OFFSET_END = -1;
/** A clean leave waits at most this long for the partitions to be given up. */
const LEAVE_TIMEOUT_MS = 5_000;

/**
 * Fetch sizes measured on the local broker with ~2 KB records: 8 MiB per
 * partition and 64 MiB per request instead of librdkafka's 1 MiB / 50 MiB
 * took a plain consumer from ~123,000 to ~150,000 records/s.
 */
export const FETCH_CONFIG = {
  'max.partition.fetch.bytes': 8 * 1024 * 1024,
  'fetch.max.bytes': 64 * 1024 * 1024,
} as const;

/** How this member belongs to its group. */
export interface GroupMembership {
  /**
   * Static membership (KIP-345): `group.instance.id`, stable across restarts.
   * A restarted member under the same id gets its partitions back at once,
   * with no rebalance, and replaces (fences) the member it was. null: dynamic.
   */
  instanceId: string | null;
  /** How long the group waits for a silent member before its partitions move. */
  sessionTimeoutMs: number;
}

export interface GroupConsumerOptions {
  /** librdkafka settings: connection, security and the group's own. */
  config: Record<string, unknown>;
  topic: TopicName;
  groupId: string;
  start: 'earliest' | 'latest';
  /** Cooperative-sticky (incremental) or range (every rebalance revokes everything). */
  cooperative: boolean;
  membership: GroupMembership;
  /** Where partitions start when this member first gets them, instead of the group's committed offsets. */
  rewind?: Rewind;
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
  /** Start offsets of a rewind, by partition, until the partition is first assigned (`all`: every partition's beginning). */
  private rewindTo: Map<number, number> | 'all' | null = null;
  private fatal: LlmLoggerError | null = null;

  constructor(private readonly options: GroupConsumerOptions) {
    const { KafkaConsumer } = loadKafkaLibrary();
    this.topic = options.topic;
    const { instanceId, sessionTimeoutMs } = options.membership;
    const c: LowLevelConsumer = new KafkaConsumer(
      {
        ...FETCH_CONFIG,
        ...options.config,
        'group.id': options.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'partition.assignment.strategy': options.cooperative ? 'cooperative-sticky' : 'range',
        'session.timeout.ms': sessionTimeoutMs,
        // At least three heartbeats per session timeout (librdkafka's 3 s for the usual 15 s and more).
        'heartbeat.interval.ms': Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
        ...(instanceId ? { 'group.instance.id': instanceId } : {}),
        rebalance_cb: (err: { code: number }, assignment: { topic: string; partition: number }[]) => this.rebalance(err.code, assignment),
      },
      { 'auto.offset.reset': options.start },
    );
    this.consumer = c;
  }

  /** Set once the consumer can no longer be used (another member took this one's instance id). */
  fatalError(): LlmLoggerError | null {
    return this.fatal;
  }

  private rebalance(code: number, assignment: { topic: string; partition: number }[]): void {
    const partitions = assignment.map((a) => a.partition);
    const c = this.consumer;
    try {
      if (code === ERR_ASSIGN) {
        for (const p of partitions) this.assigned.add(p);
        const at = this.rewound(assignment);
        if (this.options.cooperative) c.incrementalAssign(at);
        else c.assign(at);
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

  /** The assignment with the rewind's start offsets for partitions this member gets for the first time. */
  private rewound(assignment: { topic: string; partition: number }[]): { topic: string; partition: number; offset?: number }[] {
    const to = this.rewindTo;
    if (to === null) return assignment;
    return assignment.map((a) => {
      const offset = to === 'all' ? OFFSET_BEGINNING : to.get(a.partition);
      if (to !== 'all') to.delete(a.partition);
      return offset === undefined ? a : { topic: a.topic, partition: a.partition, offset };
    });
  }

  /** Partitions this member holds now. */
  partitions(): number[] {
    return [...this.assigned];
  }

  async connect(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    // Looked up before joining: the rebalance callback that applies them cannot wait.
    // If they cannot be, every partition's beginning: slower to read, but nothing of the window is missed.
    if (this.options.rewind) this.rewindTo = await this.startOffsets(this.options.rewind).catch(() => 'all' as const);
    // Wait at most this long for a first record, then return what is queued without waiting to fill the batch.
    this.consumer.setDefaultConsumeTimeout(200);
    this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    this.consumer.subscribe([this.topic]);
  }

  /** Per partition, the first offset at or after the rewind's time (its end when it has none). */
  private async startOffsets(rewind: Rewind): Promise<Map<number, number> | 'all'> {
    const from = rewind.from;
    if (from === undefined) return 'all';
    const c = this.consumer;
    const metadata = await new Promise<{ topics: { name: string; partitions: { id: number }[] }[] }>((resolve, reject) =>
      c.getMetadata({ topic: this.topic, timeout: 10_000 }, (err, data) => (err ? reject(err) : resolve(data))),
    );
    const partitions = metadata.topics.find((t) => t.name === this.topic)?.partitions.map((p) => p.id) ?? [];
    const offsets = await new Promise<{ partition: number; offset: number }[]>((resolve, reject) =>
      c.offsetsForTimes(
        partitions.map((partition) => ({ topic: this.topic, partition, offset: from })),
        10_000,
        (err, found) => (err ? reject(err) : resolve(found)),
      ),
    );
    return new Map(offsets.map((o) => [o.partition, o.offset >= 0 ? o.offset : OFFSET_END]));
  }

  /** Up to `max` records (none after ~200 ms without any). */
  next(max: number): Promise<ConsumedRecord[]> {
    return new Promise((resolve, reject) =>
      this.consumer.consume(max, (err, messages) => {
        if (!err) return resolve(messages.map((m) => this.toRecord(m)));
        if ((err as { code?: number }).code === ERR_FATAL) this.fatal ??= this.fenced(err);
        reject(this.fatal ?? err);
      }),
    );
  }

  private fenced(cause: Error): LlmLoggerError {
    const { instanceId } = this.options.membership;
    const why = instanceId
      ? `another process joined group ${this.options.groupId} as instance ${instanceId} (LLM_LOGGER_INSTANCE must be unique per process)`
      : `a fatal error in group ${this.options.groupId}`;
    return new LlmLoggerError('LOG_FENCED', `kafka consumer fenced: ${why}; this consumer stops`, { cause, retriable: false });
  }

  /**
   * Whether the group has fenced this member, waiting up to `waitMs` for it to
   * say so (its next heartbeat answers): a producer fenced under the same
   * identity can mean another process took over, or a transaction of this one
   * that timed out. Records read meanwhile are dropped (not committed).
   */
  async fencedWithin(waitMs: number): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    while (!this.fatal && Date.now() < deadline) await this.next(100).catch(() => undefined);
    return this.fatal !== null;
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

  /**
   * Leaves the group (so the partitions move to the other members at once),
   * then disconnects. librdkafka does not send LeaveGroup when a static member
   * closes (KIP-345: a restart should find its place kept), but it does when
   * one unsubscribes: so unsubscribe, let the revocation run, and close once
   * the partitions are given up (the close then waits for the LeaveGroup
   * answer). Without `leave`, a static member keeps its place in the group
   * until its session times out, for a restart under the same id.
   */
  async disconnect(options: { leave: boolean } = { leave: true }): Promise<void> {
    if (options.leave && this.options.membership.instanceId && !this.fatal && !this.closing) {
      try {
        this.consumer.unsubscribe();
        const deadline = Date.now() + LEAVE_TIMEOUT_MS;
        // The revocation is delivered through consume calls (one at least: a member holding nothing leaves too).
        do await this.next(100).catch(() => undefined);
        while (this.assigned.size > 0 && Date.now() < deadline);
      } catch {
        // Not connected: nothing to leave.
      }
    }
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
