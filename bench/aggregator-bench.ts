import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { TOPICS, type TopicName } from '../topology/topics';
import { inferenceEventSerde } from '../services/shared/event/inference-serde';
import type { InferenceEvent } from '../services/shared/event/inference-event';
import { createKafkaClient } from '../services/shared/log/kafka/kafka-client';
import type { KafkaEventLog } from '../services/shared/log/kafka/kafka-log';
import { AggregateProcessor } from '../services/aggregator/aggregate-processor';
import { WINDOWS } from '../services/aggregator/core/aggregate-record';
import { aggregationEngine, aggregateSerde } from '../services/aggregator/run-aggregator';
import { benchEvent, openBenchKafka } from './bench-kafka';
import { ingestedHeaders } from '../services/shared/event/ingest-origin';

/**
 * `npm run bench:aggregator` (needs `npm run infra:up`), one process, the
 * local broker:
 *  1. throughput: N ~2 KB events, read + decoded by a plain consumer (the
 *     baseline: what the client and Avro decoding allow), then by the
 *     aggregator (decode + aggregate + produce in transactions);
 *  2. freshness: 1,000 calls/s for 30 s; for each call, the time from its end
 *     until a committed aggregate covering it is readable on llm.aggregates.v1.
 */

const N = Number(process.env.BENCH_EVENTS ?? 200_000);
const RATE = 1_000;
const FRESHNESS_SECONDS = Number(process.env.BENCH_FRESHNESS_SECONDS ?? 30);
/** BENCH_INGESTED=1: every event as if posted to the ingest API, so each one is looked up in (and added to) the ids remembered. */
const INGESTED = process.env.BENCH_INGESTED === '1';
const DEDUPE = { windowMs: 24 * 3_600_000, maxIds: 50_000 }; // the defaults

