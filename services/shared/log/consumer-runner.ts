import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { readerGroupPrefix, TOPICS, type Role, type TopicName } from '../../../topology/topics';
import { LlmLoggerError } from '../errors';
import type { Logger } from '../observability/logger';
import type { CommitPositions, ConsumedRecord, ConsumerSubscription, EventLog, ProducerRecord } from './event-log';

/**
 * The one loop every consuming role runs inside: decode, handle, measure,
 * and route poison records to the DLQ so a consumer never stops for one bad
 * record. Retriable failures leave the batch uncommitted for redelivery.
 */

export const FAILURE_REASONS = ['decode_failed', 'invalid_event', 'rejected_by_backend', 'handler_error'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Thrown by handlers for a record that can never succeed. */
export class PoisonRecordError extends LlmLoggerError {
  constructor(
    readonly reason: FailureReason,
    message: string,
    cause?: unknown,
  ) {
    super('EVENT_INVALID', message, { cause, retriable: false });
  }
}

export interface Decoded<T> {
  record: ConsumedRecord;
  value: T;
}

export interface ConsumerOptions<T> {
  log: EventLog;
  role: Role;
  topic: TopicName;
  groupId: string | null;
  start: 'earliest' | 'latest';
  maxBatch?: number;
  registry: Registry;
  logger: Logger;
  decode(record: ConsumedRecord): Promise<T>;
  /** Event time of a decoded value (epoch ms), for the lag metric. */
  eventTime(value: T): number;
  /** May resolve with the positions safe to commit when it keeps records for later (see BatchHandler). */
  handle(batch: Decoded<T>[]): Promise<void | CommitPositions>;
  /**
   * The handler keeps records for later: it is called even when a batch has
   * nothing to handle (all poison), so the batch is never committed past what it holds.
   */
  holdsRecords?: boolean;
  /** See SubscribeOptions.onRevoked. */
  onRevoked?: (partitions: number[]) => void;
  /** See SubscribeOptions.onCommitted. */
  onCommitted?: (positions: CommitPositions) => void;
}

export interface RunnerMetrics {
  records: Counter<'role' | 'topic'>;
  failures: Counter<'role' | 'topic' | 'reason'>;
  processing: Histogram<'role' | 'topic'>;
  lagMs: Gauge<'role' | 'topic'>;
  lagRecords: Gauge<'role' | 'topic'>;
}

const metricsByRegistry = new WeakMap<Registry, RunnerMetrics>();

export function runnerMetrics(registry: Registry): RunnerMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    const labelNames = ['role', 'topic'] as const;
    m = {
      records: new Counter({ name: 'llm_logger_consumer_records_total', help: 'Records processed.', labelNames, registers: [registry] }),
      failures: new Counter({
        name: 'llm_logger_consumer_failures_total',
        help: 'Records that failed, by reason (poison records go to the DLQ).',
        labelNames: ['role', 'topic', 'reason'] as const,
        registers: [registry],
      }),
      processing: new Histogram({
        name: 'llm_logger_consumer_batch_seconds',
        help: 'Time to handle one batch.',
        labelNames,
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers: [registry],
      }),
      lagMs: new Gauge({
        name: 'llm_logger_consumer_lag_ms',
        help: 'Now minus the event time of the last record handled.',
        labelNames,
        registers: [registry],
      }),
      lagRecords: new Gauge({
        name: 'llm_logger_consumer_lag_records',
        help: 'Records in the topic not yet read by this consumer.',
        labelNames,
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/** The DLQ copy of a record that cannot be processed, with why in its headers. */
export function dlqRecord(record: ConsumedRecord, err: unknown, role: Role, groupId: string | null): ProducerRecord {
  return {
    key: record.key,
    value: record.value,
    headers: {
      'x-dlq-reason': reasonOf(err),
      'x-dlq-error': err instanceof Error ? err.message.slice(0, 1000) : String(err),
      'x-dlq-source-topic': record.topic,
      'x-dlq-source-partition': String(record.partition),
      'x-dlq-source-offset': String(record.offset),
      'x-dlq-consumer-group': groupId ?? '',
      'x-dlq-role': role,
    },
  };
}

export function reasonOf(err: unknown): FailureReason {
  if (err instanceof PoisonRecordError) return err.reason;
  if (err instanceof LlmLoggerError && err.code === 'DECODE_FAILED') return 'decode_failed';
  return 'handler_error';
}

function isRetriable(err: unknown): boolean {
  return err instanceof LlmLoggerError ? err.retriable : true;
}

export function runConsumer<T>(options: ConsumerOptions<T>): ConsumerSubscription {
  const m = runnerMetrics(options.registry);
  const labels = { role: options.role, topic: options.topic };
  const log = options.logger.child({ consumer: options.groupId ?? 'ephemeral', topic: options.topic });

  const toDlq = async (record: ConsumedRecord, err: unknown): Promise<void> => {
    const reason = reasonOf(err);
    m.failures.inc({ ...labels, reason });
    log.warn({ partition: record.partition, offset: record.offset, reason, err }, 'poison record sent to the DLQ');
    await options.log.append(TOPICS.dlq, [dlqRecord(record, err, options.role, options.groupId)]);
  };

  let subscription: ConsumerSubscription | null = null;
  const handleBatch = async (records: ConsumedRecord[]): Promise<void | CommitPositions> => {
    const stop = m.processing.startTimer(labels);
    try {
      return await processBatch(records);
    } finally {
      stop();
    }
  };
  const processBatch = async (records: ConsumedRecord[]): Promise<void | CommitPositions> => {
    const decoded: Decoded<T>[] = [];
    for (const record of records) {
      try {
        decoded.push({ record, value: await options.decode(record) });
      } catch (err) {
        if (isRetriable(err) && !(err instanceof LlmLoggerError && err.code === 'DECODE_FAILED')) throw err;
        await toDlq(record, err);
      }
    }
    let held: void | CommitPositions = undefined;
    try {
      if (decoded.length > 0 || options.holdsRecords) held = await options.handle(decoded);
    } catch (err) {
      if (isRetriable(err)) {
        m.failures.inc({ ...labels, reason: reasonOf(err) });
        log.error({ err }, 'batch failed; it will be delivered again');
        throw err;
      }
      // One record is poison: handle one by one so only it goes to the DLQ.
      for (const d of decoded) {
        try {
          held = (await options.handle([d])) ?? held;
        } catch (single) {
          if (isRetriable(single)) throw single;
          await toDlq(d.record, single);
        }
      }
    }
    m.records.inc(labels, records.length);
    const last = decoded[decoded.length - 1];
    if (last) m.lagMs.set(labels, Math.max(0, Date.now() - options.eventTime(last.value)));
    if (subscription) m.lagRecords.set(labels, subscription.lag());
    return held;
  };

  subscription = options.log.subscribe(
    {
      topic: options.topic,
      groupId: options.groupId,
      readerGroupPrefix: readerGroupPrefix(options.role),
      start: options.start,
      maxBatch: options.maxBatch,
      onRevoked: options.onRevoked,
      onCommitted: options.onCommitted,
    },
    handleBatch,
  );
  return subscription;
}
