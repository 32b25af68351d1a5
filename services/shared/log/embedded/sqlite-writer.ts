import type * as WorkerThreads from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../../threads/spawn-worker';
import BetterSqlite3 from 'better-sqlite3';
import { LlmLoggerError } from '../../errors';
import { packValues } from '../../threads/packed-values';
import { SharedBufferPool } from '../../threads/shared-buffer-pool';

/**
 * Appends to the embedded log run on a worker thread with its own SQLite
 * connection, so a batch commit (a few ms at saturation) never blocks the
 * event loop that is streaming answers. An append resolves once its
 * transaction has committed.
 */

/** Records to append to one topic, as the log hands them to the writer. */
export interface AppendRecords {
  topic: string;
  partitions: number[];
  keys: (string | null)[];
  timestamps: number[];
  headers: (string | null)[];
  values: Buffer[];
}

/** The same on their way to the writer core: the values back to back in one buffer, `ends[i]` where each ends. */
interface AppendBatch extends Omit<AppendRecords, 'values'> {
  values: Uint8Array;
  ends: Int32Array;
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

type Done = (id: number, error?: string) => void;

interface WriterCore {
  submit(id: number, batch: AppendBatch, done: Done): void;
  expire(requests: ExpireRequest[]): void;
  close(): void;
}

/**
 * The writer's work: one connection, appends coalesced into one transaction
 * per turn of the event loop (bigger commits under load, no added wait when
 * idle), retention in small chunks. Self-contained on purpose: it is also
 * shipped to the writer thread as source text, so it must not use imports.
 */
function createWriterCore(Database: typeof BetterSqlite3, path: string, sync: 'normal' | 'full'): WriterCore {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  // As on the log's other connection: freed space is zeroed, so an erased body leaves no copy behind. Appends
  // free no page: the cost falls on retention's deletes.
  db.pragma('secure_delete = ON');
  // better-sqlite3 builds SQLite with a 16 MB page cache per connection. Appends touch only
  // the B-trees' rightmost pages: with 256 KiB the gateway's RSS at saturation fell by ~20 MB
  // and the writer's CPU per record did not change (docs/benchmarks.md).
  db.pragma('cache_size = -256');
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
    for (const [p, indexes] of byPartition) {
      let offset = nextOffset.get(b.topic, p)?.next_offset ?? 0;
      for (const i of indexes) {
        const value = values.subarray(i === 0 ? 0 : b.ends[i - 1], b.ends[i]);
        insert.run(b.topic, p, offset++, b.timestamps[i], b.keys[i], value, b.headers[i]);
      }
      bump.run(indexes.length, b.topic, p);
    }
  };
  const writeAll = db.transaction((batches: AppendBatch[]) => {
    for (const b of batches) append(b);
  });
  let queued: { id: number; batch: AppendBatch; done: Done }[] = [];
  const flush = (): void => {
    const work = queued;
    queued = [];
    if (work.length === 0 || !db.open) return;
    try {
      writeAll.immediate(work.map((w) => w.batch));
      for (const w of work) w.done(w.id);
    } catch (err) {
      for (const w of work) w.done(w.id, (err as Error).message);
    }
  };
  // Retention: delete the oldest records of each partition in small chunks,
  // walking the offset index, so no step scans the table or holds the write
  // lock for long.
  const oldest = db.prepare<[string, number], { offset: number; ts: number }>(
    'SELECT offset, ts FROM records WHERE topic = ? AND partition = ? ORDER BY offset LIMIT 1',
  );
  const dropRange = db.prepare('DELETE FROM records WHERE topic = ? AND partition = ? AND offset >= ? AND offset < ? AND ts < ?');
  const expire = (work: ExpireRequest[]): void => {
    const next = work[0];
    if (!next || !db.open) return;
    const head = oldest.get(next.topic, next.partition);
    const deleted = head && head.ts < next.cutoff ? dropRange.run(next.topic, next.partition, head.offset, head.offset + 1000, next.cutoff).changes : 0;
    if (deleted === 0) work.shift();
    setImmediate(() => expire(work));
  };
  return {
    submit(id, batch, done) {
      if (queued.length === 0) setImmediate(flush);
      queued.push({ id, batch, done });
    },
    expire,
    close() {
      flush();
      db.close();
    },
  };
}

