import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import type { TopicName } from '../topology/topics';
import { inferenceEventSerde } from '../services/shared/event/inference-serde';
import { createKafkaClient } from '../services/shared/log/kafka/kafka-client';
import { LocalDirStore } from '../services/roller/object-store/local-dir-store';
import { consumeIntoArchive } from '../services/roller/run-roller';
import { benchEvent, brokerPid, openBenchKafka } from './bench-kafka';
import { processCpuMs } from './bench-processes';

/**
 * `npm run bench:roller` (needs `npm run infra:up`): ~2 KB events from the
 * local broker to Parquet files on local disk, in one process — consume,
 * decode, map to Arrow, encode Parquet (zstd), fsync, commit — and the bytes
 * per event on disk next to the Avro size. 600,000 events over 12
 * partitions: with the default file limits (32 MiB of Avro, ~20,000 of these
 * events) two files per partition fill up and are written while the topic is
 * read, as in a steady flow, and the rest are written by the final close,
 * which is timed too.
 */

const N = Number(process.env.BENCH_EVENTS ?? 600_000);

async function main(): Promise<void> {
  const { brokers, logger, config, registry, log } = openBenchKafka();
  const serde = await inferenceEventSerde(registry);
  const topic = `bench.roller.${randomUUID()}` as TopicName;
  const admin = createKafkaClient([brokers]).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: 1 }] });

  let avroBytes = 0;
  for (let i = 0; i < N; i += 5_000) {
    const records = Array.from({ length: Math.min(5_000, N - i) }, (_, k) => {
      const e = benchEvent(i + k);
      const value = serde.encode(e);
      avroBytes += value.length;
      return { key: e.event_id, value, timestamp: e.ended_at };
    });
    await log.append(topic, records);
  }
  process.stdout.write(`produced ${N} events, ${(avroBytes / N).toFixed(0)} B each in Avro (registry framing included)\n`);

  const dir = mkdtempSync(join(tmpdir(), 'llm-logger-bench-roller-'));
  const store = new LocalDirStore(dir);
  const limits = { maxRecords: config.roller.maxFileRecords, maxBytes: config.roller.maxFileBytes, idleFlushMs: config.roller.idleFlushMs };
  const metrics = new Registry();
  const broker = brokerPid();
  const cpu0 = { process: process.cpuUsage(), main: processCpuMs(process.pid, process.pid), broker: broker ? processCpuMs(broker) : NaN };
  const t0 = performance.now();
  const consumer = await consumeIntoArchive({ log, store, limits, groupId: `bench-${randomUUID()}`, registry: metrics, logger, topic, dedupe: config.dedupe });
  let firstAt = 0;
  for (;;) {
    const rows = (await metrics.getSingleMetric('llm_logger_consumer_records_total')?.get())?.values.reduce((s, v) => s + v.value, 0) ?? 0;
    if (rows > 0 && firstAt === 0) firstAt = performance.now();
    if (rows >= N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await consumer.close(); // writes the files still open
  const t1 = performance.now();
  // process.cpuUsage counts the threads that already ended (the encoding threads stop in close()).
  const totalCpuMs = process.cpuUsage(cpu0.process);
  const cpu = {
    total: (totalCpuMs.user + totalCpuMs.system) / 1000,
    main: processCpuMs(process.pid, process.pid) - cpu0.main,
    broker: broker ? processCpuMs(broker) - cpu0.broker : NaN,
  };
  const usPerEvent = (ms: number): string => ((1000 * ms) / N).toFixed(1);
  const files = await store.list('');
  const byReason = (await metrics.getSingleMetric('llm_logger_roller_files_total')?.get())?.values ?? [];
  const closedBy = (reason: string): number => byReason.find((v) => v.labels.reason === reason)?.value ?? 0;
  const parquetBytes = files.reduce((s, f) => s + f.size, 0);
  const fromFirst = N / ((t1 - firstAt) / 1000);
  const overall = N / ((t1 - t0) / 1000);
  process.stdout.write(
    `roller: ${N} events -> ${files.length} Parquet files in ${((t1 - firstAt) / 1000).toFixed(2)} s from the first batch ` +
      `(${((t1 - t0) / 1000).toFixed(2)} s with the consumer group join); ` +
      `${files.length - closedBy('shutdown')} closed while reading, ${closedBy('shutdown')} by the final close\n` +
      `\n| measure | value |\n|---|---|\n` +
      `| broker -> Parquet, events/s from the first batch (target >= 50,000) | ${fromFirst.toFixed(0)} ${fromFirst >= 50_000 ? '(met)' : '(NOT met)'} |\n` +
      `| broker -> Parquet, events/s including the group join | ${overall.toFixed(0)} |\n` +
      `| CPU per event: main thread / other threads of the roller / broker (µs; group join included) | ` +
      `${usPerEvent(cpu.main)} / ${usPerEvent(cpu.total - cpu.main)} / ${usPerEvent(cpu.broker)} |\n` +
      `| Avro bytes per event (as on the topic, before Kafka compression) | ${(avroBytes / N).toFixed(0)} |\n` +
      `| Parquet bytes per event on disk (zstd) | ${(parquetBytes / N).toFixed(1)} (${((100 * parquetBytes) / avroBytes).toFixed(1)}% of Avro) |\n`,
  );
  await log.close();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
