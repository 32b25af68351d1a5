import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditDocument } from '../core/audit-document';
import { hasText, markFragment, type SearchHit, type SearchPage, type SearchQuery } from '../core/search-query';
import type { ErasedDocuments, Rejection, SearchIndex } from '../search-index';

export function embeddedIndexPath(dataDir: string): string {
  return join(dataDir, 'index', 'audit.db');
}

const OPEN = '\u0002';
const CLOSE = '\u0003';
const DAY_MS = 86_400_000;

/** FTS5 query for the parsed terms and phrases: every one must match, in any text column. */
export function ftsMatchExpression(q: SearchQuery): string {
  const quote = (tokens: string[]): string => `"${tokens.join(' ').replace(/"/g, '""')}"`;
  return [...q.terms.map((t) => quote([t])), ...q.phrases.map(quote)].join(' AND ');
}

interface Row {
  doc: string;
  p: string | null;
  r: string | null;
  e: string | null;
}

/**
 * The embedded audit index: SQLite FTS5 next to the embedded log, so
 * `npm start` has audit search with no Elasticsearch. The `unicode61`
 * tokenizer (diacritics kept) splits text like Elasticsearch's standard
 * analyzer does for ordinary words, so a query means the same on both.
 */
export class SqliteIndex implements SearchIndex {
  readonly kind = 'embedded' as const;
  private readonly db: Database.Database;
  private readonly insertDoc: Database.Statement;
  private readonly insertFts: Database.Statement;

