import { eventTimeProblem } from '../event/event-times';
import type { InferenceEvent } from '../event/inference-event';
import { PoisonRecordError } from './consumer-runner';

/** The event, if its times are dates; else a poison record (invalid_event) for the DLQ. */
export function checkedTimes(e: InferenceEvent): InferenceEvent {
  const problem = eventTimeProblem({ started_at: e.started_at, first_token_at: e.first_token_at, ended_at: e.ended_at });
  if (problem) throw new PoisonRecordError('invalid_event', `event ${e.event_id}: ${problem}`);
  return e;
}
