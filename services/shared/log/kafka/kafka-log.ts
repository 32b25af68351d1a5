import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { partitioningOf, type TopicName } from '../../../../topology/topics';
import type { KafkaSettings } from '../../config/config';
import { LlmLoggerError } from '../../errors';
import type { Logger } from '../../observability/logger';
import { nextOffsets, RdkafkaGroupConsumer, type GroupMembership } from './rdkafka-consumer';
import type * as TopologyAdminModule from './topology-admin';
import { RdkafkaProducer } from './rdkafka-producer';
import type {
  BatchHandler,
  CommitPositions,
  ConsumedRecord,
  EventLog,
  ProducerRecord,
  SchemaRegistry,
  SubscribeOptions,
  ConsumerSubscription,
  Subscription,
  TransactionalOptions,
  TransactionalProcessor,
} from '../event-log';
import { KafkaTransactionalSubscription } from './kafka-transactional';

/**
 * The Kafka adapter of the event log, on @confluentinc/kafka-javascript
 * (librdkafka; chosen by measurement, see docs/benchmarks.md). Producer:
 * idempotent, acks=all, linger, zstd. Consumers: consumer groups, manual
 * commits after the handler, cooperative-sticky rebalancing; producer and
 * consumers on the library's lower-level API (rdkafka-producer.ts,
 * rdkafka-consumer.ts), which measured faster than its KafkaJS-style layer.
 */

export interface KafkaLogOptions {
  brokers: string[];
  settings: KafkaSettings;
  registry: SchemaRegistry;
  logger: Logger;
  /** How appends to a topic pick partitions (default: the topology's; benchmarks treat their topics like llm.inference.v1). */
  partitioning?: (topic: string) => 'key' | 'batch';
  /**
   * A consumer of this log can go on no more (another process took its group
   * instance id): it has stopped, and the process should exit so that an
   * orchestrator restarts it. Without it the error is only logged.
   */
  onFatal?: (err: LlmLoggerError) => void;
}


/** librdkafka settings shared by every client: security, identity, quiet logs. */
export function rdkafkaCommonConfig(brokers: string[], s: KafkaSettings): Record<string, string | number | boolean> {
  const conf: Record<string, string | number | boolean> = {
    'bootstrap.servers': brokers.join(','),
    'client.id': s.clientId,
  };
  const protocol = `${s.sasl ? 'sasl_' : ''}${s.tls ? 'ssl' : 'plaintext'}`;
  conf['security.protocol'] = protocol;
  if (s.sasl) {
    conf['sasl.mechanisms'] = s.sasl.mechanism.toUpperCase();
    conf['sasl.username'] = s.sasl.username;
    conf['sasl.password'] = s.sasl.password;
  }
  if (s.tls) {
    if (s.tls.caFile) conf['ssl.ca.pem'] = readFileSync(s.tls.caFile, 'utf8');
    if (s.tls.certFile) conf['ssl.certificate.pem'] = readFileSync(s.tls.certFile, 'utf8');
    if (s.tls.keyFile) conf['ssl.key.pem'] = readFileSync(s.tls.keyFile, 'utf8');
  }
  return conf;
}

/** What a record counts against message.max.bytes: value, key and headers (without the protocol's small overhead). */
function recordBytes(r: ProducerRecord): number {
  let bytes = r.value.length + (r.key === null ? 0 : Buffer.byteLength(r.key));
  for (const [k, v] of Object.entries(r.headers ?? {})) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  return bytes;
}

function wrap(what: string, err: unknown): LlmLoggerError {
  return new LlmLoggerError('LOG_UNAVAILABLE', `kafka ${what}: ${(err as Error).message ?? String(err)}`, { cause: err, retriable: true });
}

