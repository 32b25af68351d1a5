import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { TOPICS } from '../../topology/topics';
import type { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { CLI, REPO_ROOT } from './processes';

export const ROLLER_GROUP = 'llm-logger-roller';

export interface RollerProcess {
  child: ChildProcess;
  /** Resolves once the roller logged that it started (its consumer is subscribed). */
  started: Promise<void>;
  exited: Promise<number | null>;
  output(): string;
}

const running = new Set<ChildProcess>();

/** Kills every roller a test started and left running (a failed test must not leave one behind). */
export function killRollers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** `llm-logger roller` as a real process with these LLM_LOGGER_* settings. */
export function startRoller(env: Record<string, string>): RollerProcess {
  const child = spawn(process.execPath, [CLI, 'roller'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LLM_LOGGER_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const started = new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (out.includes('"msg":"roller started"')) resolve();
    };
    child.stdout!.on('data', check);
    void exited.then(() => reject(new Error(`roller exited before starting:\n${out}`)));
  });
  return { child, started, exited, output: () => out };
}

/** Every partition of llm.inference.v1 committed to its end by the roller's group (embedded log). */
export function rollerCaughtUp(log: SqliteEventLog): boolean {
  const committed = log.committedOffsets(ROLLER_GROUP, TOPICS.inference);
  for (const [p, end] of log.endOffsets(TOPICS.inference)) if ((committed.get(p) ?? 0) < end) return false;
  return true;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `llm-logger query --json "SQL"`: the rows as objects. */
export function queryCli(env: Record<string, string>, sql: string): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, [CLI, 'query', '--json', sql], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`llm-logger query exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}
