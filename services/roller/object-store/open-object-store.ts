import type { ArchiveSettings } from '../../shared/config/config';
import { LocalDirStore } from './local-dir-store';
import type { ObjectStore } from './object-store';
import type * as S3Module from './s3-store';

/**
 * The archive the configuration names: a local directory (default
 * `<data dir>/parquet`) or S3. The AWS SDK is loaded only for S3: it is large,
 * and it warns about Node versions on load.
 */
export function openObjectStore(archive: ArchiveSettings): ObjectStore {
  if (archive.kind === 'local') return new LocalDirStore(archive.dir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use only
  const { S3Store } = require('./s3-store') as typeof S3Module;
  return new S3Store(archive);
}
