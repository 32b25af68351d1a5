/**
 * Records on `llm.inference.live.v1`: a call's start and the growth of its
 * answer while it is in flight. JSON on the wire (short-lived, for live views
 * only; the inference event stays the system of record). The final state of a
 * call is its inference event, not a live record.
 */

export interface LiveStarted {
  type: 'started';
  event_id: string;
  /** Epoch ms the call started. */
  started_at: number;
  upstream: string;
  provider: string;
  endpoint: string;
  model: string | null;
  streamed: boolean;
  user: string | null;
  app: string | null;
  /** Prompt text (cut to a few KB); null when the call's bodies are not captured. */
  prompt: string | null;
  /**
   * True under redaction policy `all`: no text of the call (prompt, answer,
   * user, app) is published live, since it has not been redacted yet; the
   * call's event brings the redacted values when it ends.
   */
  text_withheld?: boolean;
}

export interface LiveProgress {
  type: 'progress';
  event_id: string;
  /** Epoch ms of this update. */
  at: number;
  /** Answer text appended since the previous progress record; empty when bodies are not captured. */
  text: string;
  /** Answer characters so far (all of them, captured or not). */
  chars: number;
  /** First token arrived this many ms after the start (null until it has). */
  ttft_ms: number | null;
}

export type LiveRecord = LiveStarted | LiveProgress;
