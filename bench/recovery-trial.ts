import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleGroups } from '../services/console/run-console';
import { AGGREGATOR_GROUP } from '../services/aggregator/aggregate-processor';
import type { EventLog } from '../services/shared/log/event-log';
import {
  aggregateOutput,
  archiveOutput,
  archiveRows,
  consoleOutput,
  indexOutput,
  lagOf,
  SteadyLoad,
  type ConsumerRole,
  type Offsets,
  type Output,
  type Phase,
} from './recovery-observers';

/**
 * One trial of the recovery benchmark: a consumer role runs as its own
 * process under steady load, is killed with SIGKILL and started again at
 * once as the same instance, while the load goes on; the trial measures,
 * from the kill, when the new process first commits, when its group's lag
 * is back to its level before the kill, and when its output holds every call
 * sent up to `tailMs` after the kill (the calls a stalled role leaves
 * behind). Then the load stops, the role drains and is stopped cleanly, and
 * its output is checked to hold every call of the trial exactly once.
 */

export type Mode = 'before' | 'after';

export interface TrialSpec {
  log: 'kafka' | 'embedded';
  role: ConsumerRole;
  mode: Mode;
  run: string;
  ratePerSec: number;
  warmupMs: number;
  /** `complete` waits for the calls sent up to this long after the kill. */
  tailMs: number;
  /** Give up measuring this long after the kill. */
  timeoutMs: number;
  /** LLM_LOGGER_* settings of the role's process (the log's connection). */
  env: Record<string, string>;
  /** The bench's own handle on the same log (appends, reads). */
  openLog(dataDir: string): EventLog;
  offsets(log: EventLog): Promise<Offsets>;
}

export interface TrialResult {
  /** From the kill: the restarted process's first commit; lag back to its level before; every call sent up to `tailMs` after the kill in the output. */
  resumedMs: number | null;
  caughtUpMs: number | null;
  completeMs: number | null;
  /** Committed lag (records) the role kept under steady load before the kill, and the bound it had to get back under. */
  steadyLag: number;
  bound: number;
  calls: number;
  /** Every call of the trial in the output exactly once after the drain (the clean stop included). */
  exact: boolean;
  note: string;
}

const ROLE_PROCESS = join(__dirname, 'role-process.js');
const READY: Record<ConsumerRole, RegExp> = {
  aggregator: /aggregator health and metrics listening/,
  indexer: /"msg":"indexer running"/,
  roller: /"msg":"roller started"/,
  console: /"msg":"console listening"/,
};

interface RoleProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  consoleUrl: string | null;
}

function startRole(role: ConsumerRole, group: string | null, env: Record<string, string>): Promise<RoleProcess> {
  const child = spawn(process.execPath, [ROLE_PROCESS, role, ...(group ? [group] : [])], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (!READY[role].test(out)) return;
      clearInterval(timer);
      const port = /"port":(\d+)[^\n]*"msg":"console listening"/.exec(out)?.[1];
      resolve({ child, exited, output: () => out, consoleUrl: port ? `http://127.0.0.1:${port}` : null });
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`${role} exited with ${code} before it was ready:\n${out.slice(-3000)}`));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Records the roller has not read yet, from its /readyz (null while it cannot tell). */
async function rollerUnread(proc: RoleProcess): Promise<number | null> {
  const port = /"port":(\d+)[^\n]*roller health and metrics listening/.exec(proc.output())?.[1];
  if (!port) return null;
  try {
    const body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { lag?: number };
    return typeof body.lag === 'number' ? body.lag : null;
  } catch {
    return null;
  }
}

