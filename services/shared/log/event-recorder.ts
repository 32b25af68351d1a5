import { TOPICS } from '../../../topology/topics';
import type { InferenceEvent } from '../event/inference-event';
import type { AvroSerde } from '../event/serde';
import { BatchHandoff, type HandoffOptions } from './batch-handoff';
import type { EventLog, ProducerRecord } from './event-log';

/**
 * Inference events on their way to `llm.inference.v1`: queued without
 * waiting, encoded and appended in batches off the request path.
 */
export class EventRecorder {
  readonly handoff: BatchHandoff<InferenceEvent>;

  constructor(
    log: EventLog,
    private readonly serde: AvroSerde<InferenceEvent>,
    options: HandoffOptions,
    onEncodeError: (err: unknown, eventId: string) => void = () => undefined,
    private readonly logAccepts: () => boolean = () => true,
  ) {
    this.handoff = new BatchHandoff<InferenceEvent>(
      {
        write: (events) => {
          const records: ProducerRecord[] = [];
          for (const e of events) {
            try {
              records.push({ key: e.event_id, value: this.serde.encode(e), timestamp: e.ended_at });
            } catch (err) {
              // One event that cannot be encoded must not hold back the others.
              options.onDrop?.(1);
              onEncodeError(err, e.event_id);
            }
          }
          return log.append(TOPICS.inference, records);
        },
      },
      options,
    );
  }

  record(event: InferenceEvent): boolean {
    return this.handoff.offer(event);
  }

  recordDurable(event: InferenceEvent): Promise<void> {
    return this.handoff.offerDurable(event);
  }

  canRecord(): boolean {
    return !this.handoff.degraded && !this.handoff.full && this.logAccepts();
  }

  shutdown(graceMs: number): Promise<void> {
    return this.handoff.shutdown(graceMs);
  }
}
