import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Console sign-in sessions, in `<data dir>/console/sessions.db`. A browser
 * exchanges its token once for a random session id (32 bytes) in an
 * HttpOnly cookie; the store keeps only the id's SHA-256 (a copy of the file
 * opens no session) and which token the session came from, so that the
 * token's role is read from the configuration on every request and a token
 * taken out of it ends its sessions. Sessions survive a console restart,
 * end at their expiry, and are revoked by sign-out or by an admin.
 */

export interface SessionRow {
  /** Public handle (a prefix of the id's digest): what admins list and revoke. */
  handle: string;
  /** SHA-256 (hex) of the token the session was opened with. */
  credential: string;
  name: string;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  ip: string;
  userAgent: string | null;
}

interface DbRow {
  handle: string;
  credential: string;
  name: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  ip: string;
  user_agent: string | null;
}

/** Last-seen times are written at most this often per session (a write per request would be waste). */
const TOUCH_EVERY_MS = 60_000;

const idDigest = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

const toRow = (r: DbRow): SessionRow => ({
  handle: r.handle,
  credential: r.credential,
  name: r.name,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastSeenAt: r.last_seen_at,
  ip: r.ip,
  userAgent: r.user_agent,
});

export class SessionStore {
  private readonly db: Database.Database;

  constructor(
    path: string,
    private readonly now: () => number = Date.now,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        id_digest TEXT PRIMARY KEY, handle TEXT NOT NULL UNIQUE, credential TEXT NOT NULL, name TEXT NOT NULL,
        created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,
        ip TEXT NOT NULL, user_agent TEXT);
      CREATE INDEX IF NOT EXISTS sessions_name ON sessions (name);
    `);
  }

  /** Opens a session; the secret goes to the cookie and is not kept. */
  create(credential: string, name: string, ttlMs: number, client: { ip: string; userAgent: string | null }): { secret: string; session: SessionRow } {
    const secret = randomBytes(32).toString('base64url');
    const digest = idDigest(secret);
    const now = this.now();
    const row: DbRow = {
      handle: digest.slice(0, 16),
      credential,
      name,
      created_at: now,
      expires_at: now + ttlMs,
      last_seen_at: now,
      ip: client.ip,
      user_agent: client.userAgent,
    };
    this.db
      .prepare(
        `INSERT INTO sessions (id_digest, handle, credential, name, created_at, expires_at, last_seen_at, ip, user_agent)
         VALUES (@id_digest, @handle, @credential, @name, @created_at, @expires_at, @last_seen_at, @ip, @user_agent)`,
      )
      .run({ ...row, id_digest: digest });
    return { secret, session: toRow(row) };
  }

  /** The live session of a cookie's secret, or null (unknown, revoked or expired: an expired one is deleted). */
  lookup(secret: string): SessionRow | null {
    const digest = idDigest(secret);
    const row = this.db.prepare<[string], DbRow>('SELECT * FROM sessions WHERE id_digest = ?').get(digest);
    if (!row) return null;
    const now = this.now();
    if (row.expires_at <= now) {
      this.db.prepare('DELETE FROM sessions WHERE id_digest = ?').run(digest);
      return null;
    }
    if (now - row.last_seen_at >= TOUCH_EVERY_MS) {
      this.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_digest = ?').run(now, digest);
      row.last_seen_at = now;
    }
    return toRow(row);
  }

  /** Sign-out: ends the session of this secret. */
  revokeSecret(secret: string): boolean {
    return this.db.prepare('DELETE FROM sessions WHERE id_digest = ?').run(idDigest(secret)).changes > 0;
  }

  revokeHandle(handle: string): boolean {
    return this.db.prepare('DELETE FROM sessions WHERE handle = ?').run(handle).changes > 0;
  }

  revokeName(name: string): number {
    return this.db.prepare('DELETE FROM sessions WHERE name = ?').run(name).changes;
  }

  /** Ends the sessions of a token (it was removed from the configuration). */
  revokeCredential(credential: string): number {
    return this.db.prepare('DELETE FROM sessions WHERE credential = ?').run(credential).changes;
  }

  /** Deletes expired sessions and those of tokens no longer configured; answers how many. */
  retain(configured: ReadonlySet<string>): number {
    const now = this.now();
    let n = this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes;
    for (const { credential } of this.db.prepare<[], { credential: string }>('SELECT DISTINCT credential FROM sessions').all()) {
      if (!configured.has(credential)) n += this.revokeCredential(credential);
    }
    return n;
  }

  /** Live sessions, newest first. */
  list(): SessionRow[] {
    return this.db
      .prepare<[number], DbRow>('SELECT * FROM sessions WHERE expires_at > ? ORDER BY created_at DESC, handle')
      .all(this.now())
      .map(toRow);
  }

  close(): void {
    this.db.close();
  }
}