  constructor(
    readonly path: string,
    private readonly retentionDays: number,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('secure_delete = ON'); // freed space zeroed: an erased text leaves no copy behind
    // Tables at open, so a reader (the console) can search before the indexer ever ran.
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS docs (
        rowid INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        ts INTEGER NOT NULL,
        user TEXT, app TEXT, model TEXT, request_model TEXT, response_model TEXT,
        upstream TEXT NOT NULL, status INTEGER, outcome TEXT NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS docs_ts ON docs (ts DESC, event_id DESC);
      CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(prompt, response, error_message, tokenize = 'unicode61 remove_diacritics 0');
    `);
    this.insertDoc = this.db.prepare(
      `INSERT OR IGNORE INTO docs (event_id, ts, user, app, model, request_model, response_model, upstream, status, outcome, doc)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertFts = this.db.prepare('INSERT INTO docs_fts (rowid, prompt, response, error_message) VALUES (?, ?, ?, ?)');
  }

  setup(): Promise<void> {
    return Promise.resolve();
  }

  index(docs: AuditDocument[]): Promise<Rejection[]> {
    const write = this.db.transaction((batch: AuditDocument[]) => {
      for (const d of batch) {
        const { prompt, response, error_message, ...meta } = d;
        const info = this.insertDoc.run(
          d.event_id,
          Date.parse(d['@timestamp']),
          d.user,
          d.app,
          d.model,
          d.request_model,
          d.response_model,
          d.upstream,
          d.status,
          d.outcome,
          JSON.stringify(meta),
        );
        // Already indexed (a redelivery): documents are a function of the event, so it stays.
        if (info.changes === 1) this.insertFts.run(info.lastInsertRowid, prompt, response, error_message);
      }
    });
    write(docs);
    return Promise.resolve([]);
  }

  search(q: SearchQuery): Promise<SearchPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    const text = hasText(q);
    if (text) {
      where.push('docs_fts MATCH ?');
      args.push(ftsMatchExpression(q));
    }
    const eq = (col: string, v: string | null): void => {
      if (v !== null) {
        where.push(`d.${col} = ?`);
        args.push(v);
      }
    };
    eq('user', q.user);
    eq('app', q.app);
    eq('upstream', q.upstream);
    if (q.model !== null) {
      where.push('(d.model = ? OR d.request_model = ? OR d.response_model = ?)');
      args.push(q.model, q.model, q.model);
    }
    if (q.status?.kind === 'code') {
      where.push('d.status = ?');
      args.push(q.status.code);
    } else if (q.status?.kind === 'class') {
      where.push('d.status BETWEEN ? AND ?');
      args.push(q.status.min, q.status.max);
    } else if (q.status?.kind === 'outcome') {
      where.push('d.outcome = ?');
      args.push(q.status.outcome);
    }
    if (q.from !== null) {
      where.push('d.ts >= ?');
      args.push(q.from);
    }
    if (q.to !== null) {
      where.push('d.ts < ?');
      args.push(q.to);
    }
    const from = text ? 'docs_fts JOIN docs d ON d.rowid = docs_fts.rowid' : 'docs d';
    const cond = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const snip = (col: number): string => (text ? `snippet(docs_fts, ${col}, '${OPEN}', '${CLOSE}', '…', 24)` : 'NULL');
    const total = (this.db.prepare(`SELECT count(*) AS n FROM ${from} ${cond}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(
        `SELECT d.doc AS doc, ${snip(0)} AS p, ${snip(1)} AS r, ${snip(2)} AS e FROM ${from} ${cond}
         ORDER BY d.ts DESC, d.event_id DESC LIMIT ? OFFSET ?`,
      )
      .all(...args, q.limit, q.offset) as Row[];
    const frag = (s: string | null): string[] => (s && s.includes(OPEN) ? [markFragment(s, OPEN, CLOSE)] : []);
    const hits: SearchHit[] = rows.map((row) => {
      const d = JSON.parse(row.doc) as Omit<AuditDocument, 'prompt' | 'response' | 'error_message'>;
      return {
        event_id: d.event_id,
        timestamp: d['@timestamp'],
        user: d.user,
        app: d.app,
        model: d.model,
        upstream: d.upstream,
        status: d.status,
        outcome: d.outcome,
        latency_ms: d.latency_ms,
        cost_usd: d.cost_usd,
        highlights: { prompt: frag(row.p), response: frag(row.r), error_message: frag(row.e) },
      };
    });
    return Promise.resolve({ total, limit: q.limit, offset: q.offset, hits });
  }

  eraseBodies(user: string, erasedAtMs: number, dryRun = false): Promise<ErasedDocuments> {
    const docs = this.db
      .prepare<[string, number], { rowid: number; ended_at: string | null; text: number }>(
        `SELECT d.rowid AS rowid, json_extract(d.doc, '$.ended_at') AS ended_at,
           (f.prompt IS NOT NULL OR f.response IS NOT NULL OR f.error_message IS NOT NULL) AS text
         FROM docs d JOIN docs_fts f ON f.rowid = d.rowid WHERE d.user = ? AND d.ts <= ?`,
      )
      .all(user, erasedAtMs);
    const newestEndedAt = docs.length > 0 ? docs.reduce((m, r) => Math.max(m, r.ended_at ? Date.parse(r.ended_at) : 0), 0) : null;
    const rows = docs.filter((r) => r.text === 1);
    if (dryRun || rows.length === 0) return Promise.resolve({ documents: rows.length, newestEndedAt });
    const clear = this.db.prepare('UPDATE docs_fts SET prompt = NULL, response = NULL, error_message = NULL WHERE rowid = ?');
    this.db.transaction(() => {
      for (const r of rows) clear.run(r.rowid);
      // FTS5 keeps a deleted row's terms in its segments until they are merged: merge them all now.
      this.db.prepare("INSERT INTO docs_fts (docs_fts) VALUES ('optimize')").run();
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return Promise.resolve({ documents: rows.length, newestEndedAt });
  }

  expire(nowMs: number): Promise<void> {
    const cutoff = nowMs - this.retentionDays * DAY_MS;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM docs_fts WHERE rowid IN (SELECT rowid FROM docs WHERE ts < ?)').run(cutoff);
      this.db.prepare('DELETE FROM docs WHERE ts < ?').run(cutoff);
    })();
    return Promise.resolve();
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM docs').get() as { n: number }).n;
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
