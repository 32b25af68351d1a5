import { TABLE_DIR } from './core/file-layout';
import { expiredHours } from './core/retention';
import type { ObjectStore } from './object-store/object-store';

/**
 * Applies the archive's retention (LLM_LOGGER_ARCHIVE_RETENTION_DAYS): the
 * files of every hour past it are deleted, oldest hour first. Deleting is
 * idempotent, so a run that is interrupted leaves some of an hour's files,
 * and the next run (the roller's hourly one, or `llm-logger retention`)
 * deletes the rest; a file the roller writes late into an expired hour (an
 * event that arrives late) goes at the next run.
 */

export interface RetentionResult {
  /** `dt=YYYY-MM-DD/hour=HH` of the hours deleted (or that would be, on a dry run), oldest first. */
  hours: string[];
  files: number;
  bytes: number;
}

/** Deletes at once at most this many objects (each one request on S3). */
const PARALLEL_DELETES = 8;

export async function applyArchiveRetention(
  store: ObjectStore,
  retentionDays: number,
  nowMs: number,
  options: { dryRun?: boolean } = {},
): Promise<RetentionResult> {
  const objects = await store.list(`${TABLE_DIR}/`);
  const sizes = new Map(objects.map((o) => [o.key, o.size]));
  const expired = expiredHours(
    objects.map((o) => o.key),
    nowMs,
    retentionDays,
  );
  const result: RetentionResult = { hours: [...expired.keys()], files: 0, bytes: 0 };
  for (const keys of expired.values()) {
    for (let i = 0; i < keys.length; i += PARALLEL_DELETES) {
      const chunk = keys.slice(i, i + PARALLEL_DELETES);
      if (!options.dryRun) await Promise.all(chunk.map((k) => store.delete(k)));
      result.files += chunk.length;
      result.bytes += chunk.reduce((n, k) => n + (sizes.get(k) ?? 0), 0);
    }
  }
  return result;
}
