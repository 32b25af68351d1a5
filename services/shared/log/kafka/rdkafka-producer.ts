import { loadKafkaLibrary, type LowLevelConsumer, type LowLevelProducer } from './kafka-client';
import type { ProducerRecord } from '../event-log';

/** A record as produced here: a tombstone has no value; a partition, if given, overrides the key's. */
export interface ProduceRecord extends Omit<ProducerRecord, 'value'> {
  value: Buffer | null;
  partition?: number;
}

/**
 * The producer on the library's lower-level (node-rdkafka-style) API, which
 * measured ~5 µs less CPU per message than its KafkaJS-style layer: records go
 * straight to librdkafka's queue, and a batch's promise settles when the
 * delivery reports of all its records have arrived (polled in the
 * background).
 */

interface Pending {
  remaining: number;
  failed: Error | null;
  resolve: () => void;
  reject: (err: Error) => void;
}

const QUEUE_FULL = -184; // librdkafka RD_KAFKA_RESP_ERR__QUEUE_FULL
/** How long a topic's partition count is trusted before it is looked up again (partitions can be added). */
const PARTITION_COUNT_TTL_MS = 60_000;

export class RdkafkaProducer {
  private readonly producer: LowLevelProducer;
  private connected: Promise<void> | null = null;
  private isConnected = false;
  private readonly partitionCounts = new Map<string, { count: number | null; at: number; refreshing: boolean }>();

  constructor(config: Record<string, string | number | boolean>) {
    const { Producer } = loadKafkaLibrary();
    this.producer = new Producer({ ...config, dr_cb: true });
    this.producer.on('delivery-report', (err, report) => {
      const pending = report.opaque as Pending | undefined;
      if (!pending) return;
      if (err && !pending.failed) pending.failed = new Error(err.message);
      if (--pending.remaining === 0) {
        if (pending.failed) pending.reject(pending.failed);
        else pending.resolve();
      }
    });
    // Without a listener, librdkafka's client errors would surface as uncaught 'error' events.
    this.producer.on('event.error', () => undefined);
  }

  /** Connects once; a failed connection is retried by the next call. */
  connect(timeoutMs: number): Promise<void> {
    this.connected ??= new Promise<void>((resolve, reject) => {
      this.producer.connect({ timeout: timeoutMs }, (err) => {
        if (err) {
          this.connected = null;
          reject(err);
          return;
        }
        this.producer.setPollInBackground(true);
        this.isConnected = true;
        resolve();
      });
    });
    return this.connected;
  }

  /**
   * The topic's partition count as the cluster reports it, or null while it is
   * not known (not looked up yet, or the lookup failed). Looked up in the
   * background and refreshed every minute: never waits on the cluster.
   */
  partitionCount(topic: string): number | null {
    let entry = this.partitionCounts.get(topic);
    if (!entry) {
      entry = { count: null, at: 0, refreshing: false };
      this.partitionCounts.set(topic, entry);
    }
    const known = entry;
    if (!known.refreshing && Date.now() - known.at >= PARTITION_COUNT_TTL_MS) {
      // Set before the call: the library answers at once, in the call, when the client is not connected.
      known.refreshing = true;
      this.producer.getMetadata({ topic, timeout: 5_000 }, (err, data) => {
        const partitions = err ? undefined : data.topics.find((t) => t.name === topic)?.partitions.length;
        if (partitions) known.count = partitions;
        // A failed lookup is retried after a few seconds, not a minute.
        known.at = partitions ? Date.now() : Date.now() - PARTITION_COUNT_TTL_MS + 5_000;
        known.refreshing = false;
      });
    }
    return known.count;
  }

  /**
   * Resolves when every record is acknowledged by the brokers (acks=all).
   * `partition`, if given, is where every record of the batch goes (a
   * record's own partition still wins; a record placed by key goes where
   * librdkafka's partitioner puts its key).
   */
  async send(topic: string, records: readonly ProduceRecord[], partition?: number): Promise<void> {
    const now = Date.now();
    await new Promise<void>((resolve, reject) => {
      const pending: Pending = { remaining: records.length, failed: null, resolve, reject };
      const produceFrom = (start: number): void => {
        for (let i = start; i < records.length; i++) {
          const r = records[i]!;
          const headers = r.headers ? Object.entries(r.headers).map(([k, v]) => ({ [k]: v })) : undefined;
          try {
            this.producer.produce(topic, r.partitionByKey ? null : (r.partition ?? partition ?? null), r.value, r.key ?? undefined, r.timestamp ?? now, pending, headers);
          } catch (err) {
            if ((err as { code?: number }).code === QUEUE_FULL) {
              // librdkafka's queue is full: let it drain, then go on from this record.
              setTimeout(() => produceFrom(i), 5);
              return;
            }
            pending.remaining -= records.length - i;
            pending.failed ??= err as Error;
            if (pending.remaining === 0) reject(pending.failed);
            return;
          }
        }
      };
      produceFrom(0);
    });
  }

  /**
   * Transactions (a producer made with a `transactional.id`): init once after
   * connecting, then begin, send, add the consumer's offsets, commit or abort.
   */
  initTransactions(timeoutMs: number): Promise<void> {
    return settle((cb) => this.producer.initTransactions(timeoutMs, cb));
  }

  beginTransaction(): Promise<void> {
    return settle((cb) => this.producer.beginTransaction(cb));
  }

  /** Offsets go with the consumer's group metadata, so a member of an older generation is fenced. */
  sendOffsetsToTransaction(offsets: { topic: string; partition: number; offset: number }[], consumer: LowLevelConsumer, timeoutMs: number): Promise<void> {
    return settle((cb) => this.producer.sendOffsetsToTransaction(offsets, consumer, timeoutMs, cb));
  }

  commitTransaction(timeoutMs: number): Promise<void> {
    return settle((cb) => this.producer.commitTransaction(timeoutMs, cb));
  }

  abortTransaction(timeoutMs: number): Promise<void> {
    return settle((cb) => this.producer.abortTransaction(timeoutMs, cb));
  }

  /** Waits for queued records (no-op if never connected). */
  flush(timeoutMs: number): Promise<void> {
    if (!this.isConnected) return Promise.resolve();
    return new Promise((resolve) => this.producer.flush(timeoutMs, () => resolve()));
  }

  disconnect(): Promise<void> {
    if (!this.isConnected) return Promise.resolve();
    this.isConnected = false;
    return new Promise((resolve) => this.producer.disconnect(5_000, () => resolve()));
  }
}

function settle(call: (callback: (err: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
}
