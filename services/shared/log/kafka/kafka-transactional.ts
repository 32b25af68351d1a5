import { randomUUID } from 'node:crypto';
import type { KafkaSettings } from '../../config/config';
import type { LlmLoggerError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { ConsumedRecord, OutputRecord, StateEntry, Subscription, TransactionalOptions, TransactionalProcessor } from '../event-log';
import { loadKafkaLibrary, type KafkaMessageLowLevel, type LowLevelConsumer } from './kafka-client';
import { nextOffsets, RdkafkaGroupConsumer, type GroupMembership } from './rdkafka-consumer';
import { RdkafkaProducer, type ProduceRecord } from './rdkafka-producer';

/**
 * Exactly-once consume-transform-produce on Kafka: each commit is one Kafka
 * transaction holding the processor's outputs, its state changes (on a
 * compacted changelog topic partitioned like the input) and the consumer
 * offsets (sendOffsetsToTransaction with the group's metadata, so a zombie
 * from an older generation is fenced). A partition's state is restored from
 * its changelog partition when it is assigned. Any failure tears the whole
 * loop down and starts over from what is committed.
 */

/** An open transaction of a crashed instance blocks read_committed readers until this expires. */
const TRANSACTION_TIMEOUT_MS = 10_000;

/** librdkafka's codes for a producer fenced by a newer one under its transactional id (or by a timed-out transaction). */
const PRODUCER_FENCED = new Set([-144, 90, 47]); // __FENCED, PRODUCER_FENCED, INVALID_PRODUCER_EPOCH

export interface KafkaTransactionalDeps {
  commonConfig: Record<string, string | number | boolean>;
  settings: KafkaSettings;
  logger: Logger;
  membership: GroupMembership;
  /** Another process took this instance's place: the loop has stopped for good. */
  onFatal: (err: LlmLoggerError) => void;
}

export class KafkaTransactionalSubscription implements Subscription {
  readonly done: Promise<void>;
  private stopping = false;
  private current: Session | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly deps: KafkaTransactionalDeps,
    private readonly options: TransactionalOptions,
    private readonly processor: TransactionalProcessor,
  ) {
    this.done = this.run();
  }

  lag(): number {
    return this.current?.lag() ?? 0;
  }

  private async run(): Promise<void> {
    const log = this.deps.logger.child({ consumer: this.options.groupId, topic: this.options.topic });
    let backoffMs = 500;
    while (!this.stopping) {
      const session = new Session(this.deps, this.options, this.processor, log);
      this.current = session;
      try {
        await session.run();
        backoffMs = 500;
      } catch (err) {
        const fenced = this.stopping ? null : await session.fencedBy(err);
        if (fenced) {
          // Starting over would join under the same instance id and fence the process that took over.
          this.stopping = true;
          await session.close();
          this.deps.onFatal(fenced);
          break;
        }
        if (!this.stopping) log.warn({ err }, 'exactly-once loop failed; restarting from the committed state');
      }
      // A session that failed keeps its place in the group (static membership): the next one takes it back at once.
      await session.close();
      if (this.stopping) break;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, backoffMs).unref();
      });
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.current?.stopGracefully();
    await this.done;
  }
}

class Session {
  private readonly consumer: RdkafkaGroupConsumer;
  private readonly producer: RdkafkaProducer;
  /** Next offset to commit, per partition processed since the last commit. */
  private readonly pending = new Map<number, number>();
  private readonly restored = new Set<number>();
  private readonly lagByPartition = new Map<number, number>();
  private chain: Promise<void> = Promise.resolve();
  private failure: ((err: unknown) => void) | null = null;
  private lastCommit = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  /** Stopped by stopGracefully: close leaves the group instead of keeping its place. */
  private leaving = false;
  private inTransaction = false;
  /** The transaction in flight, if any (one at a time). */
  private committing: Promise<void> | null = null;

  constructor(
    private readonly deps: KafkaTransactionalDeps,
    private readonly options: TransactionalOptions,
    private readonly processor: TransactionalProcessor,
    private readonly log: Logger,
  ) {
    this.consumer = new RdkafkaGroupConsumer({
      config: {
        ...deps.commonConfig,
        'isolation.level': 'read_committed',
        'topic.metadata.refresh.interval.ms': 10_000,
      },
      topic: options.topic,
      groupId: options.groupId,
      start: 'earliest',
      // Static with an instance id: a restart under it (the same transactional id) resumes at once, and
      // replaces the member it was, whose offsets it can no longer commit (fenced with its producer).
      membership: deps.membership,
      // Eager rebalancing: every rebalance revokes everything, which keeps state hand-over simple.
      cooperative: false,
      onAssigned: (partitions) => this.log.info({ partitions }, 'partitions assigned'),
      // After the batch in hand: commit what was processed (still allowed in this generation), then forget.
      onRevoked: (partitions) =>
        this.enqueue(async () => {
          await this.commitIfDue('final');
          this.revoked(partitions);
        }),
    });
    this.producer = new RdkafkaProducer({
      ...deps.commonConfig,
      'transactional.id': options.transactionalId,
      'enable.idempotence': true,
      'transaction.timeout.ms': TRANSACTION_TIMEOUT_MS,
      'socket.timeout.ms': TRANSACTION_TIMEOUT_MS,
      'compression.codec': deps.settings.compression,
      'linger.ms': 5,
    });
  }

