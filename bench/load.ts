import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/**
 * Load generator, run as its own process so it never shares an event loop
 * with what it measures. Closed loop (fixed concurrency) for saturation
 * throughput; open loop (fixed rate, latency measured from each request's
 * scheduled time, so stalls are not hidden) for latency and time to first byte.
 */

export interface LoadSpec {
  url: string;
  mode: 'closed' | 'rate';
  durationMs: number;
  concurrency?: number;
  ratePerSec?: number;
  stream: boolean;
}

export interface LoadResult {
  requests: number;
  errors: number;
  throughput: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  ttfbMs: { p50: number; p90: number; p99: number } | null;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: 512, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Benchmark prompt: tell me about foxes and dogs.' }],
    ...(spec.stream ? { stream: true } : {}),
  });
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  let errors = 0;

  const one = async (scheduled: number): Promise<void> => {
    // From the scheduled time when late (stalls are not hidden), from the
    // actual send when the timer fired early.
    const scheduledAt = Math.min(scheduled, performance.now());
    try {
      const res = await pool.request({
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
        body,
      });
      let first = true;
      for await (const _chunk of res.body) {
        if (first) {
          ttfbs.push(performance.now() - scheduledAt);
          first = false;
        }
      }
      if (res.statusCode !== 200) errors++;
      else latencies.push(performance.now() - scheduledAt);
    } catch {
      errors++;
    }
  };

  const start = performance.now();
  const end = start + spec.durationMs;
  if (spec.mode === 'closed') {
    const workers = Array.from({ length: spec.concurrency ?? 64 }, async () => {
      while (performance.now() < end) await one(performance.now());
    });
    await Promise.all(workers);
  } else {
    const interval = 1000 / (spec.ratePerSec ?? 500);
    const inFlight: Promise<void>[] = [];
    for (let i = 0; ; i++) {
      const at = start + i * interval;
      if (at >= end) break;
      const wait = at - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(one(at));
    }
    await Promise.all(inFlight);
  }
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  ttfbs.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    throughput: latencies.length / elapsed,
    latencyMs: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? NaN,
    },
    ttfbMs: spec.stream ? { p50: percentile(ttfbs, 50), p90: percentile(ttfbs, 90), p99: percentile(ttfbs, 99) } : null,
  };
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2]!) as LoadSpec;
  void runLoad(spec).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
}
