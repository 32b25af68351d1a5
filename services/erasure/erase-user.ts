import { TOPICS } from '../../topology/topics';
import type { RequestsStore } from '../console/requests-store';
import type { SearchIndex } from '../indexer/search-index';
import { eraseFromArchive } from '../roller/archive-erase';
import type { ObjectStore } from '../roller/object-store/object-store';
import { dropCachedCopy } from '../roller/query-cache';
import type { Erasure } from '../shared/erasure/erasure';
import { recordErasure } from '../shared/erasure/erasure-follower';
import { SqliteEventLog } from '../shared/log/embedded/sqlite-log';
import type { EventLog } from '../shared/log/event-log';
import type { Logger } from '../shared/observability/logger';
import { eraseFromEmbeddedLog } from './embedded-log-erase';
import { ERASED_FIELD_LIST, kafkaHoldings, type ErasureReport, type StoreOutcome } from './erasure-report';

/**
 * Erases a user's bodies everywhere this process can reach, and says what
 * it did (see erasure-report.ts). The order:
 *
 * 1. the erasure is recorded on llm.erasures.v1 first, so that whatever
 *    happens next, every consumer strips the user's calls that reach it
 *    later (a lagging consumer, a replay, a console rebuilding its view from
 *    Kafka) and erases its own store when it reads the erasure;
 * 2. the embedded log is rewritten in place (Kafka's cannot be: reported);
 * 3. the console view, the calls in flight, the search index;
 * 4. the Parquet archive (each affected file rewritten once, journaled),
 *    with a last listing for files a running roller stored meanwhile.
 *
 * A store that fails does not stop the others; the report says which, and
 * erasing again finishes the job (every step only touches what still holds
 * a body, so a second run changes nothing that the first completed).
 */

export interface EraseTargets {
  log: EventLog;
  /** The console's request view, or null when it is not reachable from here (`viewMissing` says why). */
  view: RequestsStore | null;
  viewMissing?: string;
  /** The console's calls in flight (only inside the console process). */
  hub?: { eraseUser(user: string): number };
  search: SearchIndex | null;
  archive: ObjectStore | null;
  /** Local mirror of an S3 archive (llm-logger query): copies of rewritten files are dropped. */
  queryCacheDir?: string | null;
}

export interface EraseOptions {
  user: string;
  source: 'cli' | 'console';
  logger: Logger;
  now?: () => number;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function eraseUser(t: EraseTargets, o: EraseOptions): Promise<ErasureReport> {
  const erasure: Erasure = { user: o.user, erased_at: (o.now ?? Date.now)(), source: o.source };
  const { user, erased_at: at } = erasure;
  const notes: string[] = [];
  let newest: number | null = null;
  const saw = (endedAt: number | null): void => {
    if (endedAt !== null && endedAt > 0) newest = Math.max(newest ?? 0, endedAt);
  };

  // Counted before the erasure is recorded: in this process the roles act on it as soon as it is.
  let viewBefore = 0;
  let searchBefore = 0;
  try {
    if (t.view) viewBefore = t.view.eraseBodies(user, at, true).rows;
    if (t.search) searchBefore = (await t.search.eraseBodies(user, at, true)).documents;
  } catch {
    // Counted again below, where a failure is reported.
  }

  let recorded = false;
  try {
    await recordErasure(t.log, erasure);
    recorded = true;
  } catch (err) {
    notes.push(`the erasure could not be recorded on ${TOPICS.erasures} (${message(err)}): consumers will not strip records that reach them later`);
  }

  let log: ErasureReport['stores']['log'];
  if (t.log instanceof SqliteEventLog) {
    try {
      const r = await eraseFromEmbeddedLog(t.log, erasure);
      saw(r.newest_ended_at);
      log = { status: 'done', backend: 'embedded', ...r };
    } catch (err) {
      log = { status: 'failed', error: message(err) };
    }
  } else {
    log = { status: 'skipped', reason: 'Kafka records cannot be edited: "kafka" says what its topics still hold and until when' };
  }

  let view: ErasureReport['stores']['console_view'];
  if (t.view) {
    try {
      const r = t.view.eraseBodies(user, at);
      saw(r.newestEndedAt);
      const remaining = t.view.eraseBodies(user, at, true).rows;
      view = { status: 'done', rows: Math.max(viewBefore, r.rows), remaining, live_calls: t.hub ? t.hub.eraseUser(user) : null };
    } catch (err) {
      view = { status: 'failed', error: message(err) };
    }
  } else {
    view = { status: 'skipped', reason: t.viewMissing ?? 'not reachable from here' };
  }

  let search: ErasureReport['stores']['search_index'];
  if (t.search) {
    try {
      const r = await t.search.eraseBodies(user, at);
      saw(r.newestEndedAt);
      const remaining = (await t.search.eraseBodies(user, at, true)).documents;
      search = { status: 'done', backend: t.search.kind, documents: Math.max(searchBefore, r.documents), remaining };
    } catch (err) {
      search = { status: 'failed', error: message(err) };
    }
  } else {
    search = { status: 'skipped', reason: 'no search index configured here' };
  }

  let archive: ErasureReport['stores']['archive'];
  if (t.archive) {
    const cache = t.queryCacheDir ?? null;
    try {
      const r = await eraseFromArchive(t.archive, erasure, {
        logger: o.logger,
        onRewritten: cache ? (key) => dropCachedCopy(cache, key) : undefined,
      });
      saw(r.newest_ended_at);
      archive = { status: 'done', url: t.archive.url, ...r };
    } catch (err) {
      archive = { status: 'failed', error: message(err) };
    }
  } else {
    archive = { status: 'skipped', reason: 'no archive configured here' };
  }

  const stores = { log, console_view: view, search_index: search, archive };
  const failed = (Object.values(stores) as StoreOutcome<object>[]).some((s) => s.status === 'failed');
  const left =
    (view.status === 'done' && view.remaining > 0) ||
    (search.status === 'done' && search.remaining > 0) ||
    (log.status === 'done' && !log.wal_checkpointed);
  const kafka = t.log.kind === 'kafka' ? kafkaHoldings(at, newest) : null;
  if (kafka) {
    notes.push(
      'consumers strip the records of this user that they read from Kafka later (a lagging consumer, a replay, a console rebuilding its view); ' +
        'calls of the user still in flight at the erase end later, and their records age out their retention after that',
    );
  }
  if (view.status === 'done' && (view.live_calls ?? 0) > 0) {
    notes.push(
      `${view.live_calls} calls of the user were in flight: their events are recorded when they end, after this erase; ` +
        'consumers strip their bodies, and erasing again once they ended clears them from the log too',
    );
  }
  if (log.status === 'done' && Object.values(log.pending).some((n) => n > 0)) {
    notes.push('"pending": records a consumer had read but not yet stored when the log was rewritten; it removes their bodies itself before storing them');
  }
  return {
    user,
    erased_at: new Date(at).toISOString(),
    erased_fields: ERASED_FIELD_LIST,
    complete: recorded && !failed && !left,
    tombstone: { topic: TOPICS.erasures, recorded },
    stores,
    kafka,
    notes,
  };
}
