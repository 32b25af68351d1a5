import type { Counter, Histogram, Registry } from 'prom-client';
import { Counter as PromCounter, Histogram as PromHistogram } from 'prom-client';
import type { TopicName } from '../../topology/topics';
import { INFERENCE_EVENT_SCHEMA_VERSION } from '../shared/event/inference-event';
import type { Decoded } from '../shared/log/consumer-runner';
import type { CommitPositions } from '../shared/log/event-log';
import type { Logger } from '../shared/observability/logger';
import { fileKey } from './core/file-layout';
import { appendRecord, isFull, isIdleDue, openFile, place, type OpenFileState, type RotationLimits } from './core/rotation';
import type { ArchiveRow } from './core/avro-row';
import { PARQUET_LAYOUT_VERSION } from './core/row-mapping';
import type { ObjectStore } from './object-store/object-store';
import { ColumnThreads, type FileColumns } from './column-threads';
import { ingestedAt } from '../shared/event/ingest-origin';
import { dedupeMetrics } from '../shared/dedupe/dedupe-metrics';
import type { SeenIdsLimits } from '../shared/dedupe/seen-ids';
import { RollerDedupe, type IdsObject } from './ingest-dedupe';
import type { Erasure, ErasureList } from '../shared/erasure/erasure';
import type * as ParquetEraseModule from './parquet-erase';

interface PartitionState {
  /** `erasureGen`: the oldest erasure generation its records were checked against when they were read. */
  open: (OpenFileState & { rows: FileColumns; erasureGen: number }) | null;
  /** Next offset after the last record handled; null before the first. */
  next: number | null;
  lastRecordAtMs: number;
  /** First offsets of closed files not stored yet, oldest first: no position at or past the first is committed. */
  writing: number[];
}

/** Files encoded or stored at once in the background, per column thread; closing one more waits for a slot. */
const MAX_WRITES_PER_THREAD = 2;
const RETRY_MAX_MS = 30_000;
/** Files stored this recently are checked again when an erasure arrives (it may have been recorded before they were stored). */
const RECENT_FILES_MS = 5 * 60_000;
const RECENT_FILES_MAX = 10_000;
/**
 * …that long after it arrives: the erase that recorded it rewrites the
 * archive itself meanwhile (and counts what it did); this only catches a
 * file stored after that erase listed the archive.
 */
const RECHECK_DELAY_MS = 30_000;

/** Loaded only when an erasure has to be applied to a file (parquet-wasm is otherwise used on the column threads only). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy loading, typed by the import above
const parquetErase = (): typeof ParquetEraseModule => require('./parquet-erase') as typeof ParquetEraseModule;

interface RollerMetrics {
  files: Counter<'reason'>;
  rows: Counter;
  bytes: Counter;
  writeSeconds: Histogram;
}

function rollerMetrics(registry: Registry): RollerMetrics {
  return {
    files: new PromCounter({
      name: 'llm_logger_roller_files_total',
      help: 'Parquet files written, by why they were closed (hour, records, bytes, idle, shutdown).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    rows: new PromCounter({ name: 'llm_logger_roller_rows_total', help: 'Rows written to Parquet files.', registers: [registry] }),
    bytes: new PromCounter({ name: 'llm_logger_roller_bytes_total', help: 'Parquet bytes written.', registers: [registry] }),
    writeSeconds: new PromHistogram({
      name: 'llm_logger_roller_file_write_seconds',
      help: 'Encode and store one file.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
}

export type CloseReason = 'hour' | 'records' | 'bytes' | 'idle' | 'shutdown';

export interface RollerOptions {
  topic: TopicName;
  store: ObjectStore;
  limits: RotationLimits;
  registry: Registry;
  logger: Logger;
  now?: () => number;
  /** Worker threads that build the files' columns and encode them (default 2). */
  threads?: number;
  /** How long and how many ingested event ids are remembered per partition, to drop copies. */
  dedupe: SeenIdsLimits;
  /** Erased users: their bodies never reach a file, even when the erasure arrives while the records are buffered. */
  erasures?: ErasureList;
  /** How long after an erasure arrives the files stored just before are checked again (default 30 s). */
  recheckDelayMs?: number;
}

