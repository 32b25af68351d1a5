import { createKafkaClient } from '../services/shared/log/kafka/kafka-client';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TopicName } from '../topology/topics';
import type { ProducerRecord } from '../services/shared/log/event-log';
import { inferenceEventSerde } from '../services/shared/event/inference-serde';
import { firstLinePort, gatewayPort, load, processCpuMs, startProcess } from './bench-processes';
import { benchEvent, brokerPid, openBenchKafka } from './bench-kafka';

/**
 * `npm run bench:kafka` (needs `npm run infra:up`): against the local broker,
 * produce throughput of ~2 KB Avro events through the registry serializer,
 * consume-and-decode throughput, and the gateway's saturation throughput with
 * the Kafka log next to the embedded log, interleaved.
 */

const N = Number(process.env.BENCH_EVENTS ?? 200_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 8);
const BATCH = 500;
const POOL = 10_000;
/** Saturation rounds per log, interleaved (odd: the median is a measured run). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function main(): Promise<void> {
  const { brokers, registryUrl, registry, log } = openBenchKafka();
  const serde = await inferenceEventSerde(registry);
  const topic = `bench.${randomUUID()}` as TopicName;
  const admin = createKafkaClient([brokers]).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: 1 }] });

  // 1. Produce: encode through the registry serde, append in batches. A producer holds only the
  // events in flight, so the bench cycles through a pool of 10,000 events, each sent with a new
  // event id (a heap of 200,000 live events made garbage collection a quarter of the time).
  const pool = Array.from({ length: Math.min(N, POOL) }, (_, i) => benchEvent(i));
  const avgBytes = pool.slice(0, 1000).reduce((n, e) => n + serde.encode(e).length, 0) / 1000;
  const record = (i: number): ProducerRecord => {
    const e = pool[i % pool.length]!;
    e.event_id = randomUUID();
    return { key: e.event_id, value: serde.encode(e), timestamp: e.ended_at };
  };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < N) {
        const from = next;
        next = Math.min(N, next + BATCH);
        await log.append(topic, Array.from({ length: next - from }, (_, k) => record(from + k)));
      }
    }),
  );
  const produceSecs = (performance.now() - t0) / 1000;
  const produceRate = N / produceSecs;
  process.stdout.write(`produce: ${N} events of ${avgBytes.toFixed(0)} B (Avro, registry framing), ${produceRate.toFixed(0)} events/s, ${IN_FLIGHT} appends of ${BATCH} in flight\n`);

  // 2. Consume and decode with a fresh group.
  let seen = 0;
  let first = 0;
  const consumed = await new Promise<number>((resolve) => {
    const sub = log.subscribe({ topic, groupId: `bench-${randomUUID()}`, start: 'earliest', maxBatch: 2_000 }, async (batch) => {
      if (first === 0) first = performance.now();
      for (const r of batch) {
        const e = serde.decodeKnown(r.value) ?? (await serde.decode(r.value));
        if (e.schema_version === 1) seen++;
      }
      if (seen >= N) {
        const secs = (performance.now() - first) / 1000;
        void sub.stop();
        resolve(N / secs);
      }
    });
  });
  process.stdout.write(`consume + decode: ${consumed.toFixed(0)} events/s (from the first batch)\n`);
  await log.close();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();

  // 3. Gateway saturation: embedded log vs Kafka log, interleaved.
  const upstream = await startProcess([join(__dirname, 'bench-upstream.js'), '0'], {}, firstLinePort);
  const results: Record<'embedded' | 'kafka', number[]> = { embedded: [], kafka: [] };
  const broker = brokerPid();
  const cpuShare: Record<'embedded' | 'kafka', { gateway: number[]; broker: number[] }> = {
    embedded: { gateway: [], broker: [] },
    kafka: { gateway: [], broker: [] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ['embedded', 'kafka'] as const) {
      const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-bench-'));
      const gw = await startProcess(
        [join(__dirname, '..', 'services', 'cli', 'main.js'), 'gateway'],
        {
          LLM_LOGGER_DATA_DIR: dataDir,
          LLM_LOGGER_GATEWAY_PORT: '0',
          LLM_LOGGER_UPSTREAM_OPENAI_URL: `http://127.0.0.1:${upstream.port}`,
          ...(mode === 'kafka' ? { LLM_LOGGER_KAFKA_BROKERS: brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl } : {}),
        },
        gatewayPort,
      );
      // CPU of the gateway and of the broker while loaded (both share the machine's cores with the load and the upstream).
      const before = { at: performance.now(), gateway: processCpuMs(gw.child.pid!), broker: broker ? processCpuMs(broker) : NaN };
      const r = await load({ url: `http://127.0.0.1:${gw.port}/openai/v1/chat/completions`, mode: 'closed', durationMs: 5_000, concurrency: 64, stream: false });
      const wall = performance.now() - before.at;
      const gatewayCpu = (processCpuMs(gw.child.pid!) - before.gateway) / wall;
      const brokerCpu = broker ? (processCpuMs(broker) - before.broker) / wall : NaN;
      results[mode].push(r.throughput);
      cpuShare[mode].gateway.push(gatewayCpu);
      cpuShare[mode].broker.push(brokerCpu);
      process.stdout.write(
        `gateway saturation round ${round + 1} ${mode.padEnd(8)} ${r.throughput.toFixed(0)} req/s (errors ${r.errors}); ` +
          `CPU: gateway ${(100 * gatewayCpu).toFixed(0)}% of a core, broker ${(100 * brokerCpu).toFixed(0)}%\n`,
      );
      gw.child.kill('SIGTERM');
      await new Promise((res) => gw.child.once('exit', res));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  upstream.child.kill();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(results.kafka) / median(results.embedded);
  process.stdout.write(
    `\n| target | measured | met |\n|---|---|---|\n` +
      `| produce >= 50,000 events/s (~2 KB Avro) | ${produceRate.toFixed(0)} events/s (${avgBytes.toFixed(0)} B) | ${produceRate >= 50_000 ? 'yes' : 'NO'} |\n` +
      `| consume + decode >= 100,000 events/s | ${consumed.toFixed(0)} events/s | ${consumed >= 100_000 ? 'yes' : 'NO'} |\n` +
      `| gateway on Kafka within 10% of embedded | ${(100 * ratio).toFixed(1)}% (${median(results.kafka).toFixed(0)} vs ${median(results.embedded).toFixed(0)} req/s) | ${ratio >= 0.9 ? 'yes' : 'NO'} |\n` +
      `\n| at saturation (median) | gateway CPU, % of a core | broker CPU, % of a core |\n|---|---|---|\n` +
      (['embedded', 'kafka'] as const)
        .map((m) => `| ${m} log | ${(100 * median(cpuShare[m].gateway)).toFixed(0)} | ${(100 * median(cpuShare[m].broker)).toFixed(0)} |\n`)
        .join(''),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
