import type { Subscription, TransactionalOptions, TransactionalProcessor } from '../event-log';
import { PartitionReader } from './partition-reader';
import { sleep, type SqliteEventLog } from './sqlite-log';

/**
 * Exactly-once consume-transform-produce on the embedded log: the processor's
 * outputs, its state changes and the input offsets go into one SQLite
 * transaction. A crash before it commits leaves all three as they were, so
 * the restarted processor restores the committed state and reprocesses the
 * uncommitted input. One process owns all partitions of the group.
 */
export class EmbeddedTransactionalSubscription implements Subscription {
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private readonly reader: PartitionReader;
  private readonly positions: Map<number, number>;

  constructor(
    private readonly log: SqliteEventLog,
    private readonly options: TransactionalOptions,
    private readonly processor: TransactionalProcessor,
  ) {
    this.reader = new PartitionReader(log, options.topic, options.maxBatch ?? 2_000);
    this.positions = this.reader.positions;
    this.done = this.loop();
  }

  lag(): number {
    return this.reader.lag();
  }

  /** (Re)starts from what is committed: offsets and state. */
  private restore(): void {
    const { topic, groupId } = this.options;
    this.processor.revoke([...this.log.endOffsets(topic).keys()]);
    const committed = this.log.committedOffsets(groupId, topic);
    const state = this.log.readState(groupId);
    for (const p of this.log.endOffsets(topic).keys()) {
      this.positions.set(p, committed.get(p) ?? 0);
      this.processor.assign(p, state.get(p) ?? new Map());
    }
  }

  private async commit(): Promise<void> {
    const { output, state } = await this.processor.flush();
    this.log.commitTransaction(this.options.groupId, this.options.topic, this.positions, output, state);
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    this.restore();
    let lastCommit = Date.now();
    let backoffMs = 100;
    while (!signal.aborted) {
      try {
        const batch = this.reader.fetch();
        if (batch.length > 0) {
          await this.processor.process(batch);
          for (const r of batch) this.positions.set(r.partition, r.offset + 1);
        }
        if (Date.now() - lastCommit >= this.options.commitIntervalMs) {
          await this.commit();
          lastCommit = Date.now();
        }
        backoffMs = 100;
        if (batch.length === 0) await this.log.waitForAppend(this.options.topic, signal);
      } catch {
        // Uncommitted work is void: start again from the committed state. The processor logged why.
        await sleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 5_000);
        if (!signal.aborted) this.restore();
      }
    }
    await this.commit().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
