import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AccessQuery } from './access-query';
import type { AccessRecord } from './access-record';

/**
 * The admins' view of the access log, in `<data dir>/console/access-log.db`,
 * filled from `llm.access.v1` by the console's consumer group. Inserts by
 * record id and ignores a record it has (a redelivery changes nothing); keeps
 * what the topic keeps.
 */

interface Row {
  record_json: string;
}

export class AccessLogStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS access_log (
        id TEXT PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, record_json TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS access_log_time ON access_log (at DESC, id DESC);
      CREATE INDEX IF NOT EXISTS access_log_actor ON access_log (actor, at DESC);
      CREATE TABLE IF NOT EXISTS access_log_events (event_id TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (event_id, id)) WITHOUT ROWID;
    `);
    this.insert = this.db.prepare(
      'INSERT INTO access_log (id, at, actor, action, record_json) VALUES (@id, @at, @actor, @action, @record_json) ON CONFLICT (id) DO NOTHING',
    );
  }

  put(records: readonly AccessRecord[]): void {
    const byEvent = this.db.prepare('INSERT OR IGNORE INTO access_log_events (event_id, id) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const r of records) {
        const { changes } = this.insert.run({ id: r.id, at: Date.parse(r.at), actor: r.actor.name, action: r.action, record_json: JSON.stringify(r) });
        if (changes > 0) for (const e of r.event_ids) byEvent.run(e, r.id);
      }
    })();
  }

  list(q: AccessQuery): AccessRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (clause: string, ...values: (string | number)[]): void => {
      where.push(clause);
      args.push(...values);
    };
    if (q.actor !== null) add('actor = ?', q.actor);
    if (q.action !== null) add('action = ?', q.action);
    if (q.eventId !== null) add('id IN (SELECT id FROM access_log_events WHERE event_id = ?)', q.eventId);
    if (q.from !== null) add('at >= ?', q.from);
    if (q.to !== null) add('at < ?', q.to);
    if (q.before !== null) add('(at < ? OR (at = ? AND id < ?))', q.before.at, q.before.at, q.before.id);
    const sql = `SELECT record_json FROM access_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`;
    return this.db
      .prepare<(string | number)[], Row>(sql)
      .all(...args, q.limit)
      .map((r) => JSON.parse(r.record_json) as AccessRecord);
  }

  /** Deletes records older than `cutoff` (epoch ms), as the topic's retention does; answers how many. */
  prune(cutoff: number): number {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM access_log_events WHERE id IN (SELECT id FROM access_log WHERE at < ?)').run(cutoff);
      return this.db.prepare('DELETE FROM access_log WHERE at < ?').run(cutoff).changes;
    })();
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM access_log').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
