import { LlmLoggerError } from '../../errors';

/**
 * @confluentinc/kafka-javascript is an optional dependency: it builds
 * librdkafka from source and only installs with CKJS_LINKING=dynamic, so a
 * plain `npm ci` (embedded mode) must work without it. It is loaded here, on
 * first use, and typed by the few interfaces below rather than by its own
 * declarations, so the project compiles whether it is installed or not.
 */

export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers?: Record<string, unknown>;
}

export interface KafkaBatch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
}

export interface KafkaConsumer {
  connect(): Promise<void>;
  subscribe(options: { topics: string[] }): Promise<void>;
  run(options: {
    eachBatchAutoResolve?: boolean;
    eachBatch?: (payload: { batch: KafkaBatch }) => Promise<void>;
    eachMessage?: (payload: { topic: string; partition: number; message: KafkaMessage }) => Promise<void>;
  }): Promise<void>;
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  /** Where to read a partition from next (kept until the partition is assigned). */
  seek(position: { topic: string; partition: number; offset: string }): void;
  disconnect(): Promise<void>;
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(options: {
    topics: { topic: string; numPartitions: number; replicationFactor: number; configEntries?: { name: string; value: string }[] }[];
  }): Promise<boolean>;
  deleteTopics(options: { topics: string[] }): Promise<void>;
  fetchTopicMetadata(options: { topics: string[] }): Promise<{ name: string; partitions: { partitionId: number; leader: number }[] }[]>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string; high: string; low: string }[]>;
  /** Per partition, the first offset whose record time is at or after `timestamp` (the end if none is). */
  fetchTopicOffsetsByTimestamp(topic: string, timestamp: number): Promise<{ partition: number; offset: string }[]>;
}

/** A transactional producer (KafkaJS-style API). */
export interface KafkaTxnProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  transaction(): Promise<KafkaTxnProducer>;
  send(options: {
    topic: string;
    messages: { key: string | null; value: Buffer | null; partition?: number; headers?: Record<string, string>; timestamp?: string }[];
  }): Promise<unknown>;
  sendOffsets(options: { consumer: KafkaConsumer; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

/** The low-level (librdkafka-style) consumer: manual assignment, for reading one partition to its end. */
export interface LowLevelConsumer {
  connect(options: { timeout: number }, callback: (err: Error | null) => void): void;
  /** An `offset` (or OFFSET_BEGINNING -2, OFFSET_END -1) overrides the committed offset. */
  assign(assignments: { topic: string; partition: number; offset?: number }[]): void;
  consume(count: number, callback: (err: Error | null, messages: KafkaMessageLowLevel[]) => void): void;
  setDefaultConsumeTimeout(ms: number): void;
  setDefaultIsTimeoutOnlyForFirstMessage(on: boolean): void;
  subscribe(topics: string[]): void;
  unsubscribe(): void;
  getMetadata(options: { topic: string; timeout: number }, callback: (err: Error | null, data: { topics: { name: string; partitions: { id: number }[] }[] }) => void): void;
  /** Per partition, the first offset whose record time is at or after `offset` (a timestamp); -1 when none is. */
  offsetsForTimes(
    toppars: { topic: string; partition: number; offset: number }[],
    timeoutMs: number,
    callback: (err: Error | null, offsets: { topic: string; partition: number; offset: number }[]) => void,
  ): void;
  incrementalAssign(assignments: { topic: string; partition: number; offset?: number }[]): void;
  incrementalUnassign(assignments: { topic: string; partition: number }[]): void;
  unassign(): void;
  seek(toppar: { topic: string; partition: number; offset: number }, timeoutMs: number, callback: (err: Error | null) => void): void;
  commitCb(offsets: { topic: string; partition: number; offset: number }[], callback: (err: Error | null) => void): void;
  getWatermarkOffsets(topic: string, partition: number): { highOffset: number; lowOffset: number };
  position(toppars: { topic: string; partition: number }[]): { partition: number; offset: number }[];
  queryWatermarkOffsets(topic: string, partition: number, timeoutMs: number, callback: (err: Error | null, offsets: { highOffset: number; lowOffset: number }) => void): void;
  disconnect(callback: () => void): void;
}

export interface KafkaMessageLowLevel {
  key: Buffer | string | null | undefined;
  value: Buffer | null;
  offset: number;
  partition: number;
  timestamp: number;
  headers?: Record<string, Buffer | string>[];
}

export interface KafkaClient {
  consumer(config: Record<string, unknown>): KafkaConsumer;
  producer(config: Record<string, unknown>): KafkaTxnProducer;
  admin(): KafkaAdmin;
}

export interface DeliveryReport {
  opaque: unknown;
}

export interface LowLevelProducer {
  on(event: 'delivery-report', listener: (err: { message: string } | null, report: DeliveryReport) => void): void;
  on(event: 'event.error', listener: (err: unknown) => void): void;
  connect(options: { timeout: number }, callback: (err: Error | null) => void): void;
  setPollInBackground(on: boolean): void;
  produce(
    topic: string,
    partition: number | null,
    value: Buffer | null,
    key: string | undefined,
    timestamp: number,
    opaque: unknown,
    headers?: Record<string, string>[],
  ): void;
  flush(timeoutMs: number, callback: () => void): void;
  getMetadata(options: { topic: string; timeout: number }, callback: (err: Error | null, data: { topics: { name: string; partitions: unknown[] }[] }) => void): void;
  initTransactions(timeoutMs: number, callback: (err: Error | null) => void): void;
  beginTransaction(callback: (err: Error | null) => void): void;
  sendOffsetsToTransaction(
    offsets: { topic: string; partition: number; offset: number }[],
    consumer: LowLevelConsumer,
    timeoutMs: number,
    callback: (err: Error | null) => void,
  ): void;
  commitTransaction(timeoutMs: number, callback: (err: Error | null) => void): void;
  abortTransaction(timeoutMs: number, callback: (err: Error | null) => void): void;
  disconnect(timeoutMs: number, callback: () => void): void;
}

interface KafkaJsNamespace {
  Kafka: new (config: Record<string, unknown>) => KafkaClient;
  logLevel: { NOTHING: number; ERROR: number; WARN: number; INFO: number; DEBUG: number };
  PartitionAssigners: { cooperativeSticky: unknown; roundRobin: unknown; range: unknown };
}

export interface KafkaLibrary {
  KafkaJS: KafkaJsNamespace;
  Producer: new (config: Record<string, unknown>) => LowLevelProducer;
  KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => LowLevelConsumer;
  features: string[];
  librdkafkaVersion: string;
}

let library: KafkaLibrary | null = null;

export function loadKafkaLibrary(): KafkaLibrary {
  if (library) return library;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional dependency, loaded on first use
    library = require('@confluentinc/kafka-javascript') as KafkaLibrary;
  } catch (cause) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      'LLM_LOGGER_KAFKA_BROKERS is set, but the Kafka client (@confluentinc/kafka-javascript) is not installed: ' +
        'install libzstd-dev libsasl2-dev libssl-dev, then run `CKJS_LINKING=dynamic npm ci` (see README, "Running on Kafka")',
      { cause },
    );
  }
  return library;
}

/** A KafkaJS-style client (tests, benchmarks and the adapter's consumers). */
export function createKafkaClient(brokers: string[], extra: Record<string, unknown> = {}): KafkaClient {
  const { KafkaJS } = loadKafkaLibrary();
  return new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING }, ...extra });
}
