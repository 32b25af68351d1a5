import { performance } from 'node:perf_hooks';
import { IntrusiveList, ListNode } from '../shared/collections/intrusive-list';

/**
 * The upstream timeouts of the calls in flight (response headers within
 * LLM_LOGGER_UPSTREAM_HEADERS_TIMEOUT_MS of sending the request, then at most
 * LLM_LOGGER_UPSTREAM_BODY_TIMEOUT_MS of silence between two chunks), checked
 * by one timer for all calls.
 *
 * Why not undici's own timeouts: they cost each call two timer objects that
 * wait for undici's next half-second tick to be dropped, so they outlive the
 * young generation; at saturation they were a third of what the gateway's
 * heap promoted, and the old generation grew accordingly. Here a call costs
 * one small object and a flag set per chunk.
 *
 * A deadline never fires early; it fires at most two checks late (a check
 * every quarter of the shorter timeout, at most once a second, the resolution
 * undici's timers had).
 */
export class UpstreamDeadlines {
  /** See IntrusiveList for why not a Set. */
  private readonly watched = new IntrusiveList<Deadline>();
  private timer: NodeJS.Timeout | null = null;
  private readonly checkEveryMs: number;

  constructor(
    private readonly headersTimeoutMs: number,
    private readonly bodyTimeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.checkEveryMs = Math.min(1_000, Math.max(10, Math.min(headersTimeoutMs, bodyTimeoutMs) / 4));
  }

  /** Watches a call sent at `sentAt` (on the `now` clock); `expire` is called once if it times out. */
  watch(sentAt: number, expire: (err: UpstreamTimeoutError) => void): Deadline {
    const deadline = new Deadline(this, sentAt, expire);
    this.watched.add(deadline);
    this.timer ??= setInterval(() => this.check(), this.checkEveryMs).unref();
    return deadline;
  }

  /** @internal */
  forget(deadline: Deadline): void {
    this.watched.remove(deadline);
  }

  /** Stops the timer (calls still watched never expire). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watched.clear();
  }

  /** @internal exposed for tests */
  check(): void {
    const now = this.now();
    for (let d = this.watched.first; d !== null; ) {
      const next = d.next;
      const limit = d.receiving ? this.bodyTimeoutMs : this.headersTimeoutMs;
      if (d.paused || d.active) {
        // Bytes arrived since the last check (or the client is not reading): silence starts now.
        d.active = false;
        d.since = now;
      } else if (now - d.since >= limit) {
        this.watched.remove(d);
        d.expire(
          new UpstreamTimeoutError(
            d.receiving
              ? `no data from the upstream for ${limit} ms (LLM_LOGGER_UPSTREAM_BODY_TIMEOUT_MS)`
              : `no response headers within ${limit} ms (LLM_LOGGER_UPSTREAM_HEADERS_TIMEOUT_MS)`,
          ),
        );
      }
      d = next;
    }
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export class Deadline extends ListNode<Deadline> {
  /** Set on each chunk from the upstream; the next check restarts the silence from there. */
  active = false;
  /** While the client is not reading, the upstream is not read either: not silence. */
  paused = false;
  /** Headers received: the body timeout applies. */
  receiving = false;
  /** @internal */
  since: number;

  constructor(
    private readonly owner: UpstreamDeadlines,
    sentAt: number,
    /** @internal */
    readonly expire: (err: UpstreamTimeoutError) => void,
  ) {
    super();
    this.since = sentAt;
  }

  /** The response headers have arrived. */
  headersReceived(): void {
    this.receiving = true;
    this.active = true;
  }

  /** The request was sent again (after a refused option): its headers are awaited afresh. */
  resent(): void {
    this.receiving = false;
    this.active = true;
  }

  /** The call is over (answered, failed or cancelled). */
  done(): void {
    this.owner.forget(this);
  }
}

export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
}
