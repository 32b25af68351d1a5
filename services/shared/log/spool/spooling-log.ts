import type { TopicName } from '../../../../topology/topics';
import { LlmLoggerError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type {
  BatchHandler,
  EventLog,
  ProducerRecord,
  SchemaRegistry,
  SubscribeOptions,
  ConsumerSubscription,
  Subscription,
  TransactionalOptions,
  TransactionalProcessor,
} from '../event-log';
import type { DiskSpool, SpooledRecord } from './disk-spool';

export type BrokerState = 'up' | 'down';

export interface SpoolingOptions {
  /** Records moved from the spool to the log per append while draining. */
  drainBatch?: number;
  /** Pause between two attempts while the log is unreachable. */
  retryIntervalMs?: number;
  logger: Logger;
  /** Records the log refused for good (e.g. over its size limit) and the spool let go of. */
  onRefused?: (count: number) => void;
}

/** An error no retry can help: the records would fail the same way forever. */
function refusedForGood(err: unknown): boolean {
  return err instanceof LlmLoggerError && !err.retriable && err.code === 'RECORD_TOO_LARGE';
}

/**
 * Wraps a remote log (Kafka) so that producing never fails while it is down:
 * a failed append goes to the disk spool, every later append follows it there
 * (so order is kept), and a background loop replays the spool, oldest first,
 * once the log answers again. An append resolves when its records are
 * durable in the log or in the spool.
 */
export class SpoolingLog implements EventLog {
  readonly kind: EventLog['kind'];
  private state: BrokerState = 'up';
  /** Set when a record did not fit; cleared once the drain frees space. */
  private spoolFull = false;
  private draining: Promise<void> | null = null;
  private closed = false;
  /** Spooled records the log refused for good, dropped from the spool (see drain). */
  refusedRecords = 0;
  private readonly drainBatch: number;
  private readonly retryIntervalMs: number;

  constructor(
    private readonly inner: EventLog,
    readonly spool: DiskSpool,
    private readonly options: SpoolingOptions,
  ) {
    this.kind = inner.kind;
    this.drainBatch = options.drainBatch ?? 500;
    this.retryIntervalMs = options.retryIntervalMs ?? 1_000;
    if (spool.depth > 0) {
      // Records left from an earlier run (a crash while Kafka was down).
      this.state = 'down';
      this.startDrain();
    }
  }

  get brokerState(): BrokerState {
    return this.state;
  }

  /** False only while Kafka is down and the spool is full: records would be dropped. */
  canAccept(): boolean {
    return this.state === 'up' || !this.spoolFull;
  }

  get schemaRegistry(): SchemaRegistry {
    return this.inner.schemaRegistry;
  }

  async append(topic: TopicName, records: ProducerRecord[]): Promise<void> {
    if (this.spool.depth === 0 && this.state === 'up') {
      try {
        await this.inner.append(topic, records);
        return;
      } catch (err) {
        // Refused for good (a record over the size limit): Kafka is not down, and spooling it would
        // only put it at the head of the spool, before every later record, failing again forever.
        if (refusedForGood(err)) throw err;
        this.state = 'down';
        this.options.logger.warn({ err, records: records.length }, 'log unreachable: spooling to disk until it returns');
      }
    }
    try {
      this.toSpool(topic, records);
    } finally {
      this.startDrain();
    }
  }

  private toSpool(topic: TopicName, records: ProducerRecord[]): void {
    const fitted = this.spool.append(topic, records);
    if (fitted < records.length) {
      this.spoolFull = true;
      throw new LlmLoggerError(
        'LOG_QUEUE_FULL',
        `disk spool full (${this.spool.bytes} of ${this.spool.maxBytes} bytes): ${records.length - fitted} records dropped`,
        { retriable: false },
      );
    }
  }

  private startDrain(): void {
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
      // An append may have spooled a record just as the loop finished.
      if (!this.closed && this.spool.depth > 0) this.startDrain();
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.spool.depth > 0) {
      const batch = this.spool.peek(this.drainBatch);
      // Records before this index are acknowledged (removed from the spool).
      let acked = 0;
      const ackTo = (n: number): void => {
        if (n <= acked) return;
        this.spool.ack(batch.slice(acked, n));
        acked = n;
      };
      // Consecutive records of one topic go in one append; order is kept.
      let i = 0;
      try {
        while (i < batch.length) {
          const topic = batch[i]!.topic;
          let j = i;
          while (j < batch.length && batch[j]!.topic === topic) j++;
          try {
            await this.inner.append(
              topic,
              batch.slice(i, j).map((r) => r.record),
            );
          } catch (err) {
            if (!refusedForGood(err)) throw err;
            ackTo(i);
            // One at a time, each acknowledged at once: what the log refuses for good (spooled by an
            // earlier version, or by a producer that did not keep within the limit) is dropped and
            // counted, so it is never retried and never stands in the way of the records behind it.
            for (let k = i; k < j; k++) {
              await this.appendOrDrop(topic, batch[k]!);
              ackTo(k + 1);
            }
          }
          i = j;
        }
      } catch (err) {
        ackTo(i);
        this.state = 'down';
        this.options.logger.debug({ err, spooled: this.spool.depth }, 'log still unreachable');
        await new Promise((r) => setTimeout(r, this.retryIntervalMs).unref());
        continue;
      }
      ackTo(batch.length);
      this.spoolFull = false;
    }
    if (!this.closed && this.state === 'down') {
      this.state = 'up';
      this.options.logger.info('log reachable again: spool replayed');
    }
  }

  private async appendOrDrop(topic: TopicName, spooled: SpooledRecord): Promise<void> {
    try {
      await this.inner.append(topic, [spooled.record]);
    } catch (err) {
      if (!refusedForGood(err)) throw err;
      this.options.logger.error({ err, topic, key: spooled.record.key }, 'a spooled record the log refuses for good was dropped');
      this.refusedRecords++;
      this.options.onRefused?.(1);
    }
  }

  subscribe(options: SubscribeOptions, handler: BatchHandler): ConsumerSubscription {
    return this.inner.subscribe(options, handler);
  }

  subscribeTransactional(options: TransactionalOptions, processor: TransactionalProcessor): Subscription {
    return this.inner.subscribeTransactional(options, processor);
  }

  resetGroup(groupId: string, topic: TopicName, from?: number): Promise<void> {
    return this.inner.resetGroup(groupId, topic, from);
  }

  /** Waits (up to `timeoutMs`) for the spool to drain, then closes. What is left stays spooled for the next start. */
  async close(timeoutMs = 5_000): Promise<void> {
    // Worth waiting for only while the log answers; otherwise the spool is kept for the next start.
    if (this.draining && this.state === 'up') {
      await Promise.race([this.draining, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    }
    this.closed = true;
    // A replay attempt may be waiting on an unreachable broker: what is left stays spooled.
    if (this.draining) await Promise.race([this.draining, new Promise((r) => setTimeout(r, 1_000).unref())]);
    await this.inner.close();
    this.spool.close();
  }
}
