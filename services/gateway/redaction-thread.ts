import type { Worker } from 'node:worker_threads';
import { LlmLoggerError } from '../shared/errors';
import type { InferenceEvent } from '../shared/event/inference-event';
import type { Fitted } from '../shared/event/record-fit';
import { eventRecord, type EventRecorder, type EventRecording } from '../shared/log/event-recorder';
import type { Logger } from '../shared/observability/logger';
import type { RedactionSettings } from '../shared/redaction/redaction-config';
import { strippedEvent } from '../shared/redaction/redact-event';
import { spawnWorker } from '../shared/threads/spawn-worker';
import { workerScript } from '../shared/threads/worker-script';

/**
 * Redaction policy `all` in the gateway: every event goes through a worker
 * thread that redacts and encodes it before it reaches the recorder's queue,
 * so no store ever holds the raw value, and the gateway's event loop does no
 * redaction at all (only hands events over: one message per turn of the
 * loop). The client's answer has ended before its event gets here (or, in
 * strict audit mode, waits for it anyway), so this never delays its bytes.
 *
 * Events keep their order. If the thread dies, the events it had in hand are
 * recorded stripped of every text (never raw) and a new thread starts with
 * the next event.
 */

export interface RedactionWorkerInit {
  settings: RedactionSettings;
  schemaId: number;
  schemaText: string;
  maxRecordBytes: number | null;
}

export interface RedactionToWorker {
  seq: number;
  events: InferenceEvent[];
}

export interface RedactionFromWorker {
  seq: number;
  /** The encoded events back to back; `ends` where each ends. */
  values: ArrayBuffer;
  ends: ArrayBuffer;
  /** Events that could not be encoded within the record limit (dropped). */
  failed: number[];
  /** Events whose redaction failed: recorded with their numbers only. */
  stripped: number[];
  /** Events shrunk to fit the record limit. */
  shrunk: { index: number; fitted: Fitted | null }[];
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

interface Batch {
  seq: number;
  events: InferenceEvent[];
  /** Per event: the strict-mode caller waiting for it to be durable, or null. */
  waiters: (Waiter | null)[];
  /** Per event: when the ingest API accepted it (epoch ms), or undefined for the gateway's own. */
  ingestedAt: (number | undefined)[];
}

/** Events per message to the thread. */
const MAX_BATCH = 256;

export interface RedactingRecorderOptions {
  init: RedactionWorkerInit;
  /** Events waiting for the thread, at most; more are dropped (counted) or refused (strict). */
  maxPending: number;
  onDrop: (count: number) => void;
  onShrunk?: (fitted: Fitted | null, eventId: string) => void;
  logger: Logger;
}

export class RedactingRecorder implements EventRecording {
  private worker: Worker | null = null;
  private seq = 0;
  private current: Batch | null = null;
  private readonly inFlight = new Map<number, Batch>();
  private pending = 0;
  private closed = false;
  private drained: (() => void) | null = null;

  constructor(
    private readonly recorder: EventRecorder,
    private readonly options: RedactingRecorderOptions,
  ) {}

  get depth(): number {
    return this.pending + this.recorder.depth;
  }

  canRecord(): boolean {
    return !this.closed && this.pending < this.options.maxPending && this.recorder.canRecord();
  }

  record(event: InferenceEvent): boolean {
    if (this.closed || this.pending >= this.options.maxPending) {
      this.options.onDrop(1);
      return false;
    }
    this.add(event, null);
    return true;
  }

  recordDurable(event: InferenceEvent): Promise<void> {
    if (this.closed) return Promise.reject(new LlmLoggerError('LOG_CLOSED', 'the event hand-off is shut down'));
    if (this.pending >= this.options.maxPending) {
      return Promise.reject(new LlmLoggerError('LOG_QUEUE_FULL', 'the redaction queue is full', { retriable: true }));
    }
    return new Promise((resolve, reject) => this.add(event, { resolve, reject }));
  }

  recordIngested(event: InferenceEvent, acceptedAt: number): Promise<void> {
    if (this.closed) return Promise.reject(new LlmLoggerError('LOG_CLOSED', 'the event hand-off is shut down'));
    if (this.pending >= this.options.maxPending) {
      return Promise.reject(new LlmLoggerError('LOG_QUEUE_FULL', 'the redaction queue is full', { retriable: true }));
    }
    return new Promise((resolve, reject) => this.add(event, { resolve, reject }, acceptedAt));
  }