  lag(): number {
    let n = 0;
    for (const v of this.lagByPartition.values()) n += v;
    return n;
  }

  /** Resolves only when stopped; rejects on the first failure. */
  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.failure = reject;
      this.stopResolve = resolve;
      void this.start().catch(reject);
    });
  }

  private stopResolve: (() => void) | null = null;

  private async start(): Promise<void> {
    await this.producer.connect(30_000);
    // Fences an older instance with the same transactional id and aborts its open transaction.
    await this.producer.initTransactions(30_000);
    await this.consumer.connect();
    this.timer = setInterval(() => void this.enqueue(() => this.commitIfDue('tick')), this.options.commitIntervalMs);
    while (!this.closing) {
      const records = await this.consumer.next(this.options.maxBatch ?? 2_000);
      if (records.length > 0 && !this.closing) await this.enqueue(() => this.handle(records));
    }
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(() => (this.closing ? undefined : work()));
    this.chain = next.catch((err: unknown) => {
      this.closing = true;
      this.failure?.(err);
    });
    return this.chain;
  }

  private revoked(partitions: number[]): void {
    // Whatever these partitions processed since the last commit is redone by their next owner.
    for (const p of partitions) {
      this.pending.delete(p);
      this.restored.delete(p);
      this.lagByPartition.delete(p);
    }
    this.processor.revoke(partitions);
  }

  private async handle(batch: ConsumedRecord[]): Promise<void> {
    // Records fetched before a revocation that has been handled since are someone else's now.
    const held = new Set(this.consumer.partitions());
    const records = batch.every((r) => held.has(r.partition)) ? batch : batch.filter((r) => held.has(r.partition));
    const next = nextOffsets(records);
    if ([...next.keys()].some((p) => !this.restored.has(p))) {
      // Restore every assigned partition at once: one read of the changelog instead of one per partition.
      const todo = [...new Set([...next.keys(), ...held])].filter((x) => !this.restored.has(x));
      const states = await this.readChangelog(todo);
      this.processor.revoke(todo);
      for (const x of todo) {
        this.processor.assign(x, states.get(x) ?? new Map());
        this.restored.add(x);
      }
    }
    if (records.length === 0) return;
    await this.processor.process(records);
    for (const [p, n] of next) {
      this.pending.set(p, n);
      const lag = this.consumer.lagAfter(p, n);
      if (lag !== undefined) this.lagByPartition.set(p, lag);
    }
    await this.commitIfDue('batch');
  }

  /**
   * Starts a transaction with what was processed so far. `batch`: only once
   * the commit interval has passed; `tick`: whenever (the timer, so a quiet
   * input still commits); both skip while a transaction is in flight, and do
   * not wait for theirs: batches go on being processed meanwhile (into the
   * next flush; the engine orders a flush after the batches handed over
   * before it). `final` (revocation, stop) waits for the one in flight, then
   * commits the rest and waits for that too. A failed transaction fails the
   * session, which starts over from what is committed.
   */
  private async commitIfDue(mode: 'batch' | 'tick' | 'final'): Promise<void> {
    if (this.committing) {
      if (mode !== 'final') return;
      await this.committing;
    }
    if (mode === 'batch' && Date.now() - this.lastCommit < this.options.commitIntervalMs) return;
    if (this.restored.size === 0) return;
    this.lastCommit = Date.now();
    // The offsets of every batch handed over so far, and the flush that covers exactly those batches.
    const offsets = [...this.pending].map(([partition, offset]) => ({ topic: this.options.topic, partition, offset }));
    this.pending.clear();
    const commit = this.transaction(this.processor.flush(), offsets);
    const inFlight: Promise<void> = commit.finally(() => {
      if (this.committing === inFlight) this.committing = null;
    });
    this.committing = inFlight;
    if (mode === 'final') return commit;
    commit.catch((err: unknown) => {
      this.closing = true;
      this.failure?.(err);
    });
  }

  private async transaction(flushed: Promise<{ output: OutputRecord[]; state: StateEntry[] }>, offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const { output, state } = await flushed;
    if (output.length === 0 && state.length === 0 && offsets.length === 0) return;
    await this.producer.beginTransaction();
    this.inTransaction = true;
    try {
      const byTopic = new Map<string, ProduceRecord[]>();
      const push = (topic: string, m: ProduceRecord): void => {
        let list = byTopic.get(topic);
        if (!list) byTopic.set(topic, (list = []));
        list.push(m);
      };
      for (const r of output) push(r.topic, { key: r.key, value: r.value, headers: r.headers });
      for (const e of state) push(this.options.changelogTopic, { key: e.key, value: e.value, partition: e.partition });
      await Promise.all([...byTopic].map(([topic, messages]) => this.producer.send(topic, messages)));
      if (offsets.length > 0) await this.producer.sendOffsetsToTransaction(offsets, this.consumer.consumer, TRANSACTION_TIMEOUT_MS);
      await this.producer.commitTransaction(TRANSACTION_TIMEOUT_MS);
      this.inTransaction = false;
    } catch (err) {
      await this.producer.abortTransaction(TRANSACTION_TIMEOUT_MS).catch(() => undefined);
      this.inTransaction = false;
      throw err;
    }
  }

  /** Reads changelog partitions to their ends (read_committed): the state of those input partitions. */
  private async readChangelog(partitions: number[]): Promise<Map<number, Map<string, Buffer>>> {
    const { KafkaConsumer } = loadKafkaLibrary();
    const topic = this.options.changelogTopic;
    const reader: LowLevelConsumer = new KafkaConsumer(
      {
        ...this.deps.commonConfig,
        'group.id': `${this.options.groupId}-restore-${randomUUID()}`,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
      },
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) => reader.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    const states = new Map<number, Map<string, Buffer>>(partitions.map((p) => [p, new Map()]));
    try {
      const highs = new Map<number, number>();
      await Promise.all(
        partitions.map(
          (p) =>
            new Promise<void>((resolve, reject) =>
              reader.queryWatermarkOffsets(topic, p, 10_000, (err, o) => {
                if (err) return reject(err);
                if (o.highOffset > 0) highs.set(p, o.highOffset);
                resolve();
              }),
            ),
        ),
      );
      if (highs.size === 0) return states;
      reader.assign([...highs.keys()].map((partition) => ({ topic, partition, offset: -2 })));
      reader.setDefaultConsumeTimeout(200);
      const deadline = Date.now() + TRANSACTION_TIMEOUT_MS + 60_000;
      while (highs.size > 0) {
        const messages = await new Promise<KafkaMessageLowLevel[]>((resolve, reject) =>
          reader.consume(10_000, (err, m) => (err ? reject(err) : resolve(m))),
        );
        for (const m of messages) {
          const key = m.key === null || m.key === undefined ? null : m.key.toString();
          const state = states.get(m.partition);
          if (key === null || !state) continue;
          if (m.value && m.value.length > 0) state.set(key, m.value);
          else state.delete(key);
        }
        // The position passes transaction markers too, so it reaches the high watermark once all is read.
        const positions = reader.position([...highs.keys()].map((partition) => ({ topic, partition })));
        for (const pos of positions) if (pos.offset >= highs.get(pos.partition)!) highs.delete(pos.partition);
        if (highs.size > 0 && Date.now() > deadline) throw new Error(`changelog ${topic} not readable to its end for partitions ${[...highs.keys()].join(',')}`);
      }
    } finally {
      await new Promise<void>((r) => reader.disconnect(() => r()));
    }
    this.log.info({ partitions, keys: [...states.values()].reduce((n, m) => n + m.size, 0) }, 'state restored from the changelog');
    return states;
  }

  /**
   * The failure's cause when it means another process runs under this
   * instance's identity: its consumer was fenced (static membership), or its
   * producer was and the group confirms it at the next heartbeat (a producer
   * is also fenced when a transaction of its own timed out: then start over).
   */
  async fencedBy(err: unknown): Promise<LlmLoggerError | null> {
    const m = this.deps.membership;
    if (this.consumer.fatalError()) return this.consumer.fatalError();
    if (!m.instanceId || !PRODUCER_FENCED.has((err as { code?: number }).code ?? 0)) return null;
    return (await this.consumer.fencedWithin(Math.min(3_000, m.sessionTimeoutMs / 3) + 1_500)) ? this.consumer.fatalError() : null;
  }

  /** Commits what was processed, then leaves the group. */
  async stopGracefully(): Promise<void> {
    if (!this.closing) await this.enqueue(() => this.commitIfDue('final')).catch(() => undefined);
    this.closing = true;
    this.leaving = true;
    this.stopResolve?.();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain.catch(() => undefined);
    await this.committing?.catch(() => undefined);
    if (this.inTransaction) await this.producer.abortTransaction(TRANSACTION_TIMEOUT_MS).catch(() => undefined);
    const bounded = <T>(p: Promise<T>): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await bounded(this.consumer.disconnect({ leave: this.leaving }));
    await bounded(this.producer.disconnect());
  }
}
