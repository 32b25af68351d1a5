import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The compiled file of a worker thread's entry module, given the directory of
 * the module that starts it. ts-jest runs the sources as TypeScript, which a
 * worker cannot load: then the build's copy is used (the tests' global setup
 * compiles it before any test runs).
 */
export function workerScript(dir: string, name: string): string {
  const beside = join(dir, `${name}.js`);
  if (existsSync(beside)) return beside;
  const root = join(__dirname, '..', '..', '..');
  return join(root, 'dist', relative(root, dir), `${name}.js`);
}