/**
 * Buffers each partition's open file and writes it when the rotation core
 * says so. Write then commit: a file is stored (atomically, durably) before
 * the offsets it covers are committed, so a crash can only make the next run
 * write the same file again under the same name. The files' columns are
 * built and encoded on worker threads (column-threads.ts); this thread keeps
 * the rotation and commit bookkeeping. A closed file is encoded and stored
 * in the background while the next records are read; until it is stored, the
 * positions handed out stop at its first offset, and a failed write is
 * retried (backing off up to 30 s) rather than skipped. A copy of an
 * ingested event the partition has seen is dropped (ingest-dedupe.ts).
 */
export class Roller {
  private readonly partitions = new Map<number, PartitionState>();
  private readonly metrics: RollerMetrics;
  private readonly now: () => number;
  private maxEventTimeMs = 0;
  /** Serialises batches, idle flushes and shutdown: they touch the same files. */
  private lock: Promise<unknown> = Promise.resolve();
  private readonly writes = new Set<Promise<void>>();
  /** A background write finished since positions were last handed out. */
  private stored = false;
  /** Shutting down: a failed write is given up (its offsets stay uncommitted) instead of retried. */
  private stopping = false;
  private readonly columns: ColumnThreads;
  private readonly maxWrites: number;
  /** Writes waiting to retry: shutdown wakes them for a last attempt. */
  private readonly sleeping = new Set<() => void>();
  private readonly dedupe: RollerDedupe;
  /** Files stored in the last few minutes, oldest first, for erasures that arrive late. */
  private readonly recent: { key: string; at: number }[] = [];
  private readonly stopErasures: () => void;
  private rechecks: Promise<void> = Promise.resolve();
  /** Rechecks waiting for their delay: close() runs them at once. */
  private readonly delayed = new Set<() => void>();

