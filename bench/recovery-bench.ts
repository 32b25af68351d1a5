import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../services/shared/config/config';
import type { EventLog } from '../services/shared/log/event-log';
import { SqliteEventLog } from '../services/shared/log/embedded/sqlite-log';
import { KafkaEventLog } from '../services/shared/log/kafka/kafka-log';
import { ConfluentRegistryClient } from '../services/shared/log/kafka/registry-client';
import { embeddedLogPath } from '../services/shared/log/open-log';
import { createLogger } from '../services/shared/observability/logger';
import { kafkaEnv } from './bench-kafka';
import { embeddedOffsets, kafkaOffsets, type ConsumerRole } from './recovery-observers';
import { runTrial, type Mode, type TrialResult, type TrialSpec } from './recovery-trial';

/**
 * `npm run bench:recovery`: how long each consumer role takes to be back at
 * work after `kill -9` and a restart as the same instance, under steady
 * load, on Kafka and on the embedded log; before (a dynamic group member:
 * the restarted process waits for the dead one's session to time out) and
 * after (static membership), side by side. Method: docs/benchmarks.md.
 *
 *   npm run bench:recovery -- [--log kafka,embedded] [--roles aggregator,indexer,roller,console]
 *                             [--modes before,after] [--rate 200] [--warmup-ms 8000] [--tail-ms 2000]
 */

const ROLES: ConsumerRole[] = ['aggregator', 'indexer', 'roller', 'console'];
const TARGET_MS = 10_000;

function list<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (value === undefined) return [...all];
  const picked = value.split(',').map((v) => v.trim());
  for (const v of picked) if (!all.includes(v as T)) throw new Error(`--${what}: ${v} is not one of ${all.join(', ')}`);
  return picked as T[];
}

const seconds = (ms: number | null): string => (ms === null ? 'n/a' : (ms / 1000).toFixed(1));
const ratio = (a: number | null, b: number | null): string => (a === null || b === null || b === 0 ? 'n/a' : `${(a / b).toFixed(1)}×`);

function logSpec(kind: 'kafka' | 'embedded'): Pick<TrialSpec, 'env' | 'openLog' | 'offsets'> {
  if (kind === 'embedded') {
    return {
      env: {},
      openLog: (dataDir) => new SqliteEventLog({ path: embeddedLogPath(dataDir), sync: 'normal' }),
      offsets: async (log) => embeddedOffsets(log as SqliteEventLog),
    };
  }
  const { brokers, registryUrl } = kafkaEnv();
  const config = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl });
  return {
    env: { LLM_LOGGER_KAFKA_BROKERS: brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl },
    openLog: (): EventLog =>
      new KafkaEventLog({ brokers: config.log.kafkaBrokers!, settings: config.log.kafka, registry: new ConfluentRegistryClient({ url: registryUrl }), logger: createLogger('warn', 'bench') }),
    offsets: () => kafkaOffsets(brokers),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      log: { type: 'string' },
      roles: { type: 'string' },
      modes: { type: 'string' },
      rate: { type: 'string', default: '200' },
      'warmup-ms': { type: 'string', default: '8000' },
      'tail-ms': { type: 'string', default: '2000' },
      'timeout-ms': { type: 'string', default: '120000' },
    },
  });
  const logs = list(values.log, ['kafka', 'embedded'] as const, 'log');
  const roles = list(values.roles, ROLES, 'roles');
  const modes = list<Mode>(values.modes, ['before', 'after'], 'modes');
  const run = randomUUID().slice(0, 8);
  process.stdout.write(
    `recovery after kill -9 and a restart as the same instance; ${values.rate} calls/s of steady load, run ${run}\n` +
      'times from the kill, the load going on: resumed = first commit of the new process, caught up = its group\'s committed lag back\n' +
      `under 1.5× its level before the kill (at least 1 s of load), complete = every call sent up to ${Number(values['tail-ms']) / 1000} s after the kill in the\n` +
      'output (aggregates equal the truth, index count, archive committed past them, console list); exact = after a drain and a\n' +
      'clean stop, every call of the trial once\n\n',
  );
  // The embedded log's writer thread does not hold the process open: an append awaited while nothing
  // else is pending (a trial between its role's processes) must not let it exit.
  const keepAlive = setInterval(() => undefined, 60_000);
  const failures: string[] = [];
  for (const kind of logs) {
    const base = logSpec(kind);
    const rows: string[][] = [];
    for (const role of roles) {
      const results = new Map<Mode, TrialResult>();
      for (const mode of modes) {
        const spec: TrialSpec = {
          ...base,
          log: kind,
          role,
          mode,
          run,
          ratePerSec: Number(values.rate),
          warmupMs: Number(values['warmup-ms']),
          tailMs: Number(values['tail-ms']),
          timeoutMs: Number(values['timeout-ms']),
        };
        const r = await runTrial(spec);
        results.set(mode, r);
        process.stdout.write(
          `${kind} ${role} ${mode}: resumed ${seconds(r.resumedMs)} s, caught up ${seconds(r.caughtUpMs)} s, complete ${seconds(r.completeMs)} s; ` +
            `steady lag ${r.steadyLag} (bound ${r.bound}); ${r.calls} calls, exact ${r.exact ? 'yes' : 'NO'}${r.note ? `; ${r.note}` : ''}\n`,
        );
        if (!r.exact) failures.push(`${kind} ${role} ${mode}: output not exact`);
        if (mode === 'after' && (r.caughtUpMs === null || r.completeMs === null || Math.max(r.caughtUpMs, r.completeMs) > TARGET_MS)) {
          failures.push(`${kind} ${role}: recovery over the ${TARGET_MS / 1000} s target`);
        }
      }
      const b = results.get('before');
      const a = results.get('after');
      rows.push([
        role,
        b ? `${seconds(b.caughtUpMs)} / ${seconds(b.completeMs)}` : '—',
        a ? `${seconds(a.caughtUpMs)} / ${seconds(a.completeMs)}` : '—',
        b && a ? `${ratio(b.caughtUpMs, a.caughtUpMs)} / ${ratio(b.completeMs, a.completeMs)}` : '—',
      ]);
    }
    process.stdout.write(`\n${kind}: caught up / complete, seconds after the kill (target: after ≤ ${TARGET_MS / 1000} s)\n`);
    process.stdout.write('| role | before (dynamic member) | after (static member) | before ÷ after |\n|---|---|---|---|\n');
    for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
    process.stdout.write('\n');
  }
  clearInterval(keepAlive);
  if (failures.length > 0) {
    process.stdout.write(`not met:\n  ${failures.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:recovery: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
