import type { InferenceEvent } from './inference-event';
import { markTruncated } from './truncated-fields';

/** What the last step keeps of an error message: enough to tell what went wrong. */
const ERROR_MESSAGE_KEPT_CHARS = 1_000;

/**
 * An event must fit in one record of the log: Kafka refuses a record over
 * its `message.max.bytes` (1,000,000 bytes by default in the client, about
 * 1 MiB in the broker), and the gateway captures bodies up to
 * LLM_LOGGER_CAPTURE_MAX_BYTES each. An event that would not fit is refused
 * at the source, never handed to the log (where it would fail for good, at
 * the head of the disk spool, before every later event): it is recorded
 * without its bodies, flagged truncated; failing that without any text;
 * failing that not at all. What is left out is named in `truncated_fields`,
 * beside what the gateway's field bounds cut (see truncated-fields.ts).
 */

export type Fitted = 'whole' | 'without_bodies' | 'without_text';

export interface FitResult {
  event: InferenceEvent;
  fitted: Fitted;
}

/**
 * The largest form of `event` whose encoding (`encodedSize`) is at most
 * `maxBytes`, or null when even its numbers do not fit. `encodedSize` is
 * called at most three times.
 */
export function fitEvent(event: InferenceEvent, encodedSize: (e: InferenceEvent) => number, maxBytes: number): FitResult | null {
  if (encodedSize(event) <= maxBytes) return { event, fitted: 'whole' };
  const bodies: string[] = (['request_body', 'response_body'] as const).filter((f) => event[f] !== null);
  const withoutBodies = markTruncated({ ...event, request_body: null, response_body: null, body_truncated: true }, bodies);
  if (encodedSize(withoutBodies) <= maxBytes) return { event: withoutBodies, fitted: 'without_bodies' };
  const errorMessage = event.error_message?.slice(0, ERROR_MESSAGE_KEPT_CHARS) ?? null;
  const texts: string[] = (['response_text', 'tool_calls'] as const).filter((f) => event[f] !== null);
  if (errorMessage !== event.error_message) texts.push('error_message');
  const withoutText = markTruncated({ ...withoutBodies, response_text: null, tool_calls: null, error_message: errorMessage }, texts);
  if (encodedSize(withoutText) <= maxBytes) return { event: withoutText, fitted: 'without_text' };
  return null;
}

/**
 * Room kept under the log's record limit for what a consumer adds when it
 * copies a record to the dead-letter topic (its headers: reason, error
 * message, source position), so that copy fits too.
 */
export const DLQ_HEADROOM_BYTES = 16 * 1024;
