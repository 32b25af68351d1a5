import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './load';

/** Child processes of the benchmarks: the servers measured and the load generator. */

export interface BenchProcess {
  child: ChildProcess;
  port: number;
}

/** Starts `node <args>` and resolves with the port it reports on stdout. */
export function startProcess(args: string[], env: Record<string, string>, portFrom: (out: string) => number | null): Promise<BenchProcess> {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const port = portFrom(out);
      if (port !== null) resolve({ child, port });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

/** Settings the benches give each gateway they start, whatever their own environment says. */
const SET_BY_BENCH = [
  'LLM_LOGGER_DATA_DIR',
  'LLM_LOGGER_GATEWAY_PORT',
  'LLM_LOGGER_UPSTREAM_OPENAI_URL',
  'LLM_LOGGER_KAFKA_BROKERS',
  'LLM_LOGGER_SCHEMA_REGISTRY_URL',
];

/**
 * `LLM_LOGGER_*` settings from the bench's own environment, for the gateways
 * it starts (e.g. `LLM_LOGGER_KAFKA_COMPRESSION=lz4 npm run bench:kafka`),
 * except those the bench sets itself (`SET_BY_BENCH`: the log, the data
 * directory, the port, the upstream).
 */
export function settingsFromEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('LLM_LOGGER_') && value !== undefined && !SET_BY_BENCH.includes(name)) out[name] = value;
  }
  return out;
}

/** The helpers print their port alone on the first line. */
export function firstLinePort(out: string): number | null {
  const m = /^(\d+)\n/.exec(out);
  return m ? Number(m[1]) : null;
}

/** The gateway logs its port in its "gateway listening" line. */
export function gatewayPort(out: string): number | null {
  const m = /"port":(\d+)[^\n]*gateway listening/.exec(out);
  return m ? Number(m[1]) : null;
}

/** Runs the load generator in its own process. */
export function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'load.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load exited ${code}`))));
  });
}

/** CPU time (user + system) a process (all its threads) or one of its threads has used so far, in ms; NaN if it cannot be read. */
export function processCpuMs(pid: number, tid?: number): number {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}
