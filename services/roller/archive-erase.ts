import { createHash } from 'node:crypto';
import type { Erasure } from '../shared/erasure/erasure';
import type { Logger } from '../shared/observability/logger';
import { parseFileKey, TABLE_DIR } from './core/file-layout';
import type { ObjectStore } from './object-store/object-store';
import { rowsToErase, stripParquet, type Covers } from './parquet-erase';

/**
 * Erasing a user's bodies from the Parquet archive, each affected file
 * rewritten once. The files to rewrite are first written to a journal
 * (`_llm_logger/erase-journal/…` in the archive itself, so whoever resumes
 * it sees the same archive); then each file is read, its covered rows'
 * bodies removed, and the new file stored under the same key (an atomic
 * replace: temporary file + rename, or one PutObject); then the journal is
 * deleted. An erase that is interrupted leaves its journal, and the next
 * erase (or the roller at its next start) finishes it. A file is rewritten
 * only while it still holds covered bodies, so finishing a journal never
 * rewrites a file a second time, and erasing again changes nothing.
 */

export const JOURNAL_PREFIX = '_llm_logger/erase-journal/';

interface Journal {
  user: string;
  erased_at: number;
  files: string[];
}

export interface ArchiveEraseResult {
  /** Data files read. */
  files_scanned: number;
  /**
   * Files that held the user's bodies when they were read, each now stored
   * again without them: by this erase, or by a running roller that read the
   * erasure first and rewrote its recent files itself.
   */
  files_rewritten: number;
  /** Rows whose bodies were removed from them. */
  rows: number;
  /** Journals of interrupted erases finished first (any user), and the files they still had to rewrite. */
  journals_resumed: number;
  resumed_files_rewritten: number;
  /** Newest `ended_at` among the rows erased (epoch ms), or null. */
  newest_ended_at: number | null;
}

export interface ArchiveEraseOptions {
  logger: Logger;
  /** Called after a file was stored again (e.g. to drop a local copy of it). */
  onRewritten?: (key: string) => Promise<void> | void;
  /** Listings of the archive after the first one, for files stored meanwhile (by a roller that was running). */
  verifyRounds?: number;
}

const coversOf = (e: Pick<Erasure, 'user' | 'erased_at'>): Covers => (user, startedAt) => user === e.user && startedAt <= e.erased_at;

function journalKey(e: Pick<Erasure, 'user' | 'erased_at'>): string {
  return `${JOURNAL_PREFIX}${e.erased_at}-${createHash('sha256').update(e.user).digest('hex').slice(0, 16)}.json`;
}

async function dataFiles(store: ObjectStore): Promise<string[]> {
  return (await store.list(`${TABLE_DIR}/`)).map((o) => o.key).filter((k) => parseFileKey(k) !== null);
}

/**
 * Rewrites the journal's files that still hold covered bodies. A fresh erase
 * counted its files when it found them; a resumed one counts here.
 */
async function rewrite(store: ObjectStore, journal: Journal, options: ArchiveEraseOptions, into: ArchiveEraseResult, resumed: boolean): Promise<void> {
  const covers = coversOf(journal);
  for (const key of journal.files) {
    let body: Uint8Array;
    try {
      body = await store.get(key);
    } catch (err) {
      // Gone meanwhile (retention): nothing left to erase in it.
      if ((await store.list(key)).some((o) => o.key === key)) throw err;
      continue;
    }
    const stripped = stripParquet(body, covers);
    if (!stripped) continue; // done meanwhile (by the roller)
    await store.put(key, stripped.body);
    if (resumed) into.resumed_files_rewritten++;
    else into.newest_ended_at = Math.max(into.newest_ended_at ?? 0, stripped.newestEndedAt);
    await options.onRewritten?.(key);
    options.logger.info({ key, rows: stripped.rows }, 'archive file rewritten without the erased bodies');
  }
}

/** Finishes the erases an interruption left in the journal; returns how many. */
export async function resumeArchiveErasures(store: ObjectStore, options: ArchiveEraseOptions, into?: ArchiveEraseResult): Promise<number> {
  const result = into ?? emptyResult();
  let resumed = 0;
  for (const { key } of await store.list(JOURNAL_PREFIX)) {
    const journal = JSON.parse(Buffer.from(await store.get(key)).toString('utf8')) as Journal;
    options.logger.warn({ journal: key, files: journal.files.length }, 'finishing an erase that was interrupted');
    await rewrite(store, journal, options, result, true);
    await store.delete(key);
    resumed++;
  }
  result.journals_resumed += resumed;
  return resumed;
}

function emptyResult(): ArchiveEraseResult {
  return { files_scanned: 0, files_rewritten: 0, rows: 0, journals_resumed: 0, resumed_files_rewritten: 0, newest_ended_at: null };
}

export async function eraseFromArchive(
  store: ObjectStore,
  erasure: Pick<Erasure, 'user' | 'erased_at'>,
  options: ArchiveEraseOptions,
): Promise<ArchiveEraseResult> {
  const result = emptyResult();
  await resumeArchiveErasures(store, options, result);
  const covers = coversOf(erasure);
  const seen = new Set<string>();
  // The first listing, then a few more for files a running roller stored meanwhile (it strips
  // erased bodies itself once it knows the erasure; these rounds cover the moment before).
  for (let round = 0; round <= (options.verifyRounds ?? 1); round++) {
    const fresh = (await dataFiles(store)).filter((k) => !seen.has(k));
    if (round > 0 && fresh.length === 0) break;
    const affected: string[] = [];
    for (const key of fresh) {
      seen.add(key);
      result.files_scanned++;
      let body: Uint8Array;
      try {
        body = await store.get(key);
      } catch {
        continue; // deleted since the listing (retention)
      }
      const rows = rowsToErase(body, covers);
      if (rows === 0) continue;
      affected.push(key);
      result.files_rewritten++;
      result.rows += rows;
    }
    if (affected.length === 0) continue;
    const journal: Journal = { user: erasure.user, erased_at: erasure.erased_at, files: affected };
    const key = journalKey(erasure);
    await store.put(key, Buffer.from(JSON.stringify(journal)));
    await rewrite(store, journal, options, result, false);
    await store.delete(key);
  }
  return result;
}