export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  readonly schemaRegistry: SchemaRegistry;
  private producer: RdkafkaProducer | null = null;
  private readonly subscriptions = new Set<KafkaSubscription | KafkaTransactionalSubscription>();
  private closed = false;
  /** Batches appended so far: the next 'batch'-partitioned one goes to partition `rotation % count`. */
  private rotation = 0;
  /** Groups a subscription of this log has joined under the static instance id. */
  private readonly staticGroups = new Set<string>();

  constructor(private readonly options: KafkaLogOptions) {
    this.schemaRegistry = options.registry;
  }

  /**
   * The connected producer. Connecting to a cluster that is down would take
   * librdkafka ~30 s to give up; callers wait at most the delivery timeout, so
   * the gateway spools instead of queueing in memory meanwhile.
   */
  private async getProducer(): Promise<RdkafkaProducer> {
    const s = this.options.settings;
    this.producer ??= new RdkafkaProducer({
      ...rdkafkaCommonConfig(this.options.brokers, s),
      'enable.idempotence': true,
      'request.required.acks': -1,
      'compression.codec': s.compression,
      'linger.ms': s.lingerMs,
      // A delivery that cannot complete in this time fails, and the gateway spools it to disk.
      'message.timeout.ms': s.deliveryTimeoutMs,
      'batch.size': Math.min(1_000_000, s.maxRecordBytes),
      'message.max.bytes': s.maxRecordBytes,
      'queue.buffering.max.kbytes': 262_144,
    });
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no connection within ${s.deliveryTimeoutMs} ms`)), s.deliveryTimeoutMs);
    });
    try {
      await Promise.race([this.producer.connect(s.deliveryTimeoutMs), giveUp]);
    } catch (err) {
      throw wrap('producer connect', err);
    } finally {
      clearTimeout(timer);
    }
    return this.producer;
  }

  async append(topic: TopicName, records: ProducerRecord[]): Promise<void> {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    if (records.length === 0) return;
    // A record over the limit would fail for good, and take its batch with it: refused here, before
    // anything is produced, as an error no retry can help (the sources keep within the limit).
    const max = this.options.settings.maxRecordBytes;
    const over = records.find((r) => recordBytes(r) > max);
    if (over) {
      throw new LlmLoggerError('RECORD_TOO_LARGE', `a record of ${recordBytes(over)} bytes for ${topic} is over the limit of ${max} bytes (LLM_LOGGER_KAFKA_MAX_RECORD_BYTES)`);
    }
    const producer = await this.getProducer();
    let partition: number | undefined;
    if ((this.options.partitioning ?? partitioningOf)(topic) === 'batch') {
      // Until the partition count is known (the first batch), keys pick partitions.
      const count = producer.partitionCount(topic);
      if (count !== null) partition = this.rotation++ % count;
    }
    try {
      await producer.send(topic, records, partition);
    } catch (err) {
      throw wrap(`produce to ${topic}`, err);
    }
  }

  /**
   * A group's member is static under the process's instance id, once per
   * group: a second subscription of the same group in this process (tests,
   * benchmarks) would fence the first, so it joins as a dynamic member.
   */
  private membership(groupId: string | null): { membership: GroupMembership; release: () => void } {
    const { groupInstanceId, sessionTimeoutMs } = this.options.settings;
    if (groupId === null || groupInstanceId === null || this.staticGroups.has(groupId)) {
      return { membership: { instanceId: null, sessionTimeoutMs }, release: () => undefined };
    }
    this.staticGroups.add(groupId);
    return { membership: { instanceId: groupInstanceId, sessionTimeoutMs }, release: () => this.staticGroups.delete(groupId) };
  }

  private fatal(err: LlmLoggerError): void {
    this.options.logger.error({ err }, err.message);
    this.options.onFatal?.(err);
  }

  subscribe(options: SubscribeOptions, handler: BatchHandler): ConsumerSubscription {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    const { membership, release } = this.membership(options.groupId);
    const sub = new KafkaSubscription(rdkafkaCommonConfig(this.options.brokers, this.options.settings), options, handler, this.options.logger, membership, (err) =>
      this.fatal(err),
    );
    this.subscriptions.add(sub);
    void sub.done.finally(() => {
      this.subscriptions.delete(sub);
      release();
    });
    return sub;
  }

  subscribeTransactional(options: TransactionalOptions, processor: TransactionalProcessor): Subscription {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    const { membership, release } = this.membership(options.groupId);
    const sub = new KafkaTransactionalSubscription(
      {
        commonConfig: rdkafkaCommonConfig(this.options.brokers, this.options.settings),
        settings: this.options.settings,
        logger: this.options.logger,
        membership,
        onFatal: (err) => this.fatal(err),
      },
      options,
      processor,
    );
    this.subscriptions.add(sub);
    void sub.done.finally(() => {
      this.subscriptions.delete(sub);
      release();
    });
    return sub;
  }

  async resetGroup(groupId: string, topic: TopicName, from?: number): Promise<void> {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    // The admin client (kafkajs) is loaded only here, as `topology` does: most processes never need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { KafkaTopologyAdmin } = require('./topology-admin') as typeof TopologyAdminModule;
    const admin = await KafkaTopologyAdmin.connect(this.options.brokers, this.options.settings);
    try {
      await admin.resetGroupOffsets(groupId, topic, from);
    } finally {
      await admin.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (this.producer) {
      await this.producer.flush(10_000);
      await this.producer.disconnect();
    }
  }
}

/** Where a failed batch starts again, and how long to wait before it does. */
const RETRY_MS = { first: 500, max: 10_000 };

class KafkaSubscription implements ConsumerSubscription {
  readonly done: Promise<void>;
  private readonly consumer: RdkafkaGroupConsumer;
  private readonly lagByPartition = new Map<number, number>();
  private stopping = false;
  private inBatch: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;

  constructor(
    commonConfig: Record<string, unknown>,
    private readonly options: SubscribeOptions,
    private readonly handler: BatchHandler,
    private readonly logger: Logger,
    membership: GroupMembership,
    private readonly onFatal: (err: LlmLoggerError) => void,
  ) {
    // A reader with no group (tail) gets a throw-away group and never commits.
    const groupId = options.groupId ?? `${options.readerGroupPrefix ?? 'llm-logger-reader-'}${randomUUID()}`;
    this.consumer = new RdkafkaGroupConsumer({
      config: {
        ...commonConfig,
        // Read only what producers committed (transactional aggregates).
        'isolation.level': 'read_committed',
        // A topic created after the consumer started is picked up within 10 s, not librdkafka's 5 min.
        'topic.metadata.refresh.interval.ms': 10_000,
      },
      topic: options.topic,
      groupId,
      start: options.start,
      cooperative: true,
      membership,
      rewind: options.rewind,
      // A partition found empty has a known lag of 0 before any record: a reader of an empty topic has caught up.
      onAssigned: (partitions) => {
        for (const p of partitions) {
          void this.consumer.isEmpty(p).then((empty) => {
            if (empty && this.consumer.partitions().includes(p) && !this.lagByPartition.has(p)) this.lagByPartition.set(p, 0);
          });
        }
      },
      onRevoked: (partitions) => {
        for (const p of partitions) this.lagByPartition.delete(p);
        options.onRevoked?.(partitions);
      },
      onRebalanceError: (err, step) => logger.error({ err, topic: options.topic, groupId, step }, 'kafka rebalance step failed'),
    });
    this.done = this.run().catch((err: unknown) => {
      if (!this.stopping) logger.error({ err, topic: options.topic, groupId }, 'consumer stopped');
    });
  }

  lag(): number {
    let total = 0;
    for (const v of this.lagByPartition.values()) total += v;
    return total;
  }

  caughtUp(): boolean {
    const held = this.consumer.partitions();
    return held.length > 0 && held.every((p) => this.lagByPartition.get(p) === 0);
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    let retryMs = RETRY_MS.first;
    while (!this.stopping) {
      let records: ConsumedRecord[];
      try {
        records = await this.consumer.next(this.options.maxBatch ?? 1000);
      } catch (err) {
        if (this.stopping) break;
        const fatal = this.consumer.fatalError();
        if (fatal) {
          // Trying again cannot help, and rejoining would fence the process that took over.
          this.stopping = true;
          this.onFatal(fatal);
          break;
        }
        this.logger.warn({ err, topic: this.options.topic }, 'kafka consume failed; trying again');
        await sleep(retryMs);
        continue;
      }
      // Once stopping, take nothing new: what is not committed is delivered again later.
      if (records.length === 0 || this.stopping) continue;
      // Set before the handler runs: a stop() it triggers waits for this batch's commit.
      let finished!: () => void;
      this.inBatch = new Promise<void>((r) => (finished = r));
      try {
        await this.handleBatch(records);
        retryMs = RETRY_MS.first;
      } catch (err) {
        // Not committed: read the batch again from its first records, after a pause.
        this.logger.warn({ err, topic: this.options.topic, retryInMs: retryMs }, 'batch failed; it will be read again');
        await this.consumer.rewind(records);
        await sleep(retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MS.max);
      } finally {
        this.inBatch = null;
        finished();
      }
    }
  }

  private async handleBatch(records: ConsumedRecord[]): Promise<void> {
    const held = await this.handler(records);
    const next = nextOffsets(records);
    // A handler that holds records back names what is safe to commit; it may be nothing yet.
    if (this.options.groupId) {
      const committed = await this.consumer.commit(held ?? next);
      if (committed.size > 0) this.options.onCommitted?.(committed);
    }
    for (const [p, n] of next) {
      const lag = this.consumer.lagAfter(p, n);
      if (lag !== undefined) this.lagByPartition.set(p, lag);
    }
  }

  async commit(positions: CommitPositions): Promise<void> {
    if (!this.options.groupId || this.stopping || positions.size === 0) return;
    const committed = await this.consumer.commit(positions);
    if (committed.size > 0) this.options.onCommitted?.(committed);
  }

  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    await this.inBatch; // let the batch in hand finish and commit
    // A clean stop leaves the group, so the partitions move to the other members at once. A connect
    // to an unreachable cluster may take librdkafka ~30 s to give up: do not wait for it.
    const stopped = Promise.all([this.consumer.disconnect({ leave: true }), this.done]);
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 10_000).unref())]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
