import type { Worker } from 'node:worker_threads';
import { packValues } from '../shared/threads/packed-values';
import { SharedBufferPool } from '../shared/threads/shared-buffer-pool';
import { spawnWorker } from '../shared/threads/spawn-worker';
import { workerScript } from '../shared/threads/worker-script';

/**
 * Building a closed file's Arrow columns and encoding it to Parquet, on
 * worker threads (files spread over them by partition), so the calling
 * thread only reads the log and keeps the rotation and commit bookkeeping.
 *
 * While a file is open, each batch's records of it are copied into one
 * SharedArrayBuffer (a piece); when it closes, its pieces go to its thread,
 * which reads them without another copy, builds the columns into buffers it
 * reuses from file to file (growing and paging in new ones cost more than
 * the copy) and encodes them. The pieces stay here until the file is
 * encoded, and are then reused for the next ones: a thread that dies or
 * fails is ended, the files it had fail, and encoding one again simply
 * sends its pieces to a new thread.
 */

/** Records of one file (current-schema Avro bodies back to back, in the first bytes of `values`), their ends and offsets. */
export interface Piece {
  values: SharedArrayBuffer;
  ends: Int32Array;
  offsets: Float64Array;
}

export type ToColumnThread = { id: number; partition: number; pieces: Piece[]; metadata: [string, string][] };

export type FromColumnThread = { id: number; body: Uint8Array; error?: undefined } | { id: number; error: string };

/** Pieces' buffers kept for reuse, in bytes at most. */
const SPARE_BYTES = 64 * 1024 * 1024;

interface Thread {
  worker: Worker | null;
  encodes: Map<number, { resolve: (body: Uint8Array) => void; reject: (err: Error) => void }>;
}

/** One open (or closing) file's records. */
export class FileColumns {
  pieces: Piece[] = [];
  // Added since the last piece (the body is bytes [start, end) of each buffer): packed at the end of the batch.
  readonly bodies: Buffer[] = [];
  readonly starts: number[] = [];
  readonly offsets: number[] = [];

  constructor(
    readonly partition: number,
    readonly thread: Thread,
  ) {}
}

export class ColumnThreads {
  private readonly threads: Thread[];
  private nextId = 1;
  /** Files with records not packed yet. */
  private readonly dirty = new Set<FileColumns>();
  /** Buffers of pieces no longer needed. */
  private readonly buffers = new SharedBufferPool(SPARE_BYTES);

  constructor(count = 2) {
    this.threads = Array.from({ length: Math.max(1, count) }, () => ({ worker: null, encodes: new Map() }));
  }

  open(partition: number): FileColumns {
    return new FileColumns(partition, this.threads[partition % this.threads.length]!);
  }

  /** Adds a record: its current-schema Avro body is bytes [start, end) of `body`, kept by reference until `flush`. */
  append(file: FileColumns, body: Buffer, start: number, offset: number): void {
    if (file.bodies.length === 0) this.dirty.add(file);
    file.bodies.push(body);
    file.starts.push(start);
    file.offsets.push(offset);
  }

  /** Packs the records added since the last flush (at the end of each batch: the log's buffers are not kept longer). */
  flush(): void {
    for (const file of this.dirty) this.pack(file);
    this.dirty.clear();
  }

  /** Builds and encodes the file on its thread; rejects (to be retried) if the thread fails meanwhile. */
  async encode(file: FileColumns, metadata: Map<string, string>): Promise<Uint8Array> {
    this.pack(file);
    this.dirty.delete(file);
    const id = this.nextId++;
    const { thread } = file;
    const body = await new Promise<Uint8Array>((resolve, reject) => {
      thread.encodes.set(id, { resolve, reject });
      const message: ToColumnThread = { id, partition: file.partition, pieces: file.pieces, metadata: [...metadata] };
      try {
        this.worker(thread).postMessage(message);
      } catch (err) {
        thread.encodes.delete(id);
        reject(err as Error);
      }
    });
    // The thread has read the pieces: they can hold the next files' records.
    this.forget(file);
    return body;
  }

  /** Forgets an open file that will not be written (its partition was revoked). */
  drop(file: FileColumns): void {
    this.dirty.delete(file);
    this.forget(file);
  }

  async close(): Promise<void> {
    const workers = this.threads.map((t) => t.worker);
    for (const t of this.threads) {
      t.worker = null;
      for (const e of t.encodes.values()) e.reject(new Error('the roller column threads are closed'));
      t.encodes.clear();
    }
    await Promise.all(workers.map((w) => w?.terminate()));
  }

  private pack(file: FileColumns): void {
    if (file.bodies.length === 0) return;
    const { values, ends } = packValues(
      file.bodies.length,
      (i) => file.bodies[i]!,
      (i) => file.starts[i]!,
      this.buffers.take,
    );
    file.pieces.push({ values: values.buffer as SharedArrayBuffer, ends, offsets: Float64Array.from(file.offsets) });
    file.bodies.length = file.starts.length = file.offsets.length = 0;
  }

  /** Only for pieces no thread reads any more (a file encoded, or never sent). */
  private forget(file: FileColumns): void {
    for (const p of file.pieces) this.buffers.give(p.values);
    file.pieces = [];
    file.bodies.length = file.starts.length = file.offsets.length = 0;
  }

  private worker(thread: Thread): Worker {
    if (thread.worker) return thread.worker;
    const fail = (err: Error, worker: Worker): void => {
      if (thread.worker !== worker) return;
      thread.worker = null;
      void worker.terminate();
      for (const e of thread.encodes.values()) e.reject(err);
      thread.encodes.clear();
    };
    const worker = spawnWorker<FromColumnThread>(
      workerScript(__dirname, 'column-worker'),
      {},
      'roller column thread',
      (m) => {
        if (m.error !== undefined) {
          // A failure inside parquet-wasm may leave its memory unusable: start over on a new thread.
          fail(new Error(`roller column thread failed on a file: ${m.error}`), worker);
          return;
        }
        const e = thread.encodes.get(m.id);
        thread.encodes.delete(m.id);
        e?.resolve(m.body);
      },
      fail,
    );
    thread.worker = worker;
    return worker;
  }
}
