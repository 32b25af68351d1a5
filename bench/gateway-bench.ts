import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { firstLinePort, gatewayPort, load, settingsFromEnv, startProcess } from './bench-processes';
import type { LoadResult } from './load';

/**
 * `npm run bench:gateway`: direct to a stand-in upstream, through a bare Node
 * pass-through proxy (the floor), and through the gateway with logging on,
 * interleaved in one run on this machine. Prints each measurement and the
 * ratios the gateway issue sets targets for.
 */

const DIST = join(__dirname, '..');
const ROOT = join(DIST, '..');
const SATURATION_MS = Number(process.env.BENCH_SATURATION_MS ?? 5_000);
const RATE_MS = Number(process.env.BENCH_RATE_MS ?? 8_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function handoffDepth(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^llm_logger_gateway_handoff_queue_depth (\d+)/m.exec(text)?.[1] ?? NaN);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-bench-'));
  const upstream = await startProcess([join(__dirname, 'bench-upstream.js'), '0'], {}, firstLinePort);
  const bare = await startProcess([join(__dirname, 'bare-proxy.js'), '0', String(upstream.port)], {}, firstLinePort);
  const gateway = await startProcess(
    [join(DIST, 'services', 'cli', 'main.js'), 'gateway'],
    {
      ...settingsFromEnv(), // the embedded log, whatever the environment says
      LLM_LOGGER_DATA_DIR: dataDir,
      LLM_LOGGER_GATEWAY_PORT: '0',
      LLM_LOGGER_UPSTREAM_OPENAI_URL: `http://127.0.0.1:${upstream.port}`,
      LLM_LOGGER_LOG_LEVEL: 'info',
      LLM_LOGGER_GATEWAY_LIVE_INTERVAL_MS: process.env.BENCH_LIVE_INTERVAL_MS ?? '100',
    },
    gatewayPort,
  );
  const targets = {
    direct: `http://127.0.0.1:${upstream.port}/v1/chat/completions`,
    bare: `http://127.0.0.1:${bare.port}/v1/chat/completions`,
    gateway: `http://127.0.0.1:${gateway.port}/openai/v1/chat/completions`,
  };
  type Target = keyof typeof targets;
  const order: Target[] = ['direct', 'bare', 'gateway'];
  process.stdout.write(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}\n`);

  // Warm-up: JIT, connection pools, the tokenizer-free paths.
  for (const t of order) await load({ url: targets[t], mode: 'closed', durationMs: 1_500, concurrency: CONCURRENCY, stream: false });

  // 1. Saturation throughput, interleaved rounds.
  const saturation: Record<Target, number[]> = { direct: [], bare: [], gateway: [] };
  let rssPeak = 0;
  let depthPeak = 0;
  const depthAfter: number[] = [];
  let gatewayServed = 0;
  // Saturation, plain answers then streamed ones (22 server-sent events each); the gateway's RSS
  // and hand-off queue are sampled during both.
  const streamSaturation: Record<Target, number[]> = { direct: [], bare: [], gateway: [] };
  for (const stream of [false, true]) {
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of order) {
        const samplers: NodeJS.Timeout[] = [];
        if (t === 'gateway') {
          // RSS from /proc (free for the gateway); the queue depth from /metrics once a second,
          // since a scrape costs the gateway's event loop ~2.5 ms.
          samplers.push(setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(gateway.child.pid!))), 250));
          samplers.push(
            setInterval(() => void handoffDepth(gateway.port).then((d) => (depthPeak = Math.max(depthPeak, d)), () => undefined), 1_000),
          );
        }
        const r = await load({ url: targets[t], mode: 'closed', durationMs: SATURATION_MS, concurrency: CONCURRENCY, stream });
        for (const sampler of samplers) clearInterval(sampler);
        if (t === 'gateway') {
          gatewayServed += r.requests;
          depthAfter.push(await handoffDepth(gateway.port));
        }
        (stream ? streamSaturation : saturation)[t].push(r.throughput);
        process.stdout.write(`${stream ? 'stream ' : ''}saturation round ${round + 1} ${t.padEnd(8)} ${fmt(r.throughput, 0)} req/s (errors ${r.errors})\n`);
      }
    }
  }

  // 2. Latency at a fixed 500 req/s (non-streamed) and 3. time to first byte (streamed).
  const latency: Record<Target, LoadResult[]> = { direct: [], bare: [], gateway: [] };
  const ttfb: Record<Target, LoadResult[]> = { direct: [], bare: [], gateway: [] };
  for (let round = 0; round < 2; round++) {
    for (const t of order) {
      const r = await load({ url: targets[t], mode: 'rate', ratePerSec: 500, durationMs: RATE_MS, stream: false });
      latency[t].push(r);
      if (t === 'gateway') gatewayServed += r.requests;
      process.stdout.write(
        `500 req/s round ${round + 1} ${t.padEnd(8)} p50 ${fmt(r.latencyMs.p50)} ms p99 ${fmt(r.latencyMs.p99)} ms (errors ${r.errors})\n`,
      );
    }
    for (const t of order) {
      const r = await load({ url: targets[t], mode: 'rate', ratePerSec: 500, durationMs: RATE_MS, stream: true });
      ttfb[t].push(r);
      if (t === 'gateway') gatewayServed += r.requests;
      process.stdout.write(
        `stream 500 req/s round ${round + 1} ${t.padEnd(8)} ttfb p50 ${fmt(r.ttfbMs!.p50)} ms p99 ${fmt(r.ttfbMs!.p99)} ms (errors ${r.errors})\n`,
      );
    }
  }

  // Stop the gateway cleanly and count what reached the log.
  gateway.child.kill('SIGTERM');
  await new Promise((r) => gateway.child.once('exit', r));
  const db = new Database(join(dataDir, 'log', 'events.db'), { readonly: true });
  const logged = (db.prepare("SELECT COUNT(*) AS n FROM records WHERE topic = 'llm.inference.v1'").get() as { n: number }).n;
  db.close();
  upstream.child.kill();
  bare.child.kill();
  rmSync(dataDir, { recursive: true, force: true });

  const sat = (t: Target): number => median(saturation[t]);
  const streamSat = (t: Target): number => median(streamSaturation[t]);
  const lat = (t: Target, p: 'p50' | 'p99'): number => median(latency[t].map((r) => r.latencyMs[p]));
  const tt = (t: Target, p: 'p50' | 'p99'): number => median(ttfb[t].map((r) => r.ttfbMs![p]));
  const rows: [string, string, string, string][] = [
    ['saturation throughput (req/s, median of rounds)', fmt(sat('direct'), 0), fmt(sat('bare'), 0), fmt(sat('gateway'), 0)],
    ['saturation throughput, streamed answers (req/s, median of rounds)', fmt(streamSat('direct'), 0), fmt(streamSat('bare'), 0), fmt(streamSat('gateway'), 0)],
    ['latency p50 at 500 req/s (ms)', fmt(lat('direct', 'p50')), fmt(lat('bare', 'p50')), fmt(lat('gateway', 'p50'))],
    ['latency p99 at 500 req/s (ms)', fmt(lat('direct', 'p99')), fmt(lat('bare', 'p99')), fmt(lat('gateway', 'p99'))],
    ['time to first byte p50, streamed, 500 req/s (ms)', fmt(tt('direct', 'p50')), fmt(tt('bare', 'p50')), fmt(tt('gateway', 'p50'))],
    ['time to first byte p99, streamed, 500 req/s (ms)', fmt(tt('direct', 'p99')), fmt(tt('bare', 'p99')), fmt(tt('gateway', 'p99'))],
  ];
  process.stdout.write('\n| measure | direct | bare proxy | gateway (logging on) |\n|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);

  // null: reported, not a target
  const checks: [string, string, boolean | null][] = [
    ['gateway / bare saturation throughput >= 80%', `${fmt((100 * sat('gateway')) / sat('bare'), 1)}%`, sat('gateway') / sat('bare') >= 0.8],
    [
      'gateway / bare saturation throughput, streamed answers (the target above is measured with plain answers)',
      `${fmt((100 * streamSat('gateway')) / streamSat('bare'), 1)}%`,
      null,
    ],
    ['added latency p50 <= 1 ms', `${fmt(lat('gateway', 'p50') - lat('bare', 'p50'))} ms`, lat('gateway', 'p50') - lat('bare', 'p50') <= 1],
    ['added latency p99 <= 5 ms', `${fmt(lat('gateway', 'p99') - lat('bare', 'p99'))} ms`, lat('gateway', 'p99') - lat('bare', 'p99') <= 5],
    ['added time to first token p50 <= 1 ms', `${fmt(tt('gateway', 'p50') - tt('bare', 'p50'))} ms`, tt('gateway', 'p50') - tt('bare', 'p50') <= 1],
    ['gateway RSS at saturation <= 150 MB', `${fmt(rssPeak, 0)} MB peak`, rssPeak <= 150],
    [
      'no growing backlog to the log at saturation',
      `peak queue ${depthPeak}, after each round ${depthAfter.join('/')}; ${logged} events logged for ${gatewayServed} answered calls`,
      depthAfter.every((d) => d < 1000) && logged >= gatewayServed,
    ],
  ];
  process.stdout.write('\n| target | measured | met |\n|---|---|---|\n');
  for (const [name, value, ok] of checks) process.stdout.write(`| ${name} | ${value} | ${ok === null ? 'reported' : ok ? 'yes' : 'NO'} |\n`);
  process.stdout.write(
    `\nbare proxy keeps ${fmt((100 * sat('bare')) / sat('direct'), 1)}% of direct throughput; gateway keeps ${fmt((100 * sat('gateway')) / sat('direct'), 1)}%\n`,
  );
  void ROOT;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
