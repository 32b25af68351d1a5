import { IntrusiveList, ListNode } from '../../shared/collections/intrusive-list';
import type { LiveRecord, LiveStarted } from '../../shared/event/live-record';

/**
 * Decides which live records to publish, once per tick. A call is announced
 * only once it has been in flight for `minAgeMs` (a tick), so short calls
 * cost nothing here (their inference event shows them). Chunks only flip a flag;
 * the answer text is read and diffed at the tick, off the request's path.
 */

export interface LiveSource {
  /** The answer text so far. */
  text(): string;
  /** Ms from start to the first byte, or null before it. */
  ttftMs(): number | null;
  /** Whether the call's bodies are captured: otherwise no text leaves the gateway. */
  capture: boolean;
}

/**
 * The live view's window on one call, updated by the proxy as the answer
 * arrives. A plain object rather than closures over the call: closures would
 * keep the whole call (request body, captured chunks) reachable from the
 * coalescer's map, and at saturation that cost ~45 MB of RSS in promoted garbage.
 */
export class CallProgress implements LiveSource {
  /** The streamed answer's parse once it has started; null for other answers (their text is not shown live). */
  answer: { partialText(): string } | null = null;
  firstByteMs: number | null = null;

  constructor(readonly capture: boolean) {}

  text(): string {
    return this.answer ? this.answer.partialText() : '';
  }

  ttftMs(): number | null {
    return this.firstByteMs;
  }
}

export interface LiveEntry {
  readonly started: LiveStarted;
  readonly source: LiveSource;
  /** Set by the proxy when bytes arrive; cleared when a progress record is made. */
  dirty: boolean;
  published: boolean;
  sentChars: number;
}

export interface CoalescerOptions {
  /** Calls tracked at once; more are not shown live (their event still is). */
  maxCalls: number;
  /** Records made per tick; the rest wait for the next tick. */
  maxRecordsPerTick: number;
  /** A call older than this is forgotten (it should have ended long before). */
  maxAgeMs: number;
  /** A call is announced once it has run this long: short calls never cost a live record. */
  minAgeMs: number;
}

/** A tracked call, linked into the coalescer's list in the order calls started. */
class TrackedCall extends ListNode<TrackedCall> implements LiveEntry {
  dirty = false;
  published = false;
  sentChars = 0;

  constructor(
    readonly started: LiveStarted,
    readonly source: LiveSource,
  ) {
    super();
  }
}

export class LiveCoalescer {
  /** Calls in flight (see IntrusiveList for why not a Map). */
  private readonly calls = new IntrusiveList<TrackedCall>();

  constructor(private readonly options: CoalescerOptions) {}

  get size(): number {
    return this.calls.size;
  }

  start(started: LiveStarted, source: LiveSource): LiveEntry | null {
    if (this.calls.size >= this.options.maxCalls) return null;
    const call = new TrackedCall(started, source);
    this.calls.add(call);
    return call;
  }

  end(entry: LiveEntry | null): void {
    if (entry) this.calls.remove(entry as TrackedCall);
  }

  tick(now: number): LiveRecord[] {
    const out: LiveRecord[] = [];
    for (let call = this.calls.first; call !== null; ) {
      const entry = call;
      call = call.next;
      if (out.length >= this.options.maxRecordsPerTick) break;
      if (now - entry.started.started_at > this.options.maxAgeMs) {
        this.calls.remove(entry);
        continue;
      }
      if (!entry.published) {
        if (now - entry.started.started_at < this.options.minAgeMs) continue;
        entry.published = true;
        out.push(entry.started);
      }
      if (!entry.dirty) continue;
      entry.dirty = false;
      const text = entry.source.text();
      out.push({
        type: 'progress',
        event_id: entry.started.event_id,
        at: now,
        text: entry.source.capture ? text.slice(entry.sentChars) : '',
        chars: text.length,
        ttft_ms: entry.source.ttftMs(),
      });
      entry.sentChars = text.length;
    }
    return out;
  }
}
