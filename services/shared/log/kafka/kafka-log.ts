import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { TopicName } from '../../../../topology/topics';
import type { KafkaSettings } from '../../config/config';
import { LlmLoggerError } from '../../errors';
import type { Logger } from '../../observability/logger';
import { loadKafkaLibrary, type KafkaBatch, type KafkaClient, type KafkaConsumer } from './kafka-client';
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
 * commits after the handler, cooperative-sticky rebalancing.
 */

export interface KafkaLogOptions {
  brokers: string[];
  settings: KafkaSettings;
  registry: SchemaRegistry;
  logger: Logger;
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

function headersOf(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = String(Array.isArray(v) ? v[0] : (v ?? ''));
  return out;
}

function wrap(what: string, err: unknown): LlmLoggerError {
  return new LlmLoggerError('LOG_UNAVAILABLE', `kafka ${what}: ${(err as Error).message ?? String(err)}`, { cause: err, retriable: true });
}

export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  readonly schemaRegistry: SchemaRegistry;
  private readonly kafka: KafkaClient;
  private producer: RdkafkaProducer | null = null;
  private readonly subscriptions = new Set<KafkaSubscription | KafkaTransactionalSubscription>();
  private closed = false;

  constructor(private readonly options: KafkaLogOptions) {
    this.schemaRegistry = options.registry;
    const log = options.logger.child({ component: 'kafka' });
    const { KafkaJS } = loadKafkaLibrary();
    this.kafka = new KafkaJS.Kafka({
      kafkaJS: {
        brokers: options.brokers,
        clientId: options.settings.clientId,
        logLevel: KafkaJS.logLevel.WARN,
        logger: {
          info: (m: string, e?: object) => log.debug(e ?? {}, m),
          error: (m: string, e?: object) => log.warn(e ?? {}, m),
          warn: (m: string, e?: object) => log.warn(e ?? {}, m),
          debug: () => undefined,
          namespace: () => undefined,
          setLogLevel: () => undefined,
        } as never,
      },
      ...rdkafkaCommonConfig(options.brokers, options.settings),
    });
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
      'batch.size': 1_000_000,
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
    const producer = await this.getProducer();
    try {
      await producer.send(topic, records);
    } catch (err) {
      throw wrap(`produce to ${topic}`, err);
    }
  }

  subscribe(options: SubscribeOptions, handler: BatchHandler): ConsumerSubscription {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    const sub = new KafkaSubscription(this.kafka, options, handler, this.options.logger);
    this.subscriptions.add(sub);
    void sub.done.finally(() => this.subscriptions.delete(sub));
    return sub;
  }

  subscribeTransactional(options: TransactionalOptions, processor: TransactionalProcessor): Subscription {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    const sub = new KafkaTransactionalSubscription(
      {
        kafka: this.kafka,
        commonConfig: rdkafkaCommonConfig(this.options.brokers, this.options.settings),
        settings: this.options.settings,
        logger: this.options.logger,
      },
      options,
      processor,
    );
    this.subscriptions.add(sub);
    void sub.done.finally(() => this.subscriptions.delete(sub));
    return sub;
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

/** librdkafka's rebalance event code for partitions being revoked (RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS). */
const ERR_REVOKE_PARTITIONS = -174;

class KafkaSubscription implements ConsumerSubscription {
  readonly done: Promise<void>;
  private readonly consumer: KafkaConsumer;
  private readonly lagByPartition = new Map<number, number>();
  private stopping = false;
  private inBatch: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  /** Partitions revoked since their last batch: committing them may be refused, which is harmless. */
  private readonly revoked = new Set<number>();

  constructor(
    kafka: KafkaClient,
    private readonly options: SubscribeOptions,
    private readonly handler: BatchHandler,
    logger: Logger,
  ) {
    // A reader with no group (tail) gets a throw-away group and never commits.
    const groupId = options.groupId ?? `llm-logger-reader-${randomUUID()}`;
    const { KafkaJS } = loadKafkaLibrary();
    this.consumer = kafka.consumer({
      kafkaJS: {
        groupId,
        fromBeginning: options.start === 'earliest',
        autoCommit: false,
        partitionAssigners: [KafkaJS.PartitionAssigners.cooperativeSticky],
      },
      'js.consumer.max.batch.size': options.maxBatch ?? 1000,
      // Read only what producers committed (transactional aggregates).
      'isolation.level': 'read_committed',
      // A topic created after the consumer started is picked up within 10 s, not librdkafka's 5 min.
      'topic.metadata.refresh.interval.ms': 10_000,
      // Observed only (the library still does the incremental assignment): tells a holding handler what it lost.
      rebalance_cb: (err: { code: number }, assignment: { partition: number }[]) => {
        if (err.code !== ERR_REVOKE_PARTITIONS) return;
        const partitions = assignment.map((a) => a.partition);
        for (const p of partitions) this.revoked.add(p);
        options.onRevoked?.(partitions);
      },
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

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.options.topic] });
    await this.consumer.run({
      // Offsets are marked only when the batch handler returned; nothing is committed before.
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        // Once stopping, take nothing new: what is not committed is delivered again later.
        if (batch.messages.length === 0 || this.stopping) return;
        let finished!: () => void;
        this.inBatch = new Promise((r) => (finished = r));
        try {
          await this.handleBatch(batch);
        } finally {
          this.inBatch = null;
          finished();
        }
      },
    });
  }

  private async handleBatch(batch: KafkaBatch): Promise<void> {
    const records: ConsumedRecord[] = batch.messages.map((m) => ({
      topic: batch.topic as TopicName,
      partition: batch.partition,
      offset: Number(m.offset),
      key: m.key ? m.key.toString() : null,
      value: m.value ?? Buffer.alloc(0),
      headers: m.headers ? headersOf(m.headers) : {},
      timestamp: Number(m.timestamp),
    }));
    this.revoked.delete(batch.partition);
    const held = await this.handler(records);
    const last = records[records.length - 1]!;
    if (this.options.groupId) {
      // A handler that holds records back names what is safe to commit; it may be nothing yet.
      const next = held ? held.get(batch.partition) : last.offset + 1;
      if (next !== undefined) {
        try {
          await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(next) }]);
        } catch (err) {
          // Taken away while the batch ran: its next owner starts from the last commit that went through.
          if (!this.revoked.has(batch.partition)) throw err;
        }
      }
    }
    const high = Number(batch.highWatermark);
    if (Number.isFinite(high)) this.lagByPartition.set(batch.partition, Math.max(0, high - (last.offset + 1)));
  }

  async commit(positions: CommitPositions): Promise<void> {
    if (!this.options.groupId || this.stopping || positions.size === 0) return;
    await this.consumer.commitOffsets(
      [...positions].map(([partition, next]) => ({ topic: this.options.topic, partition, offset: String(next) })),
    );
  }

  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    await this.inBatch; // let the batch in hand finish and commit
    // A connect to an unreachable cluster may take librdkafka ~30 s to give up: do not wait for it.
    const stopped = Promise.all([this.consumer.disconnect().catch(() => undefined), this.done]);
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}
