import { TOPICS } from '../../../topology/topics';
import { LlmLoggerError } from '../errors';
import type { InferenceEvent } from '../event/inference-event';
import type { AvroSerde } from '../event/serde';
import { ingestedHeaders } from '../event/ingest-origin';
import { BatchHandoff, type HandoffOptions } from './batch-handoff';
import { SlabPool } from './slab-pool';
import type { EventLog, ProducerRecord } from './event-log';

/**
 * Inference events on their way to `llm.inference.v1`: encoded at once (a
 * compact buffer waits in the queue, not the event's object graph), queued
 * without waiting, appended in batches off the request path.
 */
export class EventRecorder {
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

  /** The record for an event, or null (counted as dropped) when it cannot be encoded. */
  private encode(event: InferenceEvent, ingestedAt?: number): ProducerRecord | null {
    try {
      const value = this.serde.encode(event, this.take);
      if (ingestedAt === undefined) return { key: event.event_id, value, timestamp: event.ended_at };
      return { key: event.event_id, value, timestamp: event.ended_at, headers: ingestedHeaders(ingestedAt), partitionByKey: true };
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
    if (!record) return Promise.reject(new LlmLoggerError('EVENT_INVALID', `event ${event.event_id} cannot be encoded`));
    return this.handoff.offerDurable(record);
  }

  /**
   * An event from the ingest API, accepted at `acceptedAt` (epoch ms): marked
   * as ingested and placed by its id, so the consumers drop a copy posted
   * again (see ingest-origin.ts). Resolves once durable.
   */
  recordIngested(event: InferenceEvent, acceptedAt: number): Promise<void> {
    const record = this.encode(event, acceptedAt);
    if (!record) return Promise.reject(new LlmLoggerError('EVENT_INVALID', `event ${event.event_id} cannot be encoded`));
    return this.handoff.offerDurable(record);
  }

  canRecord(): boolean {
    return !this.handoff.degraded && !this.handoff.full && this.logAccepts();
  }

  shutdown(graceMs: number): Promise<void> {
    return this.handoff.shutdown(graceMs);
  }
}