  private add(event: InferenceEvent, waiter: Waiter | null, ingestedAt?: number): void {
    this.pending++;
    if (!this.current) {
      this.current = { seq: this.seq++, events: [], waiters: [], ingestedAt: [] };
      // The events of this turn of the event loop go over together, in one message.
      queueMicrotask(() => this.send());
    }
    this.current.events.push(event);
    this.current.waiters.push(waiter);
    this.current.ingestedAt.push(ingestedAt);
    if (this.current.events.length >= MAX_BATCH) this.send();
  }

  private send(): void {
    const batch = this.current;
    if (!batch) return;
    this.current = null;
    this.inFlight.set(batch.seq, batch);
    const message: RedactionToWorker = { seq: batch.seq, events: batch.events };
    try {
      this.thread().postMessage(message);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private thread(): Worker {
    this.worker ??= spawnWorker<RedactionFromWorker>(
      workerScript(__dirname, 'redaction-worker'),
      { workerData: this.options.init },
      'redaction worker',
      (m) => this.receive(m),
      (err, dead) => {
        if (this.worker === dead) this.fail(err);
      },
    );
    return this.worker;
  }

  private receive(m: RedactionFromWorker): void {
    const batch = this.inFlight.get(m.seq);
    if (!batch) return;
    this.inFlight.delete(m.seq);
    const values = Buffer.from(m.values);
    const ends = new Int32Array(m.ends);
    const failed = new Set(m.failed);
    for (const i of m.stripped) this.options.logger.error({ eventId: batch.events[i]!.event_id }, 'redaction failed; the event is recorded without any text');
    for (const s of m.shrunk) this.options.onShrunk?.(s.fitted, batch.events[s.index]!.event_id);
    let start = 0;
    batch.events.forEach((event, i) => {
      const end = ends[i]!;
      const value = values.subarray(start, end);
      start = end;
      const waiter = batch.waiters[i]!;
      if (failed.has(i)) {
        this.options.onDrop(1);
        waiter?.reject(new LlmLoggerError('EVENT_INVALID', `event ${event.event_id} cannot be encoded within the log's record limit`));
        return;
      }
      const record = eventRecord(event, value, batch.ingestedAt[i]);
      if (waiter) this.recorder.recordEncodedDurable(record).then(waiter.resolve, waiter.reject);
      else this.recorder.recordEncoded(record);
    });
    this.settle(batch.events.length);
  }

  /** The thread died: what it had in hand is recorded without any text (never raw), and the next event starts a new one. */
  private fail(err: Error): void {
    this.options.logger.error({ err, events: [...this.inFlight.values()].reduce((n, b) => n + b.events.length, 0) }, 'redaction thread failed; its events are recorded without text');
    const worker = this.worker;
    this.worker = null;
    void worker?.terminate();
    const batches = [...this.inFlight.values()].sort((a, b) => a.seq - b.seq);
    this.inFlight.clear();
    for (const batch of batches) {
      batch.events.forEach((event, i) => {
        const waiter = batch.waiters[i]!;
        const stripped = strippedEvent(event);
        const ingestedAt = batch.ingestedAt[i];
        if (ingestedAt !== undefined) this.recorder.recordIngested(stripped, ingestedAt).then(waiter!.resolve, waiter!.reject);
        else if (waiter) this.recorder.recordDurable(stripped).then(waiter.resolve, waiter.reject);
        else this.recorder.record(stripped);
      });
      this.settle(batch.events.length);
    }
  }

  private settle(count: number): void {
    this.pending -= count;
    if (this.pending === 0) this.drained?.();
  }

  /** Waits for the thread to hand back what it has (up to `graceMs`), then shuts the recorder down. */
  async shutdown(graceMs: number): Promise<void> {
    this.closed = true;
    this.send();
    if (this.pending > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    // What the thread has not answered for in time is written without text rather than lost.
    if (this.inFlight.size > 0) this.fail(new Error(`the redaction thread did not answer within ${graceMs} ms of shutdown`));
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
    await this.recorder.shutdown(graceMs);
  }
}