export async function runTrial(spec: TrialSpec): Promise<TrialResult> {
  const { role, mode } = spec;
  const dataDir = mkdtempSync(join(tmpdir(), `llm-logger-recovery-${role}-`));
  const instance = `recovery-${spec.run}-${role}-${mode}`;
  const benchGroup = role === 'indexer' || role === 'roller' ? `llm-logger-${role}-recovery-${spec.run}-${mode}` : null;
  const env: Record<string, string> = {
    ...spec.env,
    LLM_LOGGER_DATA_DIR: dataDir,
    LLM_LOGGER_INSTANCE: instance,
    LLM_LOGGER_METRICS_PORT: '0',
    LLM_LOGGER_CONSOLE_PORT: '0',
    LLM_LOGGER_LOG_LEVEL: 'info',
    // Small files, so the archive's committed position follows the load within seconds (the bench's load
    // fills a partition's file in ~3 s); one column thread: the machine is shared with the broker and the bench.
    LLM_LOGGER_ROLLER_MAX_FILE_RECORDS: '50',
    LLM_LOGGER_ROLLER_THREADS: '1',
    // The console rebuilds its new view from this far back: on a shared broker, not 72 h of other runs' calls.
    LLM_LOGGER_CONSOLE_VIEW_HOURS: '0.1',
    ...(mode === 'before'
      ? // What every role did before static membership: a dynamic member, and librdkafka's 45 s session
        // timeout (the aggregator had 15 s).
        { LLM_LOGGER_KAFKA_STATIC_MEMBERSHIP: 'off', LLM_LOGGER_KAFKA_SESSION_TIMEOUT_MS: role === 'aggregator' ? '15000' : '45000' }
      : { LLM_LOGGER_KAFKA_STATIC_MEMBERSHIP: 'on' }),
  };
  const group = benchGroup ?? (role === 'aggregator' ? AGGREGATOR_GROUP : consoleGroups({ kind: spec.log }, instance).view);
  const log = spec.openLog(dataDir);
  const offsets = await spec.offsets(log);
  // Calls sent before the kill, in the `tailMs` after it, and after that: three app names.
  const before: Phase = { app: `${instance}-before`, events: [] };
  const after: Phase = { app: `${instance}-after`, events: [] };
  const later: Phase = { app: `${instance}-later`, events: [] };
  const endAt = new Map<Phase, Map<number, number>>();
  let proc: RoleProcess | null = null;
  let load: SteadyLoad | null = null;
  let output: Output | null = null;
  const notes: string[] = [];
  try {
    if (!(await offsets.startAtEnd(group))) notes.push(`group ${group} had members already: shared with another run`);
    if (role === 'console') {
      // A console whose views exist (as after a container restart: its emptyDir survives), so it reads from its
      // group's offsets, here the end, rather than rebuilding new views from a shared broker's other traffic.
      mkdirSync(join(dataDir, 'console'), { recursive: true });
      for (const f of ['requests.db', 'access-log.db']) writeFileSync(join(dataDir, 'console', f), '');
    }
    if (role === 'aggregator') output = await aggregateOutput(log);
    proc = await startRole(role, benchGroup, env);
    const current = (): RoleProcess => proc!;
    if (role === 'indexer') output = indexOutput(dataDir);
    if (role === 'roller') output = archiveOutput(offsets, group, (p) => endAt.get(p));
    if (role === 'console') output = consoleOutput(() => current().consoleUrl);

    load = new SteadyLoad(log, before, spec.ratePerSec);
    // Steady state: the lag the role keeps under this load, sampled over the second half of the warm-up.
    const warmupEnd = Date.now() + spec.warmupMs;
    let steadyLag = 0;
    while (Date.now() < warmupEnd) {
      const lag = lagOf(await offsets.position(group));
      if (Date.now() > warmupEnd - spec.warmupMs / 2) steadyLag = Math.max(steadyLag, lag);
      await sleep(100);
    }
    const bound = Math.max(Math.ceil(steadyLag * 1.5), spec.ratePerSec);

    // Kill -9, mid-work, and start the same instance again at once.
    proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    await load.switchTo(after);
    await proc.exited;
    const atKill = await offsets.position(group);
    endAt.set(before, atKill.end); // every call sent before the kill lies before these offsets
    proc = await startRole(role, benchGroup, env);

    let resumedMs: number | null = null;
    let caughtUpMs: number | null = null;
    let completeMs: number | null = null;
    let tailSent = false;
    const deadline = killedAt + spec.timeoutMs;
    while (Date.now() < deadline && (caughtUpMs === null || completeMs === null)) {
      if (!tailSent && Date.now() >= killedAt + spec.tailMs) {
        await load.switchTo(later);
        endAt.set(after, (await offsets.position(group)).end);
        tailSent = true;
      }
      const now = Date.now();
      const position = await offsets.position(group);
      if (resumedMs === null && [...position.committed].some(([p, next]) => next > (atKill.committed.get(p) ?? 0))) resumedMs = now - killedAt;
      if (resumedMs !== null && caughtUpMs === null && lagOf(position) <= bound) caughtUpMs = now - killedAt;
      if (tailSent && completeMs === null && (await output!.complete([before, after], false))) completeMs = now - killedAt;
      await sleep(100);
    }
    if (caughtUpMs === null || completeMs === null) notes.push(`not recovered within ${spec.timeoutMs / 1000} s`);

    // Drain: the load stops, everything sent is owed; then a clean stop (the roller writes its open files).
    await load.stop();
    load = null;
    const phases = [before, after, later];
    const drained = Date.now() + 90_000;
    if (role === 'roller') {
      // Its last files stay open (their hour is not over): it must have read everything before the clean stop writes them.
      while ((await rollerUnread(proc)) !== 0 && Date.now() < drained) await sleep(200);
      await sleep(500); // its lag is as of its last batch
    } else {
      while (!(await output!.complete(phases, false)) && Date.now() < drained) await sleep(200);
    }
    let exact = role === 'roller' ? true : await output!.complete(phases, true);
    const p = proc;
    p.child.kill('SIGTERM');
    const code = await p.exited;
    if (code !== 0) notes.push(`clean stop exited ${code}`);
    const calls = phases.reduce((n, ph) => n + ph.events.length, 0);
    if (role === 'roller') {
      const { rows, distinct } = await archiveRows(dataDir, phases.map((ph) => ph.app));
      exact = rows === calls && distinct === calls;
      if (!exact) notes.push(`archive: ${rows} rows, ${distinct} distinct, ${calls} calls`);
    }
    if (!exact) notes.push(`output not exact; role output (tail):\n${p.output().slice(-2000)}`);
    return { resumedMs, caughtUpMs, completeMs, steadyLag, bound, calls, exact, note: notes.join('; ') };
  } finally {
    await load?.stop().catch(() => undefined);
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await output?.close().catch(() => undefined);
    await offsets.close().catch(() => undefined);
    await log.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
