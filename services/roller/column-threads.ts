import { Worker } from 'node:worker_threads';
import { packValues } from '../shared/threads/packed-values';
import { workerScript } from '../shared/threads/worker-script';

/**
 * The roller's open files live on worker threads: records go over as raw
 * Avro bodies (one message per file per batch), and each thread reads them
 * into Arrow columns and, when a file is closed, encodes it to Parquet. The
 * calling thread only reads the log and keeps the rotation and commit
 * bookkeeping. Files are spread over the threads by partition.
 *
 * Each batch's bodies of a file are copied into one SharedArrayBuffer: the
 * thread reads it without another copy, and it stays here until the file is
 * encoded (then it holds the next pieces: a new one costs page faults that
 * add up to more than the copy itself). A thread that dies (or fails a file) is ended and its files fail;
 * the next call for one of them starts a new thread and sends it that file's
 * pieces again, so an encode that failed can simply be retried.
 */

export type ToColumnThread =
  | { t: 'append'; file: number; partition: number; values: SharedArrayBuffer; ends: Int32Array; offsets: Float64Array }
  | { t: 'close'; file: number; metadata: [string, string][] }
  | { t: 'drop'; file: number };

export type FromColumnThread = { t: 'closed'; file: number; body: Uint8Array } | { t: 'failed'; file: number; error: string };

interface Thread {
  worker: Worker | null;
  closes: Map<number, { resolve: (body: Uint8Array) => void; reject: (err: Error) => void }>;
}

/** One open (or closing) file's records, as the calling thread knows them. */
/** Pieces' buffers kept for reuse, in bytes at most. */
const SPARE_BYTES = 64 * 1024 * 1024;

/** Records of one file, as sent in one message (the values are the first bytes of `values`). */
interface Piece {
  values: SharedArrayBuffer;
  ends: Int32Array;
  offsets: Float64Array;
}

export class FileColumns {
  /** Sent, in order; dropped once the file is encoded. */
  pieces: Piece[] = [];
  /** The worker that has the first `sent` pieces. */
  sentTo: Worker | null = null;
  sent = 0;
  // Added since the last piece (current-schema Avro body at [start, end) of each body): sent at the end of the batch.
  readonly bodies: Buffer[] = [];
  readonly starts: number[] = [];
  readonly offsets: number[] = [];

  constructor(
    readonly id: number,
    readonly partition: number,
    readonly thread: Thread,
  ) {}
}

export class ColumnThreads {
  private readonly threads: Thread[];
  private nextId = 1;
  /** Files with records not sent yet. */
  private readonly dirty = new Set<FileColumns>();
  /** Buffers of pieces no longer needed, smallest first. */
  private readonly spare: SharedArrayBuffer[] = [];
  private spareBytes = 0;

  constructor(count = 2) {
    this.threads = Array.from({ length: Math.max(1, count) }, () => ({ worker: null, closes: new Map() }));
  }

  open(partition: number): FileColumns {
    return new FileColumns(this.nextId++, partition, this.threads[partition % this.threads.length]!);
  }

  /** Adds a record: its current-schema Avro body is bytes [start, end) of `body`, kept by reference until `flush`. */
  append(file: FileColumns, body: Buffer, start: number, offset: number): void {
    if (file.bodies.length === 0) this.dirty.add(file);
    file.bodies.push(body);
    file.starts.push(start);
    file.offsets.push(offset);
  }

  /** Sends the records added since the last flush (at the end of each batch). */
  flush(): void {
    for (const file of this.dirty) this.sync(file);
    this.dirty.clear();
  }

