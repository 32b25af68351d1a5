import type { Worker } from 'node:worker_threads';
import type { InferenceEvent } from '../shared/event/inference-event';
import type { RedactionSettings } from '../shared/redaction/redaction-config';
import { spawnWorker } from '../shared/threads/spawn-worker';
import { workerScript } from '../shared/threads/worker-script';
import type { AuditDocument } from './core/audit-document';

/**
 * Maps events to redacted audit documents on a worker thread. Redaction is
 * linear, but a batch of 2,000 events with captured bodies of up to 1 MiB
 * each is still seconds of work: in `npm start` the indexer shares its
 * process, and so its event loop, with the gateway, whose clients must never
 * wait for it. The thread builds the same redactor from the same settings.
 */

export interface DocumentWorkerInit {
  settings: RedactionSettings;
}

export interface DocumentsToWorker {
  seq: number;
  events: InferenceEvent[];
}

export interface DocumentsFromWorker {
  seq: number;
  /** In the order of the events; null where mapping failed (see failures). */
  docs: (AuditDocument | null)[];
  failures: { index: number; message: string }[];
}

interface Waiter {
  resolve(docs: AuditDocument[]): void;
  reject(err: Error): void;
}

export class DocumentThread {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, Waiter>();

  constructor(private readonly init: DocumentWorkerInit) {}

  /** The documents of `events`, in order; rejects (a plain Error: the consumer runner retries, then isolates) if one cannot be made. */
  map(events: InferenceEvent[]): Promise<AuditDocument[]> {
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      const message: DocumentsToWorker = { seq, events };
      try {
        this.thread().postMessage(message);
      } catch (err) {
        this.waiting.delete(seq);
        reject(err as Error);
      }
    });
  }

  private thread(): Worker {
    this.worker ??= spawnWorker<DocumentsFromWorker>(
      workerScript(__dirname, 'document-worker'),
      { workerData: this.init },
      'audit document worker',
      (m) => this.receive(m),
      (err, dead) => {
        if (this.worker !== dead) return;
        // The next batch starts a new thread; those in hand fail (and are delivered again).
        this.worker = null;
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
      },
    );
    return this.worker;
  }

  private receive(m: DocumentsFromWorker): void {
    const waiter = this.waiting.get(m.seq);
    if (!waiter) return;
    this.waiting.delete(m.seq);
    const failure = m.failures[0];
    if (failure) waiter.reject(new Error(`audit document ${failure.index} of the batch: ${failure.message}`));
    else waiter.resolve(m.docs as AuditDocument[]);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}
