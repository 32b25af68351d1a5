import type Database from 'better-sqlite3';
import { LlmLoggerError } from '../../errors';
import type { SchemaRegistry } from '../event-log';

/**
 * The embedded log's schema registry: the same contract as a Confluent
 * registry (global ids, one id per distinct schema text per subject), kept in
 * the log's own database so ids stay stable across restarts.
 */
export class SqliteSchemaRegistry implements SchemaRegistry {
  private readonly byId = new Map<number, string>();
  private readonly find: Database.Statement<[string, string], { id: number }>;
  private readonly insert: Database.Statement<[string, string]>;
  private readonly get: Database.Statement<[number], { schema: string }>;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS schemas (
      id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, schema TEXT NOT NULL,
      UNIQUE (subject, schema))`);
    this.find = db.prepare('SELECT id FROM schemas WHERE subject = ? AND schema = ?');
    this.insert = db.prepare('INSERT OR IGNORE INTO schemas (subject, schema) VALUES (?, ?)');
    this.get = db.prepare('SELECT schema FROM schemas WHERE id = ?');
  }

  register(subject: string, schema: string): Promise<number> {
    const id = this.db.transaction(() => {
      this.insert.run(subject, schema);
      return this.find.get(subject, schema)?.id;
    }).immediate();
    if (id === undefined) return Promise.reject(new LlmLoggerError('LOG_UNAVAILABLE', `could not register ${subject}`));
    this.byId.set(id, schema);
    return Promise.resolve(id);
  }

  schemaById(id: number): Promise<string> {
    const cached = this.byId.get(id);
    if (cached !== undefined) return Promise.resolve(cached);
    const row = this.get.get(id);
    if (!row) return Promise.reject(new LlmLoggerError('DECODE_FAILED', `unknown schema id ${id}`));
    this.byId.set(id, row.schema);
    return Promise.resolve(row.schema);
  }
}
