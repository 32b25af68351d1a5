import { randomUUID } from 'node:crypto';
import type { TopicName } from '../../../../topology/topics';
import type { KafkaSettings } from '../../config/config';
import type { Logger } from '../../observability/logger';
import type { ConsumedRecord, Subscription, TransactionalOptions, TransactionalProcessor } from '../event-log';
import { loadKafkaLibrary, type KafkaBatch, type KafkaClient, type KafkaConsumer, type KafkaMessageLowLevel, type KafkaTxnProducer, type LowLevelConsumer } from './kafka-client';

/**
 * Exactly-once consume-transform-produce on Kafka: each commit is one Kafka
 * transaction holding the processor's outputs, its state changes (on a
 * compacted changelog topic partitioned like the input) and the consumer
 * offsets (sendOffsetsToTransaction with the group's metadata, so a zombie
 * from an older generation is fenced). A partition's state is restored from
 * its changelog partition when it is assigned. Any failure tears the whole
 * loop down and starts over from what is committed.
 */

const ERR_ASSIGN = -175;
const ERR_REVOKE = -174;
/** An open transaction of a crashed instance blocks read_committed readers until this expires. */
const TRANSACTION_TIMEOUT_MS = 10_000;

export interface KafkaTransactionalDeps {
  kafka: KafkaClient;
  commonConfig: Record<string, string | number | boolean>;
  settings: KafkaSettings;
  logger: Logger;
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
        if (!this.stopping) log.warn({ err }, 'exactly-once loop failed; restarting from the committed state');
      }
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
  private readonly consumer: KafkaConsumer;
  private readonly producer: KafkaTxnProducer;
  /** Next offset to commit, per partition processed since the last commit. */
  private readonly pending = new Map<number, number>();
  private readonly restored = new Set<number>();
  private assigned: number[] = [];
  private readonly lagByPartition = new Map<number, number>();
  private chain: Promise<void> = Promise.resolve();
  private failure: ((err: unknown) => void) | null = null;
  private lastCommit = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(
    private readonly deps: KafkaTransactionalDeps,
    private readonly options: TransactionalOptions,
    private readonly processor: TransactionalProcessor,
    private readonly log: Logger,
  ) {
    const { KafkaJS } = loadKafkaLibrary();
    this.consumer = deps.kafka.consumer({
      kafkaJS: {
        groupId: options.groupId,
        fromBeginning: true,
        autoCommit: false,
        // Eager rebalancing: every rebalance revokes everything, which keeps state hand-over simple.
        partitionAssigners: [KafkaJS.PartitionAssigners.range],
      },
      'js.consumer.max.batch.size': options.maxBatch ?? 2_000,
      'isolation.level': 'read_committed',
      'topic.metadata.refresh.interval.ms': 10_000,
      // A crashed instance's partitions stall until the group notices it is gone: 15 s, not the default 45 s.
      'session.timeout.ms': 15_000,
      'heartbeat.interval.ms': 3_000,
      rebalance_cb: (err: { code: number }, assignment: { partition: number }[]) => {
        if (err.code === ERR_REVOKE) this.revoked(assignment.map((a) => a.partition));
        else if (err.code === ERR_ASSIGN) {
          this.assigned = assignment.map((a) => a.partition);
          this.log.info({ partitions: this.assigned }, 'partitions assigned');
        }
      },
    });
    this.producer = deps.kafka.producer({
      kafkaJS: { transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1 },
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
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.options.topic] });
    this.timer = setInterval(() => this.enqueue(() => this.commitIfDue(true)), this.options.commitIntervalMs);
    await this.consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (this.closing || batch.messages.length === 0) return;
        await this.enqueue(() => this.handle(batch));
      },
    });
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

  private async handle(batch: KafkaBatch): Promise<void> {
    const p = batch.partition;
    if (!this.restored.has(p)) {
      // Restore every assigned partition at once: one read of the changelog instead of one per partition.
      const todo = [...new Set([p, ...this.assigned.filter((x) => !this.restored.has(x))])];
      const states = await this.readChangelog(todo);
      this.processor.revoke(todo);
      for (const x of todo) {
        this.processor.assign(x, states.get(x) ?? new Map());
        this.restored.add(x);
      }
    }
    const topic = batch.topic as TopicName;
    const records: ConsumedRecord[] = batch.messages.map((m) => ({
      topic,
      partition: p,
      offset: Number(m.offset),
      key: m.key ? m.key.toString() : null,
      value: m.value ?? Buffer.alloc(0),
      headers: {},
      timestamp: Number(m.timestamp),
    }));
    await this.processor.process(records);
    const next = records[records.length - 1]!.offset + 1;
    this.pending.set(p, next);
    const high = Number(batch.highWatermark);
    if (Number.isFinite(high)) this.lagByPartition.set(p, Math.max(0, high - next));
    await this.commitIfDue(false);
  }

  private async commitIfDue(timer: boolean): Promise<void> {
    if (!timer && Date.now() - this.lastCommit < this.options.commitIntervalMs) return;
    if (this.restored.size === 0) return;
    const { output, state } = await this.processor.flush();
    this.lastCommit = Date.now();
    if (output.length === 0 && state.length === 0 && this.pending.size === 0) return;
    const txn = await this.producer.transaction();
    try {
      const byTopic = new Map<string, { key: string | null; value: Buffer | null; partition?: number; headers?: Record<string, string> }[]>();
      const push = (topic: string, m: { key: string | null; value: Buffer | null; partition?: number; headers?: Record<string, string> }): void => {
        let list = byTopic.get(topic);
        if (!list) byTopic.set(topic, (list = []));
        list.push(m);
      };
      for (const r of output) push(r.topic, { key: r.key, value: r.value, headers: r.headers });
      for (const e of state) push(this.options.changelogTopic, { key: e.key, value: e.value, partition: e.partition });
      for (const [topic, messages] of byTopic) await txn.send({ topic, messages });
      if (this.pending.size > 0) {
        await txn.sendOffsets({
          consumer: this.consumer,
          topics: [{ topic: this.options.topic, partitions: [...this.pending].map(([partition, offset]) => ({ partition, offset: String(offset) })) }],
        });
      }
      await txn.commit();
      this.pending.clear();
    } catch (err) {
      await txn.abort().catch(() => undefined);
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

  /** Commits what was processed, then leaves the group. */
  async stopGracefully(): Promise<void> {
    if (!this.closing) await this.enqueue(() => this.commitIfDue(true)).catch(() => undefined);
    this.closing = true;
    this.stopResolve?.();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain.catch(() => undefined);
    if (this.producer.isActive()) await this.producer.abort().catch(() => undefined);
    const bounded = <T>(p: Promise<T>): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await bounded(this.consumer.disconnect());
    await bounded(this.producer.disconnect());
  }
}
