import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { InferenceEvent } from '../shared/event/inference-event';
import { modelOf, servedModelOf } from '../shared/event/model-identity';
import { hasBodies, stripBodies } from '../shared/erasure/erasure';
import type { RequestQuery } from './request-query';

/**
 * The console's own view of recent calls, filled from the log by its consumer
 * group. Keyed by event id, first write wins: a redelivered record changes
 * nothing, and neither does a later event that reuses an id with other
 * content (a forged or repeated ingest). Nothing legitimate rewrites a row:
 * the store holds only final events of llm.inference.v1 (a call in progress
 * is shown from the live topic, never stored here), and an event is written
 * once per call. It
 * keeps the calls that started within its window (`keepMs`): older ones are
 * not stored, and `prune` deletes those that have aged out.
 */

export interface RequestSummary {
  event_id: string;
  started_at: string;
  ended_at: string;
  upstream: string;
  provider: string;
  endpoint: string;
  /** The model the call asked for (else the one that answered): see modelOf. */
  model: string | null;
  /** The model that answered (the provider's snapshot), null when there was no answer. */
  served_model: string | null;
  streamed: boolean;
  http_status: number | null;
  error_class: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  usage_source: string;
  cost_usd: number | null;
  user: string | null;
  app: string | null;
  session: string | null;
  trace_id: string | null;
  tags: Record<string, string>;
  client_cancelled: boolean;
  body_captured: boolean;
  /** The answer's first characters (null when bodies were not captured). */
  response_preview: string | null;
}

const PREVIEW_CHARS = 300;

/**
 * Version of the table's layout (SQLite `user_version`). 1: `model` is the
 * model the call asked for (modelOf) and `served_model` the one that answered;
 * before, `model` held the answered one. Opening an older view migrates it.
 */
const LAYOUT_VERSION = 1;

interface Row {
  event_json: string;
}

