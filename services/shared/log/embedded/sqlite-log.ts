import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TOPOLOGY, topicSpec, type TopicName } from '../../../../topology/topics';
import { LlmLoggerError } from '../../errors';
import {
  partitionForKey,
  type BatchHandler,
  type CommitPositions,
  type ConsumedRecord,
  type EventLog,
  type OutputRecord,
  type ProducerRecord,
  type StateEntry,
  type TransactionalOptions,
  type TransactionalProcessor,
  type SchemaRegistry,
  type SubscribeOptions,
  type ConsumerSubscription,
  type Subscription,
} from '../event-log';
import { SqliteSchemaRegistry } from './sqlite-schema-registry';
import { SqliteWriter } from './sqlite-writer';
import { EmbeddedTransactionalSubscription } from './sqlite-transactional';
import { PartitionReader } from './partition-reader';

const COMPACTED: readonly TopicName[] = TOPOLOGY.filter((t) => t.cleanupPolicy !== 'delete').map((t) => t.name);

export interface SqliteLogOptions {
  /** Database file, e.g. `<dataDir>/log/events.db`. */
  path: string;
  /** `normal` survives a process crash (kill -9); `full` also survives power loss. */
  sync: 'normal' | 'full';
  /** Commit on a separate thread (default) or on the event loop. */
  writerThread?: boolean;
  /** How often a subscription looks for records appended by another process. */
  pollIntervalMs?: number;
  /** How often expired records are deleted per topic retention. */
  retentionCheckMs?: number;
  now?: () => number;
}

interface RecordRow {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  value: Buffer;
  headers: string | null;
}

/**
 * The embedded event log: topics, partitions and offsets in one SQLite file
 * in WAL mode. An append is acknowledged once its transaction commits, so an
 * acknowledged record survives kill -9. Several processes may share the file
 * (e.g. `llm-logger gateway` and `llm-logger console` on one machine): offsets
 * are allocated inside the write transaction, never from process memory.
 */
export class SqliteEventLog implements EventLog {
  readonly kind = 'embedded' as const;
  readonly schemaRegistry: SchemaRegistry;
  private readonly db: Database.Database;
  private readonly writer: SqliteWriter;
  private readonly appended = new EventEmitter();
  private readonly pollIntervalMs: number;
  private readonly now: () => number;
  private readonly subscriptions = new Set<Subscription>();
  private readonly retentionTimer: NodeJS.Timeout;
  private roundRobin = 0;
  private closed = false;

  private readonly stmts: {
    read: Database.Statement<[string, number, number, number], RecordRow>;
    committed: Database.Statement<[string, string], { partition: number; next_offset: number }>;
    commit: Database.Statement<[string, string, number, number]>;
    endOffsets: Database.Statement<[string], { partition: number; next_offset: number }>;
  };

