import { createKafkaClient } from '../services/shared/log/kafka/kafka-client';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { TopicName } from '../topology/topics';
import type { ConsumedRecord, ProducerRecord } from '../services/shared/log/event-log';
import type { KafkaEventLog } from '../services/shared/log/kafka/kafka-log';
import { packValues } from '../services/shared/threads/packed-values';
import type { DecodeWorkerInit } from './decode-worker';
import { inferenceEventSerde } from '../services/shared/event/inference-serde';
import { INFERENCE_EVENT_SCHEMA_FILE, INFERENCE_EVENT_SUBJECT, readSchemaText } from '../services/shared/event/inference-event';
import { firstLinePort, gatewayPort, load, processCpuMs, settingsFromEnv, startProcess } from './bench-processes';
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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Load on each new gateway process before its measured round. */
const WARM_UP_MS = Number(process.env.BENCH_WARM_UP_MS ?? 2_000);

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

  // 2. Consume and decode, each time with a fresh group: all on the main thread, then with the decoding
  // on a worker thread (how the aggregator and the roller read: the main thread only reads the log).
  const broker = brokerPid();
  const oneThread = await consumeAll(log, topic, broker, async (batch) => {
    let decoded = 0;
    for (const r of batch) {
      const e = serde.decodeKnown(r.value) ?? (await serde.decode(r.value));
      if (e.schema_version === 1) decoded++;
    }
    return decoded;
  });
  process.stdout.write(`consume + decode, one thread: ${describe(oneThread)}\n`);
  const init: DecodeWorkerInit = { subject: INFERENCE_EVENT_SUBJECT, schemaText: readSchemaText(INFERENCE_EVENT_SCHEMA_FILE), schemaId: await serde.init() };
  const worker = new Worker(join(__dirname, 'decode-worker.js'), { workerData: init });
  const replies: ((decoded: number) => void)[] = [];
  worker.on('message', (decoded: number) => replies.shift()!(decoded));
  const inFlight = new Set<Promise<void>>();
  let onWorker = 0;
  let posted = 0;
  const withWorker = await consumeAll(log, topic, broker, async (batch) => {
    const { values, ends } = packValues(batch.length, (i) => batch[i]!.value);
    const done = new Promise<number>((r) => replies.push(r)).then((n) => {
      onWorker += n;
      inFlight.delete(done);
    });
    inFlight.add(done);
    const buffer = values.buffer as ArrayBuffer; // packValues' own buffer
    worker.postMessage({ values: buffer, ends: ends.buffer }, [buffer, ends.buffer]);
    posted += batch.length;
    // At most four batches wait on the worker; once every event is sent, all of them are waited for.
    while (inFlight.size >= 4 || (inFlight.size > 0 && posted >= N)) await Promise.race(inFlight);
    return null;
  }, () => onWorker);
  await worker.terminate();
  process.stdout.write(`consume + decode, decoding on a worker thread: ${describe(withWorker)}\n`);
  const consumed = Math.max(oneThread.rate, withWorker.rate);
  await log.close();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();

  // 3. Gateway saturation: embedded log vs Kafka log, interleaved.
  const upstream = await startProcess([join(__dirname, 'bench-upstream.js'), '0'], {}, firstLinePort);
  const results: Record<'embedded' | 'kafka', number[]> = { embedded: [], kafka: [] };
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
          ...settingsFromEnv(),
          LLM_LOGGER_DATA_DIR: dataDir,
          LLM_LOGGER_GATEWAY_PORT: '0',
          LLM_LOGGER_UPSTREAM_OPENAI_URL: `http://127.0.0.1:${upstream.port}`,
          ...(mode === 'kafka' ? { LLM_LOGGER_KAFKA_BROKERS: brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl } : {}),
        },
        gatewayPort,
      );
      // Unmeasured warm-up of the new gateway process (JIT, connections, the partition-count lookup), as
      // bench:gateway does: the rounds measure steady-state saturation.
      const target = `http://127.0.0.1:${gw.port}/openai/v1/chat/completions`;
      await load({ url: target, mode: 'closed', durationMs: WARM_UP_MS, concurrency: 64, stream: false });
      // CPU of the gateway and of the broker while loaded (both share the machine's cores with the load and the upstream).
      const before = { at: performance.now(), gateway: processCpuMs(gw.child.pid!), broker: broker ? processCpuMs(broker) : NaN };
      const r = await load({ url: target, mode: 'closed', durationMs: 5_000, concurrency: 64, stream: false });
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
      `| consume + decode >= 100,000 events/s | ${consumed.toFixed(0)} events/s (one thread ${oneThread.rate.toFixed(0)}, decoding on a worker ${withWorker.rate.toFixed(0)}) | ${consumed >= 100_000 ? 'yes' : 'NO'} |\n` +
      `| gateway on Kafka within 10% of embedded | ${(100 * ratio).toFixed(1)}% (${median(results.kafka).toFixed(0)} vs ${median(results.embedded).toFixed(0)} req/s) | ${ratio >= 0.9 ? 'yes' : 'NO'} |\n` +
      `\n| at saturation (median) | gateway CPU, % of a core | broker CPU, % of a core |\n|---|---|---|\n` +
      (['embedded', 'kafka'] as const)
        .map((m) => `| ${m} log | ${(100 * median(cpuShare[m].gateway)).toFixed(0)} | ${(100 * median(cpuShare[m].broker)).toFixed(0)} |\n`)
        .join(''),
  );
}

interface ConsumeRun {
  rate: number;
  /** Share of the wall time the main thread was busy. */
  mainBusy: number;
  /** CPU of this process (all threads) and of the broker, in cores. */
  cpu: { self: number; broker: number };
}

/**
 * Reads the whole topic with a fresh group, handing each batch to `onBatch`
 * (which answers how many events it decoded, or null if `decoded()` counts
 * them), timed from the first batch until all N are decoded.
 */
function consumeAll(
  log: KafkaEventLog,
  topic: TopicName,
  broker: number | null,
  onBatch: (batch: ConsumedRecord[]) => Promise<number | null>,
  decoded?: () => number,
): Promise<ConsumeRun> {
  let seen = 0;
  let first = 0;
  let elu = performance.eventLoopUtilization();
  let cpuAtFirst = { self: 0, broker: 0 };
  return new Promise<ConsumeRun>((resolve) => {
    const sub = log.subscribe({ topic, groupId: `bench-${randomUUID()}`, start: 'earliest', maxBatch: 2_000 }, async (batch) => {
      if (first === 0) {
        first = performance.now();
        elu = performance.eventLoopUtilization();
        cpuAtFirst = { self: processCpuMs(process.pid), broker: broker ? processCpuMs(broker) : NaN };
      }
      seen += (await onBatch(batch)) ?? 0;
      if (seen < N && (decoded?.() ?? 0) < N) return;
      const secs = (performance.now() - first) / 1000;
      const cpu = {
        self: (processCpuMs(process.pid) - cpuAtFirst.self) / (secs * 1000),
        broker: broker ? (processCpuMs(broker) - cpuAtFirst.broker) / (secs * 1000) : NaN,
      };
      void sub.stop();
      resolve({ rate: N / secs, mainBusy: performance.eventLoopUtilization(elu).utilization, cpu });
    });
  });
}

function describe(run: ConsumeRun): string {
  return (
    `${run.rate.toFixed(0)} events/s (from the first batch), main thread busy ${(100 * run.mainBusy).toFixed(0)}% of the time; ` +
    `CPU: this process (all threads) ${(100 * run.cpu.self).toFixed(0)}% of a core, broker ${(100 * run.cpu.broker).toFixed(0)}%`
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
