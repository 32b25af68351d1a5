import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectStore, StoredObject } from './object-store';

/** Temporary files end with this; readers (and `list`) never see them. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Objects as files under a directory. A put writes a temporary file beside
 * the target, fsyncs it, renames it over the target and fsyncs the directory:
 * after a crash there is either the old file, the new one, or a temporary
 * file that `cleanup()` removes at the next start.
 */
export class LocalDirStore implements ObjectStore {
  readonly url: string;

  constructor(private readonly root: string) {
    this.url = pathToFileURL(root).href;
  }

  private path(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`invalid object key: ${key}`);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const target = this.path(key);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true });
    const temp = `${target}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
    const fh = await open(temp, 'w');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, target);
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async get(key: string): Promise<Uint8Array> {
    return readFile(this.path(key));
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    // Only the directory the prefix names: the archive's other directories can hold many files.
    const dir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    for (const file of await this.walk(dir ? this.path(dir) : this.root)) {
      if (file.endsWith(TEMP_SUFFIX)) continue;
      const key = relative(this.root, file).split(sep).join('/');
      if (key.startsWith(prefix)) out.push({ key, size: (await stat(file)).size });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Removes the file, then its directories up to the root while they are empty (an hour, then its day). */
  async delete(key: string): Promise<void> {
    const target = resolve(this.path(key));
    await rm(target, { force: true });
    const root = resolve(this.root) + sep;
    for (let dir = dirname(target); dir.startsWith(root); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') break;
        throw err;
      }
    }
  }

  async cleanup(): Promise<number> {
    let removed = 0;
    for (const file of await this.walk(this.root)) {
      if (file.endsWith(TEMP_SUFFIX)) {
        await rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  private async walk(dir: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const files: string[] = [];
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) files.push(...(await this.walk(p)));
      else if (e.isFile()) files.push(p);
    }
    return files;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
