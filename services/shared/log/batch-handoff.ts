import { LlmLoggerError } from '../errors';

/**
 * Hands records to a slow sink in batches, off the request path: a bounded
 * queue, a maximum batch size, a linger timer that never keeps the process
 * alive, a retry with backoff for retriable failures, and a shutdown that
 * runs once and flushes what is queued. Knows nothing about the transport.
 */

export interface HandoffSink<T> {
  /** Resolves when every item is durable; rejects with a retriable error to be retried. */
  write(items: T[]): Promise<void>;
}

export interface HandoffOptions<T = unknown> {
  maxQueue: number;
  maxBatch: number;
  /** How long the first queued item may wait for others to join its batch. */
  lingerMs: number;
  /** Upper bound of the retry backoff. */
  maxBackoffMs?: number;
  onDrop?: (count: number) => void;
  /** Items let go of without being written: refused, given up at shutdown, or refused by the sink for good. */
  onDropped?: (items: T[]) => void;
  onError?: (err: unknown, attempt: number) => void;
}

interface Pending<T> {
  item: T;
  done: ((err?: Error) => void) | null;
}

const SPENT: Pending<unknown> = Object.freeze({ item: undefined, done: null });

export class BatchHandoff<T> {
  private queue: Pending<T>[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private shutdownPromise: Promise<void> | null = null;
  private failing = false;
  private abandoned = false;

  constructor(
    private readonly sink: HandoffSink<T>,
    private readonly options: HandoffOptions<T>,
  ) {}

  /** Items waiting, including the batch being written. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  get full(): boolean {
    return this.depth >= this.options.maxQueue;
  }

  /** True while the sink has been failing (for readiness and strict mode). */
  get degraded(): boolean {
    return this.failing;
  }

  /**
   * Queues an item without waiting. Returns false (and counts a drop) when the
   * queue is full or closed: the caller decides whether that is acceptable.
   */
  offer(item: T): boolean {
    if (this.shutdownPromise || this.depth >= this.options.maxQueue) {
      this.options.onDrop?.(1);
      this.options.onDropped?.([item]);
      return false;
    }
    this.queue.push({ item, done: null });
    this.schedule();
    return true;
  }

  /** Queues an item and resolves once it is durable in the sink. */
  offerDurable(item: T): Promise<void> {
    const refused = this.shutdownPromise
      ? new LlmLoggerError('LOG_CLOSED', 'the event hand-off is shut down')
      : this.depth >= this.options.maxQueue
        ? new LlmLoggerError('LOG_QUEUE_FULL', 'the event hand-off queue is full', { retriable: true })
        : null;
    if (refused) {
      this.options.onDropped?.([item]);
      return Promise.reject(refused);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ item, done: (err) => (err ? reject(err) : resolve()) });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.writing) return;
    if (this.depth >= this.options.maxBatch || this.options.lingerMs === 0) {
      this.startWrite();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.startWrite(), this.options.lingerMs);
      this.timer.unref();
    }
  }

  private startWrite(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writing || this.depth === 0) return;
    this.writing = this.drain().finally(() => {
      this.writing = null;
      if (this.depth > 0) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    while (this.depth > 0) {
      const end = Math.min(this.queue.length, this.head + this.options.maxBatch);
      const batch = this.queue.slice(this.head, end);
      try {
        await this.writeWithRetry(batch.map((p) => p.item));
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (this.abandoned) {
          // Shutdown gave up: fail every waiter, count the loss.
          const lost = this.queue.slice(this.head);
          this.queue = [];
          this.head = 0;
          this.lose(lost, error);
          return;
        }
        // The sink refused this batch for good: it can never be written.
        this.consumeTo(end);
        this.lose(batch, error);
        continue;
      }
      this.consumeTo(end);
      for (const p of batch) p.done?.();
      if (this.depth < this.options.maxBatch && !this.shutdownPromise) return;
    }
  }

  /** Items that will never be written: counted, handed back, their waiters failed. */
  private lose(pending: Pending<T>[], error: Error): void {
    this.options.onDrop?.(pending.length);
    this.options.onDropped?.(pending.map((p) => p.item));
    for (const p of pending) p.done?.(error);
  }

  /** Drops the items before `end` from the queue. */
  private consumeTo(end: number): void {
    // Their slots are emptied at once (and reclaimed at the next compaction): a
    // written item kept in the queue's prefix would outlive its batch, and at
    // saturation ~1,000 of them (with their encoded values) got promoted to
    // the old generation, to be collected only by a full garbage collection.
    this.queue.fill(SPENT as Pending<T>, this.head, end);
    this.head = end;
    // Compact once the consumed prefix dominates, so memory stays bounded.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private async writeWithRetry(items: T[]): Promise<void> {
    let backoff = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sink.write(items);
        this.failing = false;
        return;
      } catch (err) {
        this.failing = true;
        this.options.onError?.(err, attempt);
        if (this.abandoned) throw err;
        if (err instanceof LlmLoggerError && !err.retriable) {
          this.failing = false;
          throw err;
        }
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5_000);
      }
    }
  }

  /**
   * Flushes everything queued, then refuses new items. If the sink is still
   * failing after `graceMs`, what is left is dropped and counted. Safe to
   * call more than once.
   */
  shutdown(graceMs = 30_000): Promise<void> {
    this.shutdownPromise ??= (async () => {
      const giveUp = setTimeout(() => (this.abandoned = true), graceMs);
      giveUp.unref();
      this.startWrite();
      while (this.writing) await this.writing;
      clearTimeout(giveUp);
    })();
    return this.shutdownPromise;
  }
}
