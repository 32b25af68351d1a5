import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { TopicName } from '../../../../topology/topics';
import type { ProducerRecord } from '../event-log';

/**
 * A bounded, durable FIFO of records waiting for the log (Kafka) to come
 * back. Records keep their order; a batch is removed only after the log
 * acknowledged it. Survives kill -9 (SQLite WAL).
 */

export interface SpooledRecord {
  seq: number;
  topic: TopicName;
  record: ProducerRecord;
}

interface Row {
  seq: number;
  topic: string;
  key: string | null;
  value: Buffer;
  headers: string | null;
  ts: number;
  by_key: number;
}

export class DiskSpool {
  private readonly db: Database.Database;
  private bytesUsed: number;
  private count: number;
  private readonly insert: Database.Statement;
  private readonly head: Database.Statement<[number], Row>;
  private readonly remove: Database.Statement<[number]>;

  constructor(
    path: string,
    /** Refuses new records beyond this many bytes of values. */
    readonly maxBytes: number,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS spool (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT, value BLOB NOT NULL, headers TEXT, ts INTEGER NOT NULL,
      by_key INTEGER NOT NULL DEFAULT 0)`);
    // A spool written before records could be placed by key (ingested events) gets the column; its records were not.
    const columns = this.db.prepare('SELECT name FROM pragma_table_info(\'spool\')').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'by_key')) this.db.exec('ALTER TABLE spool ADD COLUMN by_key INTEGER NOT NULL DEFAULT 0');
    const totals = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(value)), 0) AS bytes FROM spool').get() as {
      n: number;
      bytes: number;
    };
    this.count = totals.n;
    this.bytesUsed = totals.bytes;
    this.insert = this.db.prepare('INSERT INTO spool (topic, key, value, headers, ts, by_key) VALUES (?, ?, ?, ?, ?, ?)');
    this.head = this.db.prepare('SELECT seq, topic, key, value, headers, ts, by_key FROM spool ORDER BY seq LIMIT ?');
    this.remove = this.db.prepare('DELETE FROM spool WHERE seq <= ?');
  }

  get depth(): number {
    return this.count;
  }

  get bytes(): number {
    return this.bytesUsed;
  }

  /**
   * Appends records in order, durably. Returns how many fitted: the rest
   * (from the first that did not fit) were not spooled.
   */
  append(topic: TopicName, records: ProducerRecord[]): number {
    let fitted = 0;
    let added = 0;
    for (const r of records) {
      if (this.bytesUsed + added + r.value.length > this.maxBytes) break;
      added += r.value.length;
      fitted++;
    }
    if (fitted === 0) return 0;
    this.db.transaction(() => {
      for (let i = 0; i < fitted; i++) {
        const r = records[i]!;
        this.insert.run(topic, r.key, r.value, r.headers ? JSON.stringify(r.headers) : null, r.timestamp ?? Date.now(), r.partitionByKey ? 1 : 0);
      }
    })();
    this.bytesUsed += added;
    this.count += fitted;
    return fitted;
  }

  /** The oldest records, in order. */
  peek(limit: number): SpooledRecord[] {
    return this.head.all(limit).map((row) => ({
      seq: row.seq,
      topic: row.topic as TopicName,
      record: {
        key: row.key,
        value: row.value,
        headers: row.headers ? (JSON.parse(row.headers) as Record<string, string>) : undefined,
        timestamp: row.ts,
        ...(row.by_key ? { partitionByKey: true } : {}),
      },
    }));
  }

  /** Forgets every record up to and including `seq` (they reached the log). */
  ack(records: SpooledRecord[]): void {
    const last = records[records.length - 1];
    if (!last) return;
    this.remove.run(last.seq);
    this.count -= records.length;
    this.bytesUsed -= records.reduce((n, r) => n + r.record.value.length, 0);
  }

  close(): void {
    this.db.close();
  }
}
