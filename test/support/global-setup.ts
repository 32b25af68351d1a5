import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Tests that run the real CLI as a process need the compiled output to match the sources. */
export default function globalSetup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