/** Entry point of the writer thread (shipped as source text, like the core). */
function writerThreadMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- runs as plain script text in the worker */
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
  const Database = require(workerData.sqliteModule as string) as typeof BetterSqlite3;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const core = createWriterCore(Database, workerData.path as string, workerData.sync as 'normal' | 'full');
  const reply: Done = (id, error) => parentPort!.postMessage(error === undefined ? { id } : { id, error });
  parentPort!.on('message', (msg: { id: number; batch: AppendBatch } | { expire: ExpireRequest[] } | 'close') => {
    if (msg === 'close') {
      core.close();
      parentPort!.close();
    } else if ('expire' in msg) core.expire(msg.expire);
    else core.submit(msg.id, msg.batch, reply);
  });
}

const WORKER_SOURCE = `const createWriterCore = ${createWriterCore.toString()};\n(${writerThreadMain.toString()})()`;

/**
 * Runs the writer core on its own thread (`thread: true`: commits never
 * block the event loop) or inline (no second isolate: less memory).
 */
export class SqliteWriter {
  private worker: Worker | null = null;
  private inline: WriterCore | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void; values: SharedArrayBuffer }>();
  private readonly inflight = new Set<Promise<void>>();
  /** Where batches' values are packed: read by the writer thread in place, reused once it has replied. */
  private readonly buffers = new SharedBufferPool(8 * 1024 * 1024, true);

  constructor(
    private readonly path: string,
    private readonly sync: 'normal' | 'full',
    private readonly thread: boolean,
  ) {}

  private settle: Done = (id, error) => {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.buffers.give(p.values);
    if (error === undefined) p.resolve();
    else p.reject(new LlmLoggerError('LOG_UNAVAILABLE', `embedded log append failed: ${error}`, { retriable: true }));
  };

  private spawn(): Worker {
    return spawnWorker<Reply>(
      WORKER_SOURCE,
      {
        eval: true,
        workerData: { path: this.path, sync: this.sync, sqliteModule: require.resolve('better-sqlite3') },
        // The writer holds a few batches at a time (their values in shared memory): a small heap keeps
        // the footprint down. With a 1 MB young generation V8 gives it 2 MB of new space (4 MB with 4);
        // at saturation that is ~20 collections of under 1 ms per 5 s instead of ~12.
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 64 },
      },
      'embedded log writer thread',
      (reply) => this.settle(reply.id, reply.error),
      (err) => {
        // Every append in flight is unconfirmed: fail them so callers retry; the next append starts a new writer.
        this.worker = null;
        for (const id of [...this.pending.keys()]) this.settle(id, `writer thread stopped: ${err.message}`);
      },
    );
  }

  private send(msg: { id: number; batch: AppendBatch } | { expire: ExpireRequest[] }): void {
    if (!this.thread) {
      this.inline ??= createWriterCore(BetterSqlite3, this.path, this.sync);
      if ('expire' in msg) this.inline.expire(msg.expire);
      else this.inline.submit(msg.id, msg.batch, this.settle);
      return;
    }
    this.worker ??= this.spawn();
    this.worker.postMessage(msg);
  }

  append(records: AppendRecords): Promise<void> {
    const id = this.nextId++;
    const { values: list, ...meta } = records;
    const { values, ends } = packValues(list.length, (i) => list[i]!, undefined, this.buffers.take);
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, values: values.buffer as SharedArrayBuffer });
    });
    this.send({ id, batch: { ...meta, values, ends } });
    this.inflight.add(done);
    const forget = (): void => void this.inflight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Deletes records older than each cutoff, in the background. */
  expire(requests: ExpireRequest[]): void {
    this.send({ expire: requests });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    this.inline?.close();
    this.inline = null;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((r) => worker.once('exit', r));
    worker.postMessage('close');
    await exited;
    this.worker = null;
  }
}
