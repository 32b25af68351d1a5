import { Counter, Gauge, type Registry } from 'prom-client';
import { LlmLoggerError } from '../shared/errors';
import { TOPICS } from '../../topology/topics';
import type { AvroSerde } from '../shared/event/serde';
import { dlqRecord, PoisonRecordError, runnerMetrics, type RunnerMetrics } from '../shared/log/consumer-runner';
import type { ConsumedRecord, OutputRecord, StateEntry, TransactionalProcessor } from '../shared/log/event-log';
import type { Logger } from '../shared/observability/logger';
import { aggregateKey, type AggregateRecord } from './core/aggregate-record';
import { META_KEY, type PartitionMeta } from './core/aggregator-core';
import type { AggregationEngine, BatchResult } from './aggregation-engine';
import { AggregatorDedupe } from './ingest-dedupe';
import { dedupeMetrics } from '../shared/dedupe/dedupe-metrics';
import type { SeenIdsLimits } from '../shared/dedupe/seen-ids';

export const AGGREGATOR_GROUP = 'llm-logger-aggregator';

export interface AggregateProcessorDeps {
  /** Decodes and aggregates events, on this thread or a worker. */
  engine: AggregationEngine;
  aggregates: AvroSerde<AggregateRecord>;
  registry: Registry;
  logger: Logger;
  /** How long and how many ingested event ids are remembered per input partition, to drop copies. */
  dedupe: SeenIdsLimits;
  now?: () => number;
}

/**
 * Glue between the log's exactly-once loop and the aggregation engine (the
 * pure core, here or on a worker): undecodable events go to the DLQ inside
 * the same transaction, copies of ingested events are dropped before they are
 * aggregated, and each flush becomes aggregate records, state-store entries
 * (windows and remembered ids) and metrics.
 */
export class AggregateProcessor implements TransactionalProcessor {
  private readonly metrics: RunnerMetrics;
  private readonly late: Counter;
  private readonly folded: Counter;
  private readonly closed: Counter;
  private readonly open: Gauge;
  private readonly freshness: Gauge;
  private dlq: OutputRecord[] = [];
  private readonly labels = { role: 'aggregator', topic: TOPICS.inference };
  private readonly now: () => number;
  private readonly dedupe: AggregatorDedupe;

  constructor(private readonly deps: AggregateProcessorDeps) {
    this.now = deps.now ?? Date.now;
    this.dedupe = new AggregatorDedupe(deps.dedupe, dedupeMetrics(deps.registry));
    const registers = [deps.registry];
    this.metrics = runnerMetrics(deps.registry);
    this.late = new Counter({ name: 'llm_logger_aggregator_late_events_total', help: 'Events that arrived after their window closed (counted in the late field).', registers });
    this.folded = new Counter({ name: 'llm_logger_aggregator_folded_total', help: 'Event-window-dimension updates folded into __other__ by the cardinality limit.', registers });
    this.closed = new Counter({ name: 'llm_logger_aggregator_windows_closed_total', help: 'Windows closed with a final record.', registers });
    this.open = new Gauge({ name: 'llm_logger_aggregator_open_windows', help: 'Window-dimension-group aggregates held in memory.', registers });
    this.freshness = new Gauge({ name: 'llm_logger_aggregator_freshness_ms', help: 'At the last commit: now minus the newest event time it covered.', registers });
  }

  assign(partition: number, state: Map<string, Buffer>): void {
    const records: AggregateRecord[] = [];
    let meta: PartitionMeta | null = null;
    const ids: [string, Buffer][] = [];
    for (const [key, value] of state) {
      if (key === META_KEY) meta = JSON.parse(value.toString('utf8')) as PartitionMeta;
      else if (AggregatorDedupe.isIdsKey(key)) ids.push([key, value]);
      else {
        const r = this.deps.aggregates.decodeKnown(value);
        if (r) records.push(r);
        else this.deps.logger.warn({ partition, key }, 'state entry with an unknown schema id skipped');
      }
    }
    this.deps.engine.restore(partition, records, meta);
    for (const problem of this.dedupe.restore(partition, ids)) this.deps.logger.warn({ partition, problem }, 'remembered ids unreadable: skipped');
  }

  revoke(partitions: number[]): void {
    this.deps.engine.drop(partitions);
    this.dedupe.drop(partitions);
    this.dlq = this.dlq.filter((r) => !partitions.includes(Number(r.headers?.['x-dlq-source-partition'])));
  }

  async process(input: ConsumedRecord[]): Promise<void> {
    const stop = this.metrics.processing.startTimer(this.labels);
    const now = this.now();
    const batch = this.dedupe.filter(input);
    if (batch.length > 0) await this.deps.engine.process(batch, now, (result) => this.account(batch, input.length, result, now));
    else this.metrics.records.inc(this.labels, input.length); // all copies
    stop();
  }

  /** A batch's outcome, before the flush that commits it. */
  private account(batch: ConsumedRecord[], read: number, result: BatchResult, now: number): void {
    for (const { index, message, reason = 'decode_failed' } of result.failures) {
      const record = batch[index]!;
      const err = reason === 'decode_failed' ? new LlmLoggerError('DECODE_FAILED', message) : new PoisonRecordError(reason, message);
      this.metrics.failures.inc({ ...this.labels, reason });
      this.metrics.deadLetters.inc({ ...this.labels, reason });
      this.deps.logger.warn({ partition: record.partition, offset: record.offset, reason, err }, 'event that cannot be aggregated sent to the DLQ');
      this.dlq.push({ topic: TOPICS.dlq, ...dlqRecord(record, err, 'aggregator', AGGREGATOR_GROUP) });
    }
    if (result.late) this.late.inc(result.late);
    if (result.folded) this.folded.inc(result.folded);
    this.metrics.records.inc(this.labels, read);
    if (result.newest) this.metrics.lagMs.set(this.labels, Math.max(0, now - result.newest));
  }

  async flush(): Promise<{ output: OutputRecord[]; state: StateEntry[] }> {
    const now = this.now();
    // Before anything is awaited: on Kafka the next batches are filtered while this transaction is built,
    // and their ids must go with the transaction that commits their offsets, not this one.
    const ids = this.dedupe.takeState();
    const f = await this.deps.engine.flush(now);
    const output: OutputRecord[] = this.dlq;
    this.dlq = [];
    const encoded = new Map<AggregateRecord, Buffer>();
    const enc = (r: AggregateRecord): Buffer => {
      let b = encoded.get(r);
      if (!b) encoded.set(r, (b = this.deps.aggregates.encode(r)));
      return b;
    };
    let newest = 0;
    for (const r of f.records) {
      output.push({ topic: TOPICS.aggregates, key: aggregateKey(r), value: enc(r), timestamp: r.window_start });
      if (r.last_event_at > newest) newest = r.last_event_at;
    }
    const state: StateEntry[] = f.state.map((e) => ({ partition: e.partition, key: e.key, value: e.record ? enc(e.record) : null }));
    for (const [partition, meta] of f.meta) state.push({ partition, key: META_KEY, value: Buffer.from(JSON.stringify(meta)) });
    state.push(...ids);
    if (f.closedWindows) this.closed.inc(f.closedWindows);
    if (newest) this.freshness.set(Math.max(0, now - newest));
    this.open.set(f.openWindows);
    return { output, state };
  }
}
