import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { readerGroupPrefix, TOPICS, type Role, type TopicName } from '../../../topology/topics';
import { LlmLoggerError } from '../errors';
import type { Logger } from '../observability/logger';
import type { CommitPositions, ConsumedRecord, ConsumerSubscription, EventLog, ProducerRecord, Rewind } from './event-log';

/**
 * The one loop every consuming role runs inside: decode, handle, measure,
 * and route poison records to the DLQ so a consumer never stops for one bad
 * record. Every failure is classified once (classifyFailure):
 *
 * - transient (the backend is down or pushes back: a retriable LlmLoggerError
 *   such as LOG_UNAVAILABLE or INDEX_UNAVAILABLE, a network or busy-database
 *   error code): the batch is left uncommitted and delivered again, after a
 *   backoff, for as long as it takes; nothing goes to the DLQ;
 * - poison (a PoisonRecordError, or any LlmLoggerError that says retrying
 *   cannot help): the record goes to the DLQ at once;
 * - unknown (any other error, e.g. a TypeError or RangeError from a handler):
 *   tried again with backoff, at most `retry.maxAttempts` times in all, then
 *   the batch is handled record by record and a record that still fails goes
 *   to the DLQ with its reason and the number of tries in its headers. So a
 *   record that always throws costs a few seconds, never the partition.
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

export interface RetryPolicy {
  /** Tries of a record (or batch) failing for an unknown reason before it goes to the DLQ. */
  maxAttempts: number;
  /** First pause between two tries; doubled each time up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
}

/** About 3 s of tries in all for a record failing for an unknown reason (200 + 400 + 800 + 1,600 ms). */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, backoffMs: 200, maxBackoffMs: 5_000 };

export type FailureClass = 'transient' | 'poison' | 'unknown';

/** Error codes of failures that are the backend's or the network's, never the record's: retried without a bound. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOSPC',
  'EMFILE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
]);

/** What a failure says about the record: see the top of this file. */
export function classifyFailure(err: unknown): FailureClass {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof LlmLoggerError) return e.retriable ? 'transient' : 'poison';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return 'transient';
  }
  return 'unknown';
}

export interface ConsumerOptions<T> {
  log: EventLog;
  role: Role;
  topic: TopicName;
  groupId: string | null;
  start: 'earliest' | 'latest';
  /** See SubscribeOptions.rewind. */
  rewind?: Rewind;
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
  /** How failures of an unknown reason are retried before the DLQ (default DEFAULT_RETRY). */
  retry?: RetryPolicy;
  /** See SubscribeOptions.onCommitted. */
  onCommitted?: (positions: CommitPositions) => void;
}

