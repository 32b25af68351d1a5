import type { ArchiveSettings } from '../../shared/config/config';
import { LocalDirStore } from './local-dir-store';
import type { ObjectStore } from './object-store';
import { S3Store } from './s3-store';

/** The archive the configuration names: a local directory (default `<data dir>/parquet`) or S3. */
export function openObjectStore(archive: ArchiveSettings): ObjectStore {
  if (archive.kind === 'local') return new LocalDirStore(archive.dir);
  return new S3Store(archive);
}