  constructor(private readonly options: RollerOptions) {
    this.metrics = rollerMetrics(options.registry);
    this.dedupe = new RollerDedupe(options.store, options.topic, options.dedupe, dedupeMetrics(options.registry), options.logger);
    this.now = options.now ?? Date.now;
    const threads = options.threads ?? 2;
    this.columns = new ColumnThreads(threads);
    this.maxWrites = MAX_WRITES_PER_THREAD * threads;
    this.stopErasures = options.erasures?.onChange((e) => this.recheckRecent(e)) ?? (() => undefined);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * The consumer handler: returns the positions that are safe to commit.
   * `erasureGen`: the erasure generation the batch's records were checked
   * against when they were read (a file is checked again if a newer one exists when it is stored).
   */
  handle(batch: Decoded<ArchiveRow>[], erasureGen = this.options.erasures?.generation ?? 0): Promise<CommitPositions> {
    return this.exclusive(async () => {
      for (const { record, value } of batch) {
        let state = this.partitions.get(record.partition);
        if (!state) {
          // The first record of a partition taken up is at its committed offset: the ids remembered there.
          await this.dedupe.restore(record.partition, record.offset);
          state = { open: null, next: null, lastRecordAtMs: 0, writing: [] };
          this.partitions.set(record.partition, state);
        }
        const eventTimeMs = value.endedAt;
        const incoming = { offset: record.offset, eventTimeMs, bytes: record.value.length };
        // A full file whose write failed (the batch is being delivered again) is written before anything joins it.
        if (incoming.offset >= (state.next ?? 0)) await this.closeIfFull(record.partition, state);
        const placement = place(state.open, state.next, incoming);
        if (placement.action === 'skip') continue;
        const ingested = record.key === null ? null : ingestedAt(record.headers);
        if (ingested !== null && this.dedupe.isCopy(record.partition, record.key!)) {
          // Handled, in no file: committed with the records around it.
          state.next = record.offset + 1;
          state.lastRecordAtMs = this.now();
          continue;
        }
        if (placement.action === 'append') {
          appendRecord(state.open!, incoming);
          state.open!.erasureGen = Math.min(state.open!.erasureGen, erasureGen);
        } else {
          if (placement.action === 'rotate') await this.closeFile(record.partition, state, 'hour');
          state.open = { ...openFile(placement.bucket, incoming), rows: this.columns.open(record.partition), erasureGen };
        }
        if (ingested !== null) this.dedupe.admit(record.partition, record.key!, ingested);
        this.columns.append(state.open!.rows, value.body, value.start, record.offset);
        state.next = record.offset + 1;
        state.lastRecordAtMs = this.now();
        if (eventTimeMs > this.maxEventTimeMs) this.maxEventTimeMs = eventTimeMs;
        await this.closeIfFull(record.partition, state);
      }
      this.columns.flush();
      return this.positions();
    });
  }

  /** Per partition: the first offset of the oldest file not stored yet, or past the last record when none. */
  positions(): Map<number, number> {
    this.stored = false;
    const out = new Map<number, number>();
    for (const [p, s] of this.partitions) {
      const at = s.writing[0] ?? (s.open ? s.open.firstOffset : s.next);
      if (at !== null) out.set(p, at);
    }
    return out;
  }

  /**
   * Closes files whose hour is over once their partition was quiet for the
   * idle time; returns the positions to commit, or null when nothing closed.
   */
  flushIdle(): Promise<CommitPositions | null> {
    return this.exclusive(async () => {
      let closed = false;
      const times = { nowMs: this.now(), maxEventTimeMs: this.maxEventTimeMs };
      for (const [p, s] of this.partitions) {
        if (s.open && isIdleDue(s.open, this.options.limits, { ...times, lastRecordAtMs: s.lastRecordAtMs })) {
          await this.closeFile(p, s, 'idle');
          closed = true;
        }
      }
      // Also when a background write finished: a quiet partition has no next batch to commit it.
      return closed || this.stored ? this.positions() : null;
    });
  }

  /** Writes every open file and waits for all writes (graceful stop); returns the positions to commit. */
  flushAll(): Promise<CommitPositions> {
    return this.exclusive(async () => {
      this.stopping = true;
      for (const wake of [...this.sleeping]) wake();
      for (const [p, s] of this.partitions) if (s.open) await this.closeFile(p, s, 'shutdown');
      await this.drain();
      return this.positions();
    });
  }

  /** Waits until the files closed so far are stored (or given up at shutdown). */
  async drain(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  /** Offsets were committed: the ids no file before them needs any more can go. */
  committed(positions: CommitPositions): Promise<void> {
    return this.dedupe.collect(positions);
  }

  /** Stops the column threads (after flushAll), once the rechecks and the ids being deleted are done. */
  async close(): Promise<void> {
    this.stopErasures();
    for (const run of [...this.delayed]) run();
    await this.rechecks;
    await this.dedupe.settled();
    await this.columns.close();
  }

  /**
   * A rebalance took these partitions away: forget their open files (not
   * written, not committed); their next owner reads them again from the
   * committed offset and writes the same files.
   */
  revoke(partitions: number[]): Promise<void> {
    return this.exclusive(() => {
      for (const p of partitions) {
        const open = this.partitions.get(p)?.open;
        const dropped = open?.records ?? 0;
        if (open) this.columns.drop(open.rows);
        this.partitions.delete(p);
        this.dedupe.drop(p);
        if (dropped > 0) this.options.logger.info({ partition: p, dropped }, 'partition revoked: its open file is left to the next owner');
      }
      return Promise.resolve();
    });
  }

  /** Rows buffered in open files. */
  bufferedRows(): number {
    let n = 0;
    for (const s of this.partitions.values()) n += s.open?.records ?? 0;
    return n;
  }

  private async closeIfFull(partition: number, state: PartitionState): Promise<void> {
    if (!state.open || !isFull(state.open, this.options.limits)) return;
    await this.closeFile(partition, state, state.open.records >= this.options.limits.maxRecords ? 'records' : 'bytes');
  }

  private async closeFile(partition: number, state: PartitionState, reason: CloseReason): Promise<void> {
    const open = state.open!;
    state.open = null;
    const key = fileKey(this.options.topic, partition, open.firstOffset, open.bucket);
    const metadata = new Map([
      ['llm_logger.layout_version', String(PARQUET_LAYOUT_VERSION)],
      ['llm_logger.event_schema_version', String(INFERENCE_EVENT_SCHEMA_VERSION)],
      ['llm_logger.topic', this.options.topic],
      ['llm_logger.partition', String(partition)],
      ['llm_logger.first_offset', String(open.firstOffset)],
      ['llm_logger.last_offset', String(open.lastOffset)],
      ['llm_logger.rows', String(open.records)],
    ]);
    state.writing.push(open.firstOffset);
    const ids = this.dedupe.seal(partition, open.firstOffset);
    const write = this.write(key, open.rows, metadata, open.records, reason, ids, open.erasureGen).then(() => {
      state.writing.splice(state.writing.indexOf(open.firstOffset), 1);
      this.stored = true;
    });
    this.writes.add(write);
    void write.catch(() => undefined).finally(() => this.writes.delete(write));
    while (this.writes.size > this.maxWrites) await Promise.race([...this.writes].map((w) => w.catch(() => undefined)));
  }

  /**
   * Encodes and stores one file, after the ids of the ingested events it
   * holds, retrying until both are stored (at shutdown, failing instead). An
   * erasure newer than the file's records is applied before the put, and one
   * that arrives during the put makes it store the file again without the
   * erased bodies: an erase that listed the archive before this file was
   * there cannot miss it.
   */
  private async write(
    key: string,
    file: FileColumns,
    metadata: Map<string, string>,
    rows: number,
    reason: CloseReason,
    ids: IdsObject | null,
    erasureGen: number,
  ): Promise<void> {
    const stop = this.metrics.writeSeconds.startTimer();
    let body: Uint8Array | null = null;
    let idsStored = ids === null;
    const checked = { gen: erasureGen };
    for (let attempt = 1; ; attempt++) {
      try {
        if (!idsStored) {
          await this.options.store.put(ids!.key, ids!.body);
          idsStored = true;
        }
        // Encoded once: a failed put retries with the same bytes; a failed encode sends the records to a new thread.
        body ??= await this.columns.encode(file, metadata);
        body = this.applyErasures(key, body, checked);
        await this.options.store.put(key, body);
        while (this.options.erasures && this.options.erasures.generation > checked.gen) {
          const again = this.applyErasures(key, body, checked);
          if (again !== body) await this.options.store.put(key, (body = again));
        }
        this.remember(key);
        stop();
        this.metrics.files.inc({ reason });
        this.metrics.rows.inc(rows);
        this.metrics.bytes.inc(body.length);
        this.options.logger.debug({ key, rows, bytes: body.length, reason }, 'parquet file written');
        return;
      } catch (err) {
        if (this.stopping) throw err;
        const retryInMs = Math.min(RETRY_MAX_MS, 500 * 2 ** attempt);
        this.options.logger.error({ err, key, attempt, retryInMs }, 'parquet file not written; retrying (its offsets stay uncommitted)');
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            this.sleeping.delete(done);
            resolve();
          };
          const timer = setTimeout(done, retryInMs);
          this.sleeping.add(done);
        });
      }
    }
  }

  /** The file without the bodies of erasures newer than `checked.gen` (the same bytes when there are none). */
  private applyErasures(key: string, body: Uint8Array, checked: { gen: number }): Uint8Array {
    const erasures = this.options.erasures;
    if (!erasures || erasures.generation <= checked.gen) return body;
    checked.gen = erasures.generation;
    const stripped = parquetErase().stripParquet(body, (user, startedAt) => erasures.covers(user, startedAt));
    if (!stripped) return body;
    this.options.logger.info({ key, rows: stripped.rows }, 'erased bodies removed from a file before it was stored');
    return stripped.body;
  }

  private remember(key: string): void {
    if (!this.options.erasures) return;
    const now = this.now();
    this.recent.push({ key, at: now });
    while (this.recent.length > RECENT_FILES_MAX || (this.recent[0] && this.recent[0].at < now - RECENT_FILES_MS)) this.recent.shift();
  }

  /**
   * An erasure arrived: files stored in the last few minutes may hold its
   * bodies (it was recorded by another process just before they were
   * stored, and that erase listed the archive before they were there). They
   * are read and, where needed, stored again without them, in the background.
   */
  private recheckRecent(erasure: Erasure): void {
    const keys = [...new Set(this.recent.map((r) => r.key))];
    if (keys.length === 0) return;
    const covers = (user: string | null, startedAt: number): boolean => user === erasure.user && startedAt <= erasure.erased_at;
    const due = new Promise<void>((resolve) => {
      const run = (): void => {
        clearTimeout(timer);
        this.delayed.delete(run);
        resolve();
      };
      const timer = setTimeout(run, this.options.recheckDelayMs ?? RECHECK_DELAY_MS);
      timer.unref();
      this.delayed.add(run);
    });
    this.rechecks = this.rechecks.then(async () => {
      await due;
      for (const key of keys) {
        try {
          const stripped = parquetErase().stripParquet(await this.options.store.get(key), covers);
          if (!stripped) continue;
          await this.options.store.put(key, stripped.body);
          this.options.logger.info({ key, rows: stripped.rows }, 'erased bodies removed from a file stored just before the erasure arrived');
        } catch (err) {
          this.options.logger.error({ err, key }, 'could not check a recent file against an erasure: run llm-logger erase again');
        }
      }
    });
  }
}
