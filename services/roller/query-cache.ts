import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `llm-logger query` reads an S3 archive from a local mirror of its files
 * when DuckDB's httpfs is not installed (see query.ts). The mirror is a copy
 * of the archive: erasure and retention must reach it too.
 */
export function queryCacheDir(dataDir: string, archiveUrl: string): string {
  return join(dataDir, 'query-cache', archiveUrl.replace(/^s3:\/\//, 's3/'));
}

/** Removes the mirror's copy of one archive file (it is fetched again, as it now is, by the next query). */
export async function dropCachedCopy(dir: string, key: string): Promise<void> {
  await rm(join(dir, ...key.split('/')), { force: true });
}
