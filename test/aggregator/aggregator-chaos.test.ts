import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { TOPICS } from '../../topology/topics';
import { WINDOWS, aggregateKey, type AggregateRecord } from '../../services/aggregator/core/aggregate-record';
import { aggregateSerde } from '../../services/aggregator/run-aggregator';
import { loadConfig } from '../../services/shared/config/config';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import type { EventLog } from '../../services/shared/log/event-log';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { createKafkaClient, type KafkaConsumer } from '../../services/shared/log/kafka/kafka-client';
import { KafkaEventLog } from '../../services/shared/log/kafka/kafka-log';
import { ConfluentRegistryClient } from '../../services/shared/log/kafka/registry-client';
import { embeddedLogPath } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { describeWithInfra } from '../support/infra';
import { ensureTopics } from '../support/kafka-topics';
import { startCli, type RunningCli } from '../support/processes';
import { compare, generateTraffic, groundTruth, rowsFor, type Traffic } from '../support/aggregate-truth';

/**
 * Exactly once, shown the hard way: the aggregator is killed with SIGKILL at
 * random points while it works, restarted each time, and the aggregates it
 * leaves equal the ground truth computed from the input.
 */

interface Backend {
  env: Record<string, string>;
  log: EventLog;
  /** The newest partial per key on llm.aggregates.v1 (committed records only). */
  partials(): Promise<Map<string, AggregateRecord>>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function produce(log: EventLog, events: InferenceEvent[]): Promise<void> {
  const serde = await inferenceEventSerde(log.schemaRegistry);
  for (let i = 0; i < events.length; i += 2_000) {
    const chunk = events.slice(i, i + 2_000);
    await log.append(
      TOPICS.inference,
      chunk.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })),
    );
  }
}

async function startAggregator(env: Record<string, string>, instance: string): Promise<RunningCli> {
  return startCli(
    { ...env, LLM_LOGGER_METRICS_PORT: '0', LLM_LOGGER_INSTANCE: instance, LLM_LOGGER_AGGREGATOR_EMIT_INTERVAL_MS: '300' },
    ['aggregator'],
    60_000,
  );
}

async function chaos(backend: Backend, traffic: Traffic, kills: number): Promise<void> {
  const chunks = kills + 1;
  const per = Math.ceil(traffic.events.length / chunks);
  // Restarted under the same instance id each time (its transactional id, and its static group member on
  // Kafka), unique per run: the broker's aggregator group is shared with every other run.
  const instance = `chaos-a-${randomUUID().slice(0, 8)}`;
  let aggregator = await startAggregator(backend.env, instance);
  try {
    for (let k = 0; k < chunks; k++) {
      await produce(backend.log, traffic.events.slice(k * per, (k + 1) * per));
      if (k === kills) break;
      // Let it work for a random while, then kill it mid-flight (no shutdown code runs).
      await sleep(300 + Math.floor(Math.random() * 1_500));
      aggregator.child.kill('SIGKILL');
      await aggregator.exited;
      aggregator = await startAggregator(backend.env, instance);
    }
    const hourTruth = groundTruth(traffic.events, WINDOWS['1h']);
    const minuteTruth = groundTruth(traffic.events, WINDOWS['1m']);
    const deadline = Date.now() + 240_000;
    let problems: string[] = ['not read yet'];
    let stableRounds = 0;
    while (Date.now() < deadline) {
      const partials = (await backend.partials()).values();
      const all = [...partials];
      problems = [...compare(rowsFor(all, traffic.app, WINDOWS['1h']), hourTruth), ...compare(rowsFor(all, traffic.app, WINDOWS['1m']), minuteTruth)];
      // Equal twice in a row, a few commits apart: nothing more is coming (no late double count).
      stableRounds = problems.length === 0 ? stableRounds + 1 : 0;
      if (stableRounds === 2) break;
      await sleep(1_000);
    }
    if (problems.length > 0) problems.push(`aggregator output (tail):\n${aggregator.output().slice(-4_000)}`);
    expect(problems).toEqual([]);
  } finally {
    aggregator.child.kill('SIGTERM');
    await aggregator.exited;
  }
}

describe('aggregator on the embedded log', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-agg-'));
  let log: SqliteEventLog;
  beforeAll(() => {
    log = new SqliteEventLog({ path: embeddedLogPath(dataDir), sync: 'normal' });
  });
  afterAll(async () => {
    await log?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('killed -9 five times, its aggregates equal the ground truth (20,000 events)', async () => {
    const serde = await aggregateSerde(log);
    const backend: Backend = {
      env: { LLM_LOGGER_DATA_DIR: dataDir },
      log,
      async partials() {
        const out = new Map<string, AggregateRecord>();
        for (const [p, end] of log.endOffsets(TOPICS.aggregates)) {
          for (const r of log.readPartition(TOPICS.aggregates, p, 0, end)) {
            const a = await serde.decode(r.value);
            out.set(aggregateKey(a), a);
          }
        }
        return out;
      },
      close: async () => undefined,
    };
    await chaos(backend, generateTraffic(20_000, Date.now(), 150_000), 5);
  }, 240_000);
});

describeWithInfra('aggregator on Kafka', (settings) => {
  let log: KafkaEventLog;
  let consumer: KafkaConsumer;
  const latest = new Map<string, AggregateRecord>();

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    const config = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: settings().brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl });
    log = new KafkaEventLog({
      brokers: settings().brokers.split(','),
      settings: config.log.kafka,
      registry: new ConfluentRegistryClient({ url: settings().registryUrl }),
      logger: createLogger('warn', 'test'),
    });
    const serde = await aggregateSerde(log);
    // An independent reader of the aggregate topic, read_committed like every consumer of it must be.
    consumer = createKafkaClient(settings().brokers.split(',')).consumer({
      kafkaJS: { groupId: `test-aggregates-${randomUUID()}`, fromBeginning: true, autoCommit: false },
      'isolation.level': 'read_committed',
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.aggregates] });
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value || message.value.length === 0) return;
        const a = await serde.decode(message.value);
        latest.set(aggregateKey(a), a);
      },
    });
  }, 60_000);
  afterAll(async () => {
    await consumer?.disconnect();
    await log?.close();
  });

  test('killed -9 five times, its aggregates equal the ground truth (100,000 events)', async () => {
    const backend: Backend = {
      env: { LLM_LOGGER_KAFKA_BROKERS: settings().brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl, LLM_LOGGER_DATA_DIR: mkdtempSync(join(tmpdir(), 'llm-logger-agg-k-')) },
      log,
      partials: async () => latest,
      close: async () => undefined,
    };
    await chaos(backend, generateTraffic(100_000, Date.now(), 150_000), 5);
  }, 480_000);
});