  /** Encodes the file to Parquet; rejects (to be retried) if its thread failed meanwhile. */
  encode(file: FileColumns, metadata: Map<string, string>): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      try {
        this.sync(file);
        this.dirty.delete(file);
        file.thread.closes.set(file.id, { resolve, reject });
        this.post(file.thread, { t: 'close', file: file.id, metadata: [...metadata] });
      } catch (err) {
        file.thread.closes.delete(file.id);
        reject(err as Error);
      }
    }).then((body) => {
      // The thread has let the file go: nothing left to send again.
      this.forget(file);
      return body;
    });
  }

  /** Forgets a file that will not be written (its partition was revoked). */
  drop(file: FileColumns): void {
    this.dirty.delete(file);
    if (file.sentTo !== null && file.sentTo === file.thread.worker) this.post(file.thread, { t: 'drop', file: file.id });
    // Not reused: the thread may not have read them yet.
    this.forget(file, false);
  }

  /** Once the file's thread no longer reads its pieces (`reuse`), their buffers hold the next ones. */
  private forget(file: FileColumns, reuse = true): void {
    for (const p of reuse ? file.pieces : []) {
      if (this.spareBytes + p.values.byteLength > SPARE_BYTES) break;
      const at = this.spare.findIndex((b) => b.byteLength >= p.values.byteLength);
      this.spare.splice(at < 0 ? this.spare.length : at, 0, p.values);
      this.spareBytes += p.values.byteLength;
    }
    file.pieces = [];
    file.bodies.length = file.starts.length = file.offsets.length = 0;
    file.sentTo = null;
    file.sent = 0;
  }

  /** `bytes` at the start of a spare buffer at most twice as large, else of a new one. */
  private sharedBuffer(bytes: number): Buffer {
    const at = this.spare.findIndex((b) => b.byteLength >= bytes);
    if (at >= 0 && this.spare[at]!.byteLength <= 2 * bytes + 65_536) {
      const [b] = this.spare.splice(at, 1);
      this.spareBytes -= b!.byteLength;
      return Buffer.from(b!, 0, bytes);
    }
    return Buffer.from(new SharedArrayBuffer(bytes));
  }

  async close(): Promise<void> {
    const workers = this.threads.map((t) => t.worker);
    for (const t of this.threads) {
      t.worker = null;
      for (const c of t.closes.values()) c.reject(new Error('the roller column threads are closed'));
      t.closes.clear();
    }
    await Promise.all(workers.map((w) => w?.terminate()));
  }

  /** Makes the file's thread hold all its records: a new thread gets them all again. */
  private sync(file: FileColumns): void {
    const worker = this.worker(file.thread);
    if (file.sentTo !== worker) {
      file.sentTo = worker;
      file.sent = 0;
    }
    if (file.bodies.length > 0) {
      const { values, ends } = packValues(
        file.bodies.length,
        (i) => file.bodies[i]!,
        (i) => file.starts[i]!,
        (bytes) => this.sharedBuffer(bytes),
      );
      file.pieces.push({ values: values.buffer as SharedArrayBuffer, ends, offsets: Float64Array.from(file.offsets) });
      file.bodies.length = file.starts.length = file.offsets.length = 0;
    }
    for (; file.sent < file.pieces.length; file.sent++) {
      const { values, ends, offsets } = file.pieces[file.sent]!;
      worker.postMessage({ t: 'append', file: file.id, partition: file.partition, values, ends, offsets } satisfies ToColumnThread);
    }
  }

  private post(thread: Thread, message: ToColumnThread): void {
    this.worker(thread).postMessage(message);
  }

  private worker(thread: Thread): Worker {
    if (thread.worker) return thread.worker;
    const worker = new Worker(workerScript(__dirname, 'column-worker'));
    const fail = (err: Error): void => {
      if (thread.worker !== worker) return;
      thread.worker = null;
      void worker.terminate();
      for (const c of thread.closes.values()) c.reject(err);
      thread.closes.clear();
    };
    worker.on('message', (m: FromColumnThread) => {
      if (m.t === 'failed') {
        // Its state is no longer trusted: every file on it is built again on a new thread.
        fail(new Error(`roller column thread failed on a file: ${m.error}`));
        return;
      }
      const c = thread.closes.get(m.file);
      thread.closes.delete(m.file);
      c?.resolve(m.body);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`roller column thread exited with code ${code}`)));
    worker.unref(); // never what keeps the process alive (after the listeners, which would ref it again)
    thread.worker = worker;
    return worker;
  }
}