  constructor(options: SqliteLogOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    // Records are ~1-3 KB; 8 KiB pages measured cheapest per appended record (applies to a new file).
    this.db.pragma('page_size = 8192');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    // Space given up (a replaced or deleted record, a page freed or split) is zeroed, so that no copy of an
    // erased body stays behind in the file. It costs writes only where pages are freed (retention, compaction).
    this.db.pragma('secure_delete = ON');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS partitions (
        topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
        PRIMARY KEY (topic, partition)) WITHOUT ROWID;
      -- Rows are stored in append order (seq), so a commit touches the last
      -- pages only; the index gives each partition its offset order.
      CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
        ts INTEGER NOT NULL, key TEXT, value BLOB NOT NULL, headers TEXT);
      CREATE UNIQUE INDEX IF NOT EXISTS records_by_offset ON records (topic, partition, offset);
      CREATE TABLE IF NOT EXISTS group_offsets (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID;
      -- State stores of transactional processors (the aggregator), per input partition.
      CREATE TABLE IF NOT EXISTS processor_state (
        group_id TEXT NOT NULL, partition INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
        PRIMARY KEY (group_id, partition, key)) WITHOUT ROWID;
    `);
    // Compacted topics keep only the newest record per key: the index finds the older ones.
    for (const t of COMPACTED) {
      this.db.exec(`CREATE INDEX IF NOT EXISTS "records_by_key_${t}" ON records (partition, key) WHERE topic = '${t}'`);
    }
    const seed = this.db.prepare('INSERT OR IGNORE INTO partitions (topic, partition, next_offset) VALUES (?, ?, 0)');
    this.db.transaction(() => {
      for (const t of TOPOLOGY) for (let p = 0; p < t.partitions; p++) seed.run(t.name, p);
    })();

    this.stmts = {
      read: this.db.prepare(
        'SELECT partition, offset, ts, key, value, headers FROM records WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?',
      ),
      committed: this.db.prepare('SELECT partition, next_offset FROM group_offsets WHERE group_id = ? AND topic = ?'),
      commit: this.db.prepare(
        'INSERT INTO group_offsets (group_id, topic, partition, next_offset) VALUES (?, ?, ?, ?) ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset',
      ),
      endOffsets: this.db.prepare('SELECT partition, next_offset FROM partitions WHERE topic = ?'),
    };
    this.schemaRegistry = new SqliteSchemaRegistry(this.db);
    this.writer = new SqliteWriter(options.path, options.sync, options.writerThread ?? true);
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.now = options.now ?? Date.now;
    this.appended.setMaxListeners(0);
    this.retentionTimer = setInterval(() => this.expireRecords(), options.retentionCheckMs ?? 60_000);
    this.retentionTimer.unref();
  }

  subscribeTransactional(options: TransactionalOptions, processor: TransactionalProcessor): Subscription {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    const sub = new EmbeddedTransactionalSubscription(this, options, processor);
    this.subscriptions.add(sub);
    void sub.done.finally(() => this.subscriptions.delete(sub));
    return sub;
  }

  /** @internal the persisted state of a transactional processor, by partition. */
  readState(groupId: string): Map<number, Map<string, Buffer>> {
    const out = new Map<number, Map<string, Buffer>>();
    const rows = this.db
      .prepare<[string], { partition: number; key: string; value: Buffer }>('SELECT partition, key, value FROM processor_state WHERE group_id = ?')
      .all(groupId);
    for (const r of rows) {
      let m = out.get(r.partition);
      if (!m) out.set(r.partition, (m = new Map()));
      m.set(r.key, r.value);
    }
    return out;
  }

  /**
   * @internal one local transaction: outputs appended, state changed and the
   * input offsets committed together, or none of it.
   */
  commitTransaction(groupId: string, topic: TopicName, positions: Map<number, number>, output: OutputRecord[], state: StateEntry[]): void {
    const db = this.db;
    const now = this.now();
    const next = db.prepare<[string, number], { next_offset: number }>('SELECT next_offset FROM partitions WHERE topic = ? AND partition = ?');
    const bump = db.prepare('UPDATE partitions SET next_offset = next_offset + 1 WHERE topic = ? AND partition = ?');
    const insert = db.prepare('INSERT INTO records (topic, partition, offset, ts, key, value, headers) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const putState = db.prepare(
      'INSERT INTO processor_state (group_id, partition, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (group_id, partition, key) DO UPDATE SET value = excluded.value',
    );
    const delState = db.prepare('DELETE FROM processor_state WHERE group_id = ? AND partition = ? AND key = ?');
    const written = new Set<TopicName>();
    db.transaction(() => {
      for (const r of output) {
        const partition = partitionForKey(r.key, topicSpec(r.topic).partitions, this.roundRobin++);
        if (r.key !== null && COMPACTED.includes(r.topic)) {
          db.prepare(`DELETE FROM records WHERE topic = '${r.topic}' AND partition = ? AND key = ?`).run(partition, r.key);
        }
        const offset = next.get(r.topic, partition)!.next_offset;
        insert.run(r.topic, partition, offset, r.timestamp ?? now, r.key, r.value, r.headers ? JSON.stringify(r.headers) : null);
        bump.run(r.topic, partition);
        written.add(r.topic);
      }
      for (const e of state) {
        if (e.value) putState.run(groupId, e.partition, e.key, e.value);
        else delState.run(groupId, e.partition, e.key);
      }
      for (const [p, n] of positions) this.stmts.commit.run(groupId, topic, p, n);
    })();
    for (const t of written) this.appended.emit(t);
  }

  append(topic: TopicName, records: ProducerRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new LlmLoggerError('LOG_CLOSED', 'the event log is closed'));
    if (records.length === 0) return Promise.resolve();
    const spec = topicSpec(topic);
    const now = this.now();
    // As on Kafka: a 'batch'-partitioned topic takes the whole batch on one partition, the next batch on the next
    // (records placed by key excepted).
    const one = spec.partitioning === 'batch' ? this.roundRobin++ % spec.partitions : null;
    const batch = {
      topic,
      partitions: records.map((r) => (one !== null && !r.partitionByKey ? one : partitionForKey(r.key, spec.partitions, this.roundRobin++))),
      keys: records.map((r) => r.key),
      timestamps: records.map((r) => r.timestamp ?? now),
      headers: records.map((r) => (r.headers ? JSON.stringify(r.headers) : null)),
      values: records.map((r) => r.value),
    };
    return this.writer.append(batch).then(() => {
      this.appended.emit(topic);
    });
  }

  subscribe(options: SubscribeOptions, handler: BatchHandler): ConsumerSubscription {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    const sub = new EmbeddedSubscription(this, options, handler);
    this.subscriptions.add(sub);
    void sub.done.finally(() => this.subscriptions.delete(sub));
    return sub;
  }

  /** @internal used by subscriptions */
  readPartition(topic: TopicName, partition: number, from: number, limit: number): ConsumedRecord[] {
    return this.stmts.read.all(topic, partition, from, limit).map((row) => ({
      topic,
      partition: row.partition,
      offset: row.offset,
      key: row.key,
      value: row.value,
      headers: row.headers ? (JSON.parse(row.headers) as Record<string, string>) : {},
      timestamp: row.ts,
    }));
  }

  /** @internal */
  committedOffsets(groupId: string, topic: TopicName): Map<number, number> {
    return new Map(this.stmts.committed.all(groupId, topic).map((r) => [r.partition, r.next_offset]));
  }

  /**
   * Replaces records' values in place, keeping their topic, partition,
   * offset, timestamp, key and headers (erasure: `llm-logger erase`).
   * SQLite's secure_delete overwrites the old bytes with zeros instead of
   * leaving them in free pages; `checkpoint()` then clears the WAL copies.
   * Answers how many records were found and replaced.
   */
  replaceValues(topic: TopicName, updates: readonly { partition: number; offset: number; value: Buffer }[]): number {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    const update = this.db.prepare('UPDATE records SET value = ? WHERE topic = ? AND partition = ? AND offset = ?');
    return this.db.transaction(() => updates.reduce((n, u) => n + update.run(u.value, topic, u.partition, u.offset).changes, 0)).immediate();
  }

  /**
   * Copies the WAL into the database file and truncates it, so that the
   * pages replaced before are gone from both. Waits for readers (up to the
   * busy timeout); false when one still held an older snapshot.
   */
  checkpoint(): boolean {
    const [row] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return row?.busy === 0;
  }

  /** Next offset to be written, per partition. */
  endOffsets(topic: TopicName): Map<number, number> {
    return new Map(this.stmts.endOffsets.all(topic).map((r) => [r.partition, r.next_offset]));
  }

  async resetGroup(groupId: string, topic: TopicName, from?: number): Promise<void> {
    if (this.closed) throw new LlmLoggerError('LOG_CLOSED', 'the event log is closed');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM group_offsets WHERE group_id = ? AND topic = ?').run(groupId, topic);
      if (from === undefined) return;
      for (const [p, next] of this.offsetsFrom(topic, from)) this.stmts.commit.run(groupId, topic, p, next);
    })();
  }

  /** @internal each partition's first record at or after `from` (its end when it has none), or its first record. */
  offsetsFrom(topic: TopicName, from: number | undefined): Map<number, number> {
    if (from === undefined) return new Map([...this.endOffsets(topic).keys()].map((p) => [p, 0]));
    const rows = this.db
      .prepare<[number, string], { partition: number; next_offset: number }>(
        `SELECT p.partition, COALESCE(
           (SELECT MIN(r.offset) FROM records r WHERE r.topic = p.topic AND r.partition = p.partition AND r.ts >= ?), p.next_offset) AS next_offset
         FROM partitions p WHERE p.topic = ?`,
      )
      .all(from, topic);
    return new Map(rows.map((r) => [r.partition, r.next_offset]));
  }

  /** @internal */
  commitOffsets(groupId: string, topic: TopicName, positions: CommitPositions): void {
    this.db.transaction(() => {
      for (const [p, next] of positions) this.stmts.commit.run(groupId, topic, p, next);
    })();
  }

  /** @internal resolves on the next append to `topic` in this process, or after the poll interval. */
  waitForAppend(topic: TopicName, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.appended.off(topic, done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.pollIntervalMs);
      this.appended.once(topic, done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private expireRecords(): void {
    if (this.closed) return;
    const requests = TOPOLOGY.filter((t) => t.retentionMs > 0).flatMap((t) =>
      Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition, cutoff: this.now() - t.retentionMs })),
    );
    this.writer.expire(requests);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.closed = true;
    clearInterval(this.retentionTimer);
    await this.writer.close();
    this.db.close();
  }
}

class EmbeddedSubscription implements ConsumerSubscription {
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private readonly reader: PartitionReader;
  private readonly positions: Map<number, number>;

  constructor(
    private readonly log: SqliteEventLog,
    private readonly options: SubscribeOptions,
    private readonly handler: BatchHandler,
  ) {
    const { topic, groupId, start } = options;
    this.reader = new PartitionReader(log, topic, options.maxBatch ?? 500);
    this.positions = this.reader.positions;
    let committed = groupId ? log.committedOffsets(groupId, topic) : new Map<number, number>();
    if (options.rewind) {
      // Committed at once, as resetGroup would: a crash before the first batch keeps the rewind.
      committed = log.offsetsFrom(topic, options.rewind.from);
      if (groupId) log.commitOffsets(groupId, topic, committed);
    }
    const end = log.endOffsets(topic);
    for (const [p, next] of end) {
      this.positions.set(p, committed.get(p) ?? (start === 'latest' ? next : 0));
    }
    this.done = this.loop();
  }

  lag(): number {
    return this.reader.lag();
  }

  caughtUp(): boolean {
    return this.reader.lag() === 0;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    let backoffMs = 100;
    while (!signal.aborted) {
      const batch = this.reader.fetch();
      if (batch.length === 0) {
        await this.log.waitForAppend(this.options.topic, signal);
        continue;
      }
      let held: void | CommitPositions;
      try {
        held = await this.handler(batch);
      } catch {
        // The handler's wrapper has already recorded why; redeliver after a pause.
        await sleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 5_000);
        continue;
      }
      backoffMs = 100;
      const moved = new Map<number, number>();
      for (const r of batch) moved.set(r.partition, r.offset + 1);
      for (const [p, next] of moved) this.positions.set(p, next);
      if (this.options.groupId) {
        this.log.commitOffsets(this.options.groupId, this.options.topic, held ?? moved);
        this.options.onCommitted?.(held ?? moved);
      }
    }
  }

  commit(positions: CommitPositions): Promise<void> {
    if (this.options.groupId) {
      this.log.commitOffsets(this.options.groupId, this.options.topic, positions);
      this.options.onCommitted?.(positions);
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