function recordsProcessed(metrics: Registry): Promise<number> {
  return (async () => (await metrics.getSingleMetric('llm_logger_consumer_records_total')?.get())?.values.reduce((s, v) => s + v.value, 0) ?? 0)();
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const { brokers, logger, registry, log } = openBenchKafka();
  const events = await inferenceEventSerde(registry);
  const aggregates = await aggregateSerde(log);
  const run = randomUUID();
  const input = `bench.aggregator.${run}` as TopicName;
  const changelog = `bench.aggregator.${run}.changelog` as TopicName;
  const admin = createKafkaClient([brokers]).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: input, numPartitions: 12, replicationFactor: 1 },
      { topic: changelog, numPartitions: 12, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ],
  });

  const produce = async (batch: InferenceEvent[], into: KafkaEventLog = log): Promise<void> =>
    into.append(
      input,
      batch.map((e) => ({
        key: e.event_id,
        value: events.encode(e),
        timestamp: e.ended_at,
        ...(INGESTED ? { headers: ingestedHeaders(Date.now()), partitionByKey: true } : {}),
      })),
    );
  for (let i = 0; i < N; i += 5_000) await produce(Array.from({ length: Math.min(5_000, N - i) }, (_, k) => benchEvent(i + k)));
  process.stdout.write(`produced ${N} events to ${input}${INGESTED ? ', all marked as ingested' : ''}\n`);

  // 1a. Baselines: consume only, then consume + decode, nothing else.
  let consumed = 0;
  let first = 0;
  const bare = log.subscribe({ topic: input, groupId: `bench-bare-${run}`, start: 'earliest', maxBatch: 2_000 }, async (batch) => {
    if (first === 0) first = performance.now();
    consumed += batch.length;
  });
  await waitFor(async () => consumed >= N);
  const bareRate = N / ((performance.now() - first) / 1000);
  await bare.stop();
  let decoded = 0;
  first = 0;
  const baseline = log.subscribe({ topic: input, groupId: `bench-baseline-${run}`, start: 'earliest', maxBatch: 2_000 }, async (batch) => {
    if (first === 0) first = performance.now();
    for (const r of batch) if (!events.decodeKnown(r.value)) await events.decode(r.value);
    decoded += batch.length;
  });
  await waitFor(async () => decoded >= N);
  const baselineRate = N / ((performance.now() - first) / 1000);
  await baseline.stop();

  // 1b. The aggregator: decode + aggregate + produce, exactly once.
  const metrics = new Registry();
  const engine = aggregationEngine(log, { windowSizesMs: Object.values(WINDOWS), graceMs: 30_000, idleCloseMs: 60_000, maxKeys: 1_000 });
  const start = (groupId: string): ReturnType<KafkaEventLog['subscribeTransactional']> => {
    const processor = new AggregateProcessor({ engine, aggregates, registry: metrics, logger, dedupe: DEDUPE });
    return log.subscribeTransactional(
      { topic: input, groupId, transactionalId: `bench-${groupId}`, changelogTopic: changelog, commitIntervalMs: 1_000, maxBatch: 2_000 },
      processor,
    );
  };
  const t0 = performance.now();
  first = 0;
  const sub = start(`bench-aggregator-${run}`);
  await waitFor(async () => {
    const n = await recordsProcessed(metrics);
    if (n > 0 && first === 0) first = performance.now();
    return n >= N;
  });
  const aggregatorRate = N / ((performance.now() - first) / 1000);
  const withJoin = N / ((performance.now() - t0) / 1000);

  // 2. Freshness at 1,000 calls/s: when does an aggregate covering each call become readable?
  // Produced by key, so that each call's partition is known (pendingByPartition); llm.inference.v1's
  // batch partitioning would give each partition a batch every ~12 batches (~120 ms here), well
  // inside the aggregator's 1 s emit interval.
  const keyed = openBenchKafka({ keyed: true }).log;
  const app = `bench-${run}`;
  const pending = new Map<number, number[]>(); // partition -> ended_at of calls not yet covered, in order
  const freshness: number[] = [];
  const reader = createKafkaClient([brokers]).consumer({
    kafkaJS: { groupId: `bench-reader-${run}`, fromBeginning: false, autoCommit: false },
    'isolation.level': 'read_committed',
  });
  await reader.connect();
  await reader.subscribe({ topics: [TOPICS.aggregates] });
  void reader.run({
    eachMessage: async ({ message }) => {
      if (!message.value || message.value.length === 0) return;
      const a = aggregates.decodeKnown(message.value);
      if (!a || a.dimension !== 'app' || a.group !== app || a.window_size_ms !== WINDOWS['1m']) return;
      const now = Date.now();
      const list = pending.get(a.source_partition) ?? [];
      while (list.length > 0 && list[0]! <= a.last_event_at) freshness.push(now - list.shift()!);
    },
  });
  await new Promise((r) => setTimeout(r, 3_000)); // the reader's group join
  let sent = 0;
  const began = Date.now();
  while (Date.now() - began < FRESHNESS_SECONDS * 1000) {
    const due = Math.floor(((Date.now() - began) / 1000) * RATE) - sent;
    if (due > 0) {
      const batch = Array.from({ length: due }, (_, k) => ({ ...benchEvent(sent + k), app, ended_at: Date.now() }));
      await produce(batch, keyed);
      pendingByPartition(batch, pending);
      sent += due;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 8_000)); // the last calls' aggregates
  freshness.sort((a, b) => a - b);
  const covered = freshness.length;

  process.stdout.write(
    `\n| measure | baseline (consume + decode) | aggregator | ratio | target |\n|---|---|---|---|---|\n` +
      `| events/s, consume only | ${bareRate.toFixed(0)} | | | |\n` +
      `| events/s from the first batch | ${baselineRate.toFixed(0)} | ${aggregatorRate.toFixed(0)} | ${(aggregatorRate / baselineRate).toFixed(2)} | >= 100,000 ${aggregatorRate >= 100_000 ? '(met)' : '(NOT met)'} |\n` +
      `| events/s including group join and restore | | ${withJoin.toFixed(0)} | | |\n` +
      `\n| freshness at ${RATE} calls/s for ${FRESHNESS_SECONDS} s | value |\n|---|---|\n` +
      `| calls sent / covered by a readable aggregate | ${sent} / ${covered} |\n` +
      (covered > 0
        ? `| p50 / p90 / p99 / max (ms) | ${percentile(freshness, 0.5)} / ${percentile(freshness, 0.9)} / ${percentile(freshness, 0.99)} / ${freshness[covered - 1]} |\n` +
          `| target p99 <= 5,000 ms | ${percentile(freshness, 0.99) <= 5_000 && covered === sent ? 'met' : 'NOT met'} |\n`
        : ''),
  );
  await reader.disconnect();
  await keyed.close();
  await sub.stop();
  await engine.close(); // the worker thread
  await log.close();
  await admin.deleteTopics({ topics: [input, changelog] });
  await admin.disconnect();
}

/**
 * Which partition each call went to: librdkafka's default partitioner for keyed
 * records (consistent_random: CRC32 of the key). A wrong guess would show as
 * calls never covered, so the coverage count checks it.
 */
function pendingByPartition(batch: InferenceEvent[], pending: Map<number, number[]>): void {
  for (const e of batch) {
    const p = crc32(Buffer.from(e.event_id)) % 12;
    let list = pending.get(p);
    if (!list) pending.set(p, (list = []));
    list.push(e.ended_at);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
