import type * as WorkerThreads from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { LlmLoggerError } from '../../errors';

/**
 * Appends to the embedded log run on a worker thread with its own SQLite
 * connection, so a batch commit (a few ms at saturation) never blocks the
 * event loop that is streaming answers. An append resolves once its
 * transaction has committed.
 */

export interface AppendBatch {
  topic: string;
  partitions: number[];
  keys: (string | null)[];
  timestamps: number[];
  headers: (string | null)[];
  /** All values back to back; `lengths[i]` bytes each. */
  values: Buffer;
  lengths: number[];
}

export interface ExpireRequest {
  topic: string;
  partition: number;
  /** Records with an older timestamp (epoch ms) are deleted. */
  cutoff: number;
}

interface Reply {
  id: number;
  error?: string;
}

/**
 * Runs inside the worker. Self-contained on purpose: it is shipped to the
 * worker as source text, so it works from compiled output and from sources.
 */
function writerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- runs as plain script text in the worker */
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
  const Database = require(workerData.sqliteModule as string) as typeof BetterSqlite3;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const db = new Database(workerData.path as string);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${workerData.sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  const nextOffset = db.prepare<[string, number], { next_offset: number }>('SELECT next_offset FROM partitions WHERE topic = ? AND partition = ?');
  const bump = db.prepare('UPDATE partitions SET next_offset = next_offset + ? WHERE topic = ? AND partition = ?');
  const insert = db.prepare('INSERT INTO records (topic, partition, offset, ts, key, value, headers) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const append = (b: AppendBatch): void => {
    const values = Buffer.from(b.values.buffer, b.values.byteOffset, b.values.byteLength);
    const byPartition = new Map<number, number[]>();
    b.partitions.forEach((p, i) => {
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(i);
    });
    const starts: number[] = [];
    let pos = 0;
    for (const len of b.lengths) {
      starts.push(pos);
      pos += len;
    }
    for (const [p, indexes] of byPartition) {
      let offset = nextOffset.get(b.topic, p)?.next_offset ?? 0;
      for (const i of indexes) {
        const value = values.subarray(starts[i], starts[i]! + b.lengths[i]!);
        insert.run(b.topic, p, offset++, b.timestamps[i], b.keys[i], value, b.headers[i]);
      }
      bump.run(indexes.length, b.topic, p);
    }
  };
  // Batches that arrive while a commit runs are written together in the next
  // one: bigger transactions under load, no added wait when idle.
  let queued: { id: number; batch: AppendBatch }[] = [];
  const flush = (): void => {
    const work = queued;
    queued = [];
    if (work.length === 0) return;
    try {
      writeAll.immediate(work.map((w) => w.batch));
      for (const w of work) parentPort!.postMessage({ id: w.id });
    } catch (err) {
      for (const w of work) parentPort!.postMessage({ id: w.id, error: (err as Error).message });
    }
  };
  const writeAll = db.transaction((batches: AppendBatch[]) => {
    for (const b of batches) append(b);
  });
  // Retention: delete the oldest records of each partition in small chunks,
  // walking the offset index, so no step ever scans the table or holds the
  // write lock for long.
  const oldest = db.prepare<[string, number], { offset: number; ts: number }>(
    'SELECT offset, ts FROM records WHERE topic = ? AND partition = ? ORDER BY offset LIMIT 1',
  );
  const dropRange = db.prepare('DELETE FROM records WHERE topic = ? AND partition = ? AND offset >= ? AND offset < ? AND ts < ?');
  const expire = (work: ExpireRequest[]): void => {
    const next = work[0];
    if (!next) return;
    const head = oldest.get(next.topic, next.partition);
    const deleted = head && head.ts < next.cutoff ? dropRange.run(next.topic, next.partition, head.offset, head.offset + 1000, next.cutoff).changes : 0;
    if (deleted === 0) work.shift();
    setImmediate(() => expire(work));
  };
  parentPort!.on('message', (msg: { id: number; batch: AppendBatch } | { expire: ExpireRequest[] } | 'close') => {
    if (typeof msg === 'object' && 'expire' in msg) {
      expire(msg.expire);
      return;
    }
    if (msg === 'close') {
      if (queued.length > 0) flush();
      db.close();
      parentPort!.close();
      return;
    }
    if (queued.length === 0) setImmediate(flush);
    queued.push(msg);
  });
}

export class SqliteWriter {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly path: string,
    private readonly sync: 'normal' | 'full',
  ) {}

  private spawn(): Worker {
    const worker = new Worker(`(${writerMain.toString()})()`, {
      eval: true,
      workerData: { path: this.path, sync: this.sync, sqliteModule: require.resolve('better-sqlite3') },
      // The writer holds one batch at a time: a small heap keeps the gateway's footprint down.
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
    });
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.error === undefined) p.resolve();
      else p.reject(new LlmLoggerError('LOG_UNAVAILABLE', `embedded log append failed: ${reply.error}`, { retriable: true }));
    });
    const fail = (err: Error): void => {
      // Every append in flight is unconfirmed: fail them so callers retry; the next append starts a new writer.
      this.worker = null;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new LlmLoggerError('LOG_UNAVAILABLE', `embedded log writer stopped: ${err.message}`, { cause: err, retriable: true }));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
    return worker;
  }

  append(batch: AppendBatch): Promise<void> {
    this.worker ??= this.spawn();
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.postMessage({ id, batch });
    });
    this.inflight.add(done);
    const forget = (): void => void this.inflight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Deletes records older than each cutoff, in the background. */
  expire(requests: ExpireRequest[]): void {
    this.worker ??= this.spawn();
    this.worker.postMessage({ expire: requests });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await Promise.allSettled([...this.inflight]);
    const exited = new Promise((r) => worker.once('exit', r));
    worker.postMessage('close');
    await exited;
    this.worker = null;
  }
}
