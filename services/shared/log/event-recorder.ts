import { TOPICS } from '../../../topology/topics';
import { LlmLoggerError } from '../errors';
import type { InferenceEvent } from '../event/inference-event';
import { fitEvent, type Fitted } from '../event/record-fit';
import type { AvroSerde } from '../event/serde';
import { ingestedHeaders } from '../event/ingest-origin';
import { BatchHandoff, type HandoffOptions } from './batch-handoff';
import { SlabPool } from './slab-pool';
import type { EventLog, ProducerRecord } from './event-log';

/** What records inference events (the recorder itself, or a stage in front of it such as redaction). */
export interface EventRecording {
  /** Queues an event without waiting; false (counted as dropped) when it cannot be. */
  record(event: InferenceEvent): boolean;
  /** Resolves once the event is durable in the log. */
  recordDurable(event: InferenceEvent): Promise<void>;
  /** An event from the ingest API accepted at `acceptedAt` (epoch ms); resolves once durable. */
  recordIngested(event: InferenceEvent, acceptedAt: number): Promise<void>;
  canRecord(): boolean;
  /** Events waiting to be written. */
  readonly depth: number;
  shutdown(graceMs: number): Promise<void>;
}

export interface RecordLimits {
  /** Largest encoded event the log takes (null: no limit); a larger one is shrunk to fit (see record-fit.ts). */
  maxRecordBytes: number | null;
  /** An event had to be shrunk to fit (or, `null`, could not be and was dropped). */
  onShrunk?: (fitted: Fitted | null, eventId: string) => void;
}

/**
 * Inference events on their way to `llm.inference.v1`: encoded at once (a
 * compact buffer waits in the queue, not the event's object graph), queued
 * without waiting, appended in batches off the request path.
 */
export class EventRecorder implements EventRecording {
  readonly handoff: BatchHandoff<ProducerRecord>;
  /** Encoded events live in reused slabs until written (see SlabPool). */
  private readonly slabs = new SlabPool();
  private readonly take = (size: number): Buffer => this.slabs.take(size);

  constructor(
    log: EventLog,
    private readonly serde: AvroSerde<InferenceEvent>,
    private readonly options: HandoffOptions<ProducerRecord>,
    private readonly onEncodeError: (err: unknown, eventId: string) => void = () => undefined,
    private readonly logAccepts: () => boolean = () => true,
    private readonly limits: RecordLimits = { maxRecordBytes: null },
  ) {
    this.handoff = new BatchHandoff<ProducerRecord>(
      {
        write: async (records) => {
          await log.append(TOPICS.inference, records);
          this.release(records);
        },
      },
      { ...options, onDropped: (records) => this.release(records) },
    );
  }

  private release(records: readonly ProducerRecord[]): void {
    for (const r of records) this.slabs.release(r.value);
  }

  /** The record for an event (`ingestedAt`: from the ingest API), or null (counted as dropped) when it cannot be encoded or made to fit. */
  private encode(event: InferenceEvent, ingestedAt?: number): ProducerRecord | null {
    try {
      let value = this.serde.encode(event, this.take);
      const max = this.limits.maxRecordBytes;
      if (max !== null && value.length > max) {
        this.slabs.release(value);
        const fit = fitEvent(event, (e) => this.serde.encode(e).length, max);
        this.limits.onShrunk?.(fit?.fitted ?? null, event.event_id);
        if (fit === null) {
          this.options.onDrop?.(1);
          return null;
        }
        value = this.serde.encode(fit.event, this.take);
      }
      return eventRecord(event, value, ingestedAt);
    } catch (err) {
      this.options.onDrop?.(1);
      this.onEncodeError(err, event.event_id);
      return null;
    }
  }

  record(event: InferenceEvent): boolean {
    const record = this.encode(event);
    return record !== null && this.handoff.offer(record);
  }

  recordDurable(event: InferenceEvent): Promise<void> {
    const record = this.encode(event);
    if (!record) return Promise.reject(new LlmLoggerError('EVENT_INVALID', `event ${event.event_id} cannot be encoded within the log's record limit`));
    return this.handoff.offerDurable(record);
  }

  /**
   * An event from the ingest API, accepted at `acceptedAt` (epoch ms): marked
   * as ingested and placed by its id, so the consumers drop a copy posted
   * again (see ingest-origin.ts). Resolves once durable.
   */
  recordIngested(event: InferenceEvent, acceptedAt: number): Promise<void> {
    const record = this.encode(event, acceptedAt);
    if (!record) return Promise.reject(new LlmLoggerError('EVENT_INVALID', `event ${event.event_id} cannot be encoded within the log's record limit`));
    return this.handoff.offerDurable(record);
  }

  /** Queues a record encoded elsewhere (e.g. on the redaction thread, already within the limit; see eventRecord). */
  recordEncoded(record: ProducerRecord): boolean {
    return this.handoff.offer(record);
  }

  recordEncodedDurable(record: ProducerRecord): Promise<void> {
    return this.handoff.offerDurable(record);
  }

  get depth(): number {
    return this.handoff.depth;
  }

  canRecord(): boolean {
    return !this.handoff.degraded && !this.handoff.full && this.logAccepts();
  }

  shutdown(graceMs: number): Promise<void> {
    return this.handoff.shutdown(graceMs);
  }
}

/** The log record of an encoded event; `ingestedAt` marks one from the ingest API (placed by its id: see ingest-origin.ts). */
export function eventRecord(event: InferenceEvent, value: Buffer, ingestedAt?: number): ProducerRecord {
  if (ingestedAt === undefined) return { key: event.event_id, value, timestamp: event.ended_at };
  return { key: event.event_id, value, timestamp: event.ended_at, headers: ingestedHeaders(ingestedAt), partitionByKey: true };
}
