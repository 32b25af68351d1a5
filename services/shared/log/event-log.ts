import type { TopicName } from '../../../topology/topics';

/**
 * The event log port. Every role talks to the log through this interface;
 * the embedded (SQLite) and Kafka adapters implement it.
 */

export interface ProducerRecord {
  /** Partitioning key (the event id for inference events). */
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
  /** Event time in epoch ms; defaults to now. */
  timestamp?: number;
  /**
   * Placed by its key even on a 'batch'-partitioned topic, so that every
   * record with this key lands in one partition (ingested events: a copy
   * posted again meets the first one there, where its partition's consumer
   * state can drop it).
   */
  partitionByKey?: boolean;
}

export interface ConsumedRecord {
  topic: TopicName;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

/**
 * Where a reader whose own copy of what it read is gone (a console's new
 * view) starts again, instead of its group's committed offsets: each
 * partition's first record at or after `from` (epoch ms; the partition's end
 * when it has none), or without `from` its first record. Unlike resetGroup it
 * needs no empty group: on Kafka it applies when this subscription first gets
 * a partition, so a member left behind by a crash (still in the group until
 * its session times out) does not stand in the way.
 */
export interface Rewind {
  from?: number;
}

export interface SubscribeOptions {
  topic: TopicName;
  /** Consumer group whose committed offsets are resumed; null = ephemeral reader that never commits. */
  groupId: string | null;
  /** Kafka: how the ephemeral group of a reader (groupId null) is named, a unique suffix added (readerGroupPrefix of the role). */
  readerGroupPrefix?: string;
  /** Where a group with no committed offset starts. */
  start: 'earliest' | 'latest';
  /** Start from here instead of the committed offsets (see Rewind). */
  rewind?: Rewind;
  maxBatch?: number;
  /**
   * Kafka: partitions a rebalance took away. A handler that holds records
   * drops those partitions' (their next owner reads them again from the
   * committed offset). The embedded log has no group membership: never called.
   */
  onRevoked?: (partitions: number[]) => void;
  /** Called with the positions of each commit once it succeeded (a handler that keeps state until its input is committed). */
  onCommitted?: (positions: CommitPositions) => void;
}

/** Next offset to commit, by partition. */
export type CommitPositions = ReadonlyMap<number, number>;

/**
 * Called with each batch in partition-offset order. The batch is committed
 * only after the promise resolves; a rejection leaves it uncommitted and the
 * same records are delivered again (at-least-once). A handler that keeps
 * records for later (the roller buffers a file's worth) resolves with the
 * positions that are safe to commit instead: only those are committed, and the
 * records after them are not delivered again by this subscription (they are
 * after a restart or a rebalance).
 */
export type BatchHandler = (batch: ConsumedRecord[]) => Promise<void | CommitPositions>;

export interface Subscription {
  /** Resolves once the subscription has stopped and committed what it processed. */
  stop(): Promise<void>;
  /** Records not yet read by this subscription, summed over partitions. */
  lag(): number;
}

/** A plain (non-transactional) consumer's subscription. */
export interface ConsumerSubscription extends Subscription {
  /**
   * Has read to the end of every partition it holds: their lag is known and 0.
   * False while it holds none yet, or before the lag of one is known (a Kafka
   * reader learns it from the records it reads, or from the watermarks of a
   * partition found empty when it was assigned).
   */
  caughtUp(): boolean;
  /** Commits positions a handler held back, between batches (e.g. a file written on a timer). */
  commit(positions: CommitPositions): Promise<void>;
}

export interface SchemaRegistry {
  /** Registers (or finds) a schema under a subject and returns its global id. */
  register(subject: string, schema: string): Promise<number>;
  schemaById(id: number): Promise<string>;
}

/** A record for a named topic (outputs of a transactional processor). */
export interface OutputRecord extends ProducerRecord {
  topic: TopicName;
}

/** One entry of a processor's state store, kept per input partition. null value = delete. */
export interface StateEntry {
  partition: number;
  key: string;
  value: Buffer | null;
}

export interface TransactionalOptions {
  topic: TopicName;
  groupId: string;
  /** Kafka: transactional.id of this instance (stable across its restarts, so a restart fences its previous self). */
  transactionalId: string;
  /** Kafka: compacted topic, partitioned like `topic`, that holds the state store. */
  changelogTopic: TopicName;
  /** How often processed input is committed with its outputs. */
  commitIntervalMs: number;
  maxBatch?: number;
}

/**
 * Consume-transform-produce, exactly once: the outputs and state changes
 * that `flush` returns are committed atomically with the input offsets of
 * everything processed before it. On a failure or rebalance the processor
 * is told to forget state (`revoke`) and gets it back from the store (`assign`).
 */
export interface TransactionalProcessor {
  /** Called for each partition that becomes ours, with its persisted state, before any of its records. */
  assign(partition: number, state: Map<string, Buffer>): void;
  /** These partitions are no longer ours (or their uncommitted work is void): forget their state. */
  revoke(partitions: number[]): void;
  process(batch: ConsumedRecord[]): Promise<void>;
  /** What to commit with the offsets processed so far. */
  flush(): Promise<{ output: OutputRecord[]; state: StateEntry[] }>;
}

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  subscribeTransactional(options: TransactionalOptions, processor: TransactionalProcessor): Subscription;
  /** Resolves once every record is durable (acknowledged). */
  append(topic: TopicName, records: ProducerRecord[]): Promise<void>;
  subscribe(options: SubscribeOptions, handler: BatchHandler): ConsumerSubscription;
  /**
   * Moves a consumer group's committed offsets on a topic back: to each
   * partition's first record with a timestamp at or after `from` (epoch ms;
   * the partition's end if it has none), or without `from` to its start. For
   * a reader whose own copy of what it read is gone (a console whose view was
   * deleted). The group must have no member running.
   */
  resetGroup(groupId: string, topic: TopicName, from?: number): Promise<void>;
  readonly schemaRegistry: SchemaRegistry;
  close(): Promise<void>;
}

/** Stable partition for a key: FNV-1a, so the same key always lands together. */
export function partitionForKey(key: string | null, partitions: number, fallback: number): number {
  if (key === null) return fallback % partitions;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