export class RequestsStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly byId: Database.Statement<[string], Row>;

  private readonly deleteOld: Database.Statement<[number, number]>;

  constructor(
    path: string,
    private readonly keepMs: number = Number.POSITIVE_INFINITY,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // `llm-logger erase` may write to the view from another process.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('secure_delete = ON'); // freed space zeroed: an erased body leaves no copy behind
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS requests (
        event_id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, upstream TEXT NOT NULL, model TEXT,
        user TEXT, app TEXT, http_status INTEGER, error_class TEXT, event_json TEXT NOT NULL, served_model TEXT);
      CREATE INDEX IF NOT EXISTS requests_time ON requests (started_at DESC, event_id DESC);
      CREATE INDEX IF NOT EXISTS requests_user ON requests (user, started_at DESC);
      CREATE INDEX IF NOT EXISTS requests_app ON requests (app, started_at DESC);
      CREATE INDEX IF NOT EXISTS requests_model ON requests (model, started_at DESC);
    `);
    this.migrate();
    this.db.exec('CREATE INDEX IF NOT EXISTS requests_served_model ON requests (served_model, started_at DESC)');
    this.insert = this.db.prepare(`INSERT INTO requests (event_id, started_at, upstream, model, served_model, user, app, http_status, error_class, event_json)
      VALUES (@event_id, @started_at, @upstream, @model, @served_model, @user, @app, @http_status, @error_class, @event_json)
      ON CONFLICT (event_id) DO NOTHING`);
    this.byId = this.db.prepare('SELECT event_json FROM requests WHERE event_id = ?');
    this.deleteOld = this.db.prepare(
      'DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests WHERE started_at < ? ORDER BY started_at LIMIT ?)',
    );
  }

  /**
   * Brings a view written by an older console to LAYOUT_VERSION: adds the
   * `served_model` column and derives both model columns again from the
   * stored events, in one transaction (a crash leaves the old layout, migrated
   * again on the next start). A new, empty view passes through at once.
   */
  private migrate(): void {
    if ((this.db.pragma('user_version', { simple: true }) as number) >= LAYOUT_VERSION) return;
    this.db.transaction(() => {
      const columns = (this.db.pragma('table_info(requests)') as { name: string }[]).map((c) => c.name);
      if (!columns.includes('served_model')) this.db.exec('ALTER TABLE requests ADD COLUMN served_model TEXT');
      this.db.exec(`UPDATE requests SET
        model = COALESCE(json_extract(event_json, '$.request_model'), json_extract(event_json, '$.response_model')),
        served_model = json_extract(event_json, '$.response_model')`);
      this.db.pragma(`user_version = ${LAYOUT_VERSION}`);
    })();
  }

  /** Calls that started before this are not kept. */
  cutoff(now: number): number {
    return now - this.keepMs;
  }

  put(events: InferenceEvent[], now = Date.now()): void {
    const cutoff = this.cutoff(now);
    this.db.transaction(() => {
      for (const e of events) {
        if (e.started_at < cutoff) continue;
        this.insert.run({
          event_id: e.event_id,
          started_at: e.started_at,
          upstream: e.upstream,
          model: modelOf(e),
          served_model: servedModelOf(e),
          user: e.user,
          app: e.app,
          http_status: e.http_status,
          error_class: e.error_class,
          event_json: JSON.stringify(e),
        });
      }
    })();
  }

  /**
   * Deletes the calls that started before the window, a chunk per
   * transaction so that readers are not held up; answers how many.
   */
  prune(now = Date.now(), chunk = 5_000): number {
    const cutoff = this.cutoff(now);
    let total = 0;
    for (;;) {
      const { changes } = this.deleteOld.run(cutoff, chunk);
      total += changes;
      if (changes < chunk) return total;
    }
  }

  /**
   * Removes the bodies of a user's calls that started at or before
   * `erasedAtMs` (llm-logger erase), keeping the rest of each event. The old
   * text is overwritten (secure_delete) and the WAL checkpointed. With
   * `dryRun`, only counts. Answers the calls that held bodies, and the
   * newest end among all the user's calls it covers.
   */
  eraseBodies(user: string, erasedAtMs: number, dryRun = false): { rows: number; newestEndedAt: number | null } {
    const calls = this.db
      .prepare<[string, number], { event_id: string; event_json: string }>('SELECT event_id, event_json FROM requests WHERE user = ? AND started_at <= ?')
      .all(user, erasedAtMs)
      .map((r) => ({ id: r.event_id, event: JSON.parse(r.event_json) as InferenceEvent }));
    // The newest of the user's calls, erased before or not: when the log's copies of them age out.
    const newestEndedAt = calls.length > 0 ? calls.reduce((m, r) => Math.max(m, r.event.ended_at), 0) : null;
    const rows = calls.filter((r) => hasBodies(r.event));
    if (dryRun || rows.length === 0) return { rows: rows.length, newestEndedAt };
    const update = this.db.prepare('UPDATE requests SET event_json = ? WHERE event_id = ?');
    this.db.transaction(() => {
      for (const r of rows) update.run(JSON.stringify(stripBodies(r.event)), r.id);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return { rows: rows.length, newestEndedAt };
  }

  get(eventId: string): InferenceEvent | null {
    const row = this.byId.get(eventId);
    return row ? (JSON.parse(row.event_json) as InferenceEvent) : null;
  }

  list(q: RequestQuery): RequestSummary[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const eq = (column: string, value: string | null): void => {
      if (value !== null) {
        where.push(`${column} = ?`);
        args.push(value);
      }
    };
    eq('user', q.user);
    eq('app', q.app);
    eq('model', q.model);
    eq('served_model', q.servedModel);
    eq('upstream', q.upstream);
    if (q.status !== null) {
      // The outcomes as outcomeOf decides them (client_cancelled is read from the stored event).
      const cancelled = "COALESCE(json_extract(event_json, '$.client_cancelled'), 0) = 1";
      const failed = '(error_class IS NOT NULL OR COALESCE(http_status, 0) >= 400)';
      if (q.status.kind === 'code') {
        where.push('http_status = ?');
        args.push(q.status.code);
      } else if (q.status.kind === 'class') {
        where.push('http_status BETWEEN ? AND ?');
        args.push(q.status.min, q.status.max);
      } else if (q.status.outcome === 'cancelled') {
        where.push(cancelled);
      } else {
        where.push(`NOT ${cancelled}`, q.status.outcome === 'error' ? failed : `NOT ${failed}`);
      }
    }
    if (q.from !== null) {
      where.push('started_at >= ?');
      args.push(q.from);
    }
    if (q.to !== null) {
      where.push('started_at < ?');
      args.push(q.to);
    }
    if (q.before !== null) {
      where.push('(started_at < ? OR (started_at = ? AND event_id < ?))');
      args.push(q.before.startedAt, q.before.startedAt, q.before.eventId);
    }
    const sql = `SELECT event_json FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY started_at DESC, event_id DESC LIMIT ?`;
    const rows = this.db.prepare<(string | number)[], Row>(sql).all(...args, q.limit);
    return rows.map((r) => summarize(JSON.parse(r.event_json) as InferenceEvent));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

export function summarize(e: InferenceEvent): RequestSummary {
  return {
    event_id: e.event_id,
    started_at: new Date(e.started_at).toISOString(),
    ended_at: new Date(e.ended_at).toISOString(),
    upstream: e.upstream,
    provider: e.provider,
    endpoint: e.endpoint,
    model: modelOf(e),
    served_model: servedModelOf(e),
    streamed: e.streamed,
    http_status: e.http_status,
    error_class: e.error_class,
    latency_ms: e.latency_ms,
    ttft_ms: e.ttft_ms,
    input_tokens: e.usage.input_tokens,
    output_tokens: e.usage.output_tokens,
    usage_source: e.usage.source,
    cost_usd: e.cost_micro_usd === null ? null : e.cost_micro_usd / 1_000_000,
    user: e.user,
    app: e.app,
    session: e.session,
    trace_id: e.trace_id,
    tags: e.tags,
    client_cancelled: e.client_cancelled,
    body_captured: e.body_captured,
    response_preview: e.response_text === null ? null : e.response_text.slice(0, PREVIEW_CHARS),
  };
}