export interface RunnerMetrics {
  records: Counter<'role' | 'topic'>;
  failures: Counter<'role' | 'topic' | 'reason'>;
  /** Tries made again after a failure, by its class (transient: the batch delivered again; unknown: retried in place). */
  retries: Counter<'role' | 'topic' | 'class'>;
  /** Records sent to the DLQ, by reason. */
  deadLetters: Counter<'role' | 'topic' | 'reason'>;
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
      retries: new Counter({
        name: 'llm_logger_consumer_retries_total',
        help: 'Tries made again after a failure: class transient (backend down; the batch is delivered again, without a bound) or unknown (retried a few times, then the record goes to the DLQ).',
        labelNames: ['role', 'topic', 'class'] as const,
        registers: [registry],
      }),
      deadLetters: new Counter({
        name: 'llm_logger_consumer_dead_letters_total',
        help: 'Records sent to the DLQ (llm.inference.dlq.v1), by reason.',
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

/** The DLQ copy of a record that cannot be processed, with why (and after how many tries) in its headers. */
export function dlqRecord(record: ConsumedRecord, err: unknown, role: Role, groupId: string | null, attempts = 1): ProducerRecord {
  return {
    key: record.key,
    value: record.value,
    headers: {
      'x-dlq-reason': reasonOf(err),
      'x-dlq-error': err instanceof Error ? err.message.slice(0, 1000) : String(err).slice(0, 1000),
      'x-dlq-attempts': String(attempts),
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

function backoff(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
}

/** What came of trying something under the retry policy: its value, or why it is dead and after how many tries. */
type Tried<V> = { ok: true; value: V } | { ok: false; err: unknown; attempts: number };

export function runConsumer<T>(options: ConsumerOptions<T>): ConsumerSubscription {
  const m = runnerMetrics(options.registry);
  const labels = { role: options.role, topic: options.topic };
  const log = options.logger.child({ consumer: options.groupId ?? 'ephemeral', topic: options.topic });
  const policy = options.retry ?? DEFAULT_RETRY;

  const toDlq = async (record: ConsumedRecord, err: unknown, attempts: number): Promise<void> => {
    const reason = reasonOf(err);
    m.failures.inc({ ...labels, reason });
    m.deadLetters.inc({ ...labels, reason });
    log.warn({ partition: record.partition, offset: record.offset, reason, attempts, err }, 'poison record sent to the DLQ');
    await options.log.append(TOPICS.dlq, [dlqRecord(record, err, options.role, options.groupId, attempts)]);
  };

  /**
   * Runs `fn` under the retry policy. A transient failure is thrown (the
   * batch is delivered again: never a reason for the DLQ); a poison one ends
   * the tries at once; an unknown one is tried again, up to maxAttempts.
   */
  const attempt = async <V>(fn: () => Promise<V>): Promise<Tried<V>> => {
    for (let n = 1; ; n++) {
      try {
        return { ok: true, value: await fn() };
      } catch (err) {
        const cls = classifyFailure(err);
        if (cls === 'transient') throw err;
        if (cls === 'poison' || n >= policy.maxAttempts) return { ok: false, err, attempts: n };
        m.retries.inc({ ...labels, class: 'unknown' });
        log.warn({ err, attempt: n, of: policy.maxAttempts }, 'failed for an unknown reason; trying again');
        await sleep(backoff(policy, n));
      }
    }
  };

  let subscription: ConsumerSubscription | null = null;
  const handleBatch = async (records: ConsumedRecord[]): Promise<void | CommitPositions> => {
    const stop = m.processing.startTimer(labels);
    try {
      return await processBatch(records);
    } catch (err) {
      // Transient: the backend, not the records. Left uncommitted: the log delivers the batch again
      // after a pause that grows while it keeps failing (both adapters back off), for as long as it takes.
      m.failures.inc({ ...labels, reason: reasonOf(err) });
      m.retries.inc({ ...labels, class: 'transient' });
      log.error({ err }, 'batch failed for a transient reason; it will be delivered again');
      throw err;
    } finally {
      stop();
    }
  };
  const processBatch = async (records: ConsumedRecord[]): Promise<void | CommitPositions> => {
    const decoded: Decoded<T>[] = [];
    for (const record of records) {
      const tried = await attempt(() => options.decode(record));
      if (tried.ok) decoded.push({ record, value: tried.value });
      else await toDlq(record, tried.err, tried.attempts);
    }
    let held: void | CommitPositions = undefined;
    if (decoded.length > 0 || options.holdsRecords) {
      const whole = await attempt(() => options.handle(decoded));
      if (whole.ok) held = whole.value;
      else {
        // One record (or more) is poison, or keeps failing: record by record, so only those go to the DLQ.
        log.warn({ err: whole.err, records: decoded.length }, 'batch failed; handling its records one by one');
        for (const d of decoded) {
          const one = await attempt(() => options.handle([d]));
          if (one.ok) held = one.value ?? held;
          else await toDlq(d.record, one.err, one.attempts);
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
      rewind: options.rewind,
      maxBatch: options.maxBatch,
      onRevoked: options.onRevoked,
      onCommitted: options.onCommitted,
    },
    handleBatch,
  );
  return subscription;
}
