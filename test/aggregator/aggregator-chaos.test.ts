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
import { groupReached, topicEnds } from '../support/kafka-group';
import { AGGREGATOR_GROUP } from '../../services/aggregator/aggregate-processor';
import { startCli, type RunningCli } from '../support/processes';
import { compare, generateTraffic, groundTruth, rowsFor, type Traffic } from '../support/aggregate-truth';
import { runGateway, type RunningRole } from '../../services/gateway/run-gateway';
import { openEventLog } from '../../services/shared/log/open-log';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';

/**
 * Exactly once, shown the hard way: the aggregator is killed with SIGKILL at
 * random points while it works, restarted each time, and the aggregates it
 * leaves equal the ground truth computed from the input. Also with every
 * event posted three times to the ingest API (an SDK retrying): each counted once.
 */

interface Backend {
  env: Record<string, string>;
  log: EventLog;
  /** Where the input ends now, by partition. */
  inputEnds(): Promise<Map<number, number>>;
  /** Whether the aggregator's group has committed its input up to those ends. */
  committedTo(ends: Map<number, number>): Promise<boolean>;
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

/** The input straight into the log, in appends of 2,000. */
function produceSteps(log: EventLog, events: InferenceEvent[]): (() => Promise<void>)[] {
  const steps: (() => Promise<void>)[] = [];
  for (let i = 0; i < events.length; i += 2_000) steps.push(() => produce(log, events.slice(i, i + 2_000)));
  return steps;
}

/** `POST /ingest/v1/events` as an SDK sends a batch: the events as JSON, ids included. */
async function postIngest(gatewayUrl: string, events: InferenceEvent[]): Promise<void> {
  const res = await fetch(`${gatewayUrl}/ingest/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  const body = (await res.json()) as { accepted: number };
  if (res.status !== 200 || body.accepted !== events.length) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
}

/**
 * Every event posted `copies` times, in batches of 1,000: the copies of a
 * batch some batches apart and in another order each time (a retry comes
 * after a timeout, not at once), and so, with the kills, before and after them.
 */
function ingestSteps(gatewayUrl: string, events: InferenceEvent[], copies: number): (() => Promise<void>)[] {
  const batches: InferenceEvent[][] = [];
  for (let i = 0; i < events.length; i += 1_000) batches.push(events.slice(i, i + 1_000));
  const steps: (() => Promise<void>)[] = [];
  for (let copy = 0; copy < copies; copy++) {
    const order = copy % 2 === 1 ? [...batches].reverse() : batches;
    for (const b of order) steps.push(() => postIngest(gatewayUrl, b));
  }
  return steps;
}

/** An in-process gateway on `log`, for the ingest API. */
async function startGateway(env: Record<string, string>, log: EventLog): Promise<RunningRole> {
  const config = loadConfig({ ...env, LLM_LOGGER_GATEWAY_PORT: '0', LLM_LOGGER_GATEWAY_LIVE_INTERVAL_MS: '0', LLM_LOGGER_LOG_LEVEL: 'silent', LLM_LOGGER_INSTANCE: 'chaos-gw' });
  return runGateway(config, log, createMetricsRegistry(), createLogger('silent', 'test'));
}

async function startAggregator(env: Record<string, string>, instance: string): Promise<RunningCli> {
  return startCli(
    { ...env, LLM_LOGGER_METRICS_PORT: '0', LLM_LOGGER_INSTANCE: instance, LLM_LOGGER_AGGREGATOR_EMIT_INTERVAL_MS: '300' },
    ['aggregator'],
    60_000,
  );
}

/** The value of a counter in the aggregator's /metrics (0 when absent). */
async function metricOf(aggregator: RunningCli, line: string): Promise<number> {
  const port = /"port":(\d+)[^\n]*aggregator health and metrics listening/.exec(aggregator.output())![1];
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

interface ChaosOptions {
  /** What reaches the log, in order; split evenly between the kills. */
  steps: (() => Promise<void>)[];
  /** Settings of the aggregator beyond the backend's. */
  env?: Record<string, string>;
  /** Run with the last aggregator still up, once the aggregates are right. */
  afterwards?: (aggregator: RunningCli) => Promise<void>;
}

async function chaos(backend: Backend, traffic: Traffic, kills: number, options: ChaosOptions): Promise<void> {
  const chunks = kills + 1;
  const per = Math.ceil(options.steps.length / chunks);
  const env = { ...backend.env, ...options.env };
  // Restarted under the same instance id each time (its transactional id, and its static group member on
  // Kafka), unique per run: the broker's aggregator group is shared with every other run.
  const instance = `chaos-a-${randomUUID().slice(0, 8)}`;
  let aggregator = await startAggregator(env, instance);
  try {
    for (let k = 0; k < chunks; k++) {
      for (const step of options.steps.slice(k * per, (k + 1) * per)) await step();
      if (k === kills) break;
      // Let it work for a random while, then kill it mid-flight (no shutdown code runs).
      await sleep(300 + Math.floor(Math.random() * 1_500));
      aggregator.child.kill('SIGKILL');
      await aggregator.exited;
      aggregator = await startAggregator(env, instance);
    }
    // Read to the end first: right aggregates before the last copies are read would prove nothing about them.
    const ends = await backend.inputEnds();
    const readBy = Date.now() + 240_000;
    while (!(await backend.committedTo(ends))) {
      if (Date.now() > readBy) throw new Error(`the aggregator did not read its input to the end:\n${aggregator.output().slice(-4_000)}`);
      await sleep(500);
    }
    const hourTruth = groundTruth(traffic.events, WINDOWS['1h']);
    const minuteTruth = groundTruth(traffic.events, WINDOWS['1m']);
    const deadline = Date.now() + 240_000;
    let problems: string[] = ['not read yet'];
    let stableRounds = 0;
    while (Date.now() < deadline) {
      const partials = (await backend.partials()).values();
      const all = [...partials];
      const [hours, minutes] = [rowsFor(all, traffic.app, WINDOWS['1h']), rowsFor(all, traffic.app, WINDOWS['1m'])];
      problems = [...compare(hours, hourTruth), ...compare(minutes, minuteTruth)];
      // Nothing counted as late either (a copy there would hide from the calls).
      for (const r of [...hours, ...minutes]) if (r.late !== 0) problems.push(`window ${r.windowStart}: ${r.late} late`);
      // Equal twice in a row, a few commits apart: nothing more is coming (no late double count).
      stableRounds = problems.length === 0 ? stableRounds + 1 : 0;
      if (stableRounds === 2) break;
      await sleep(1_000);
    }
    if (problems.length > 0) problems.push(`aggregator output (tail):\n${aggregator.output().slice(-4_000)}`);
    expect(problems).toEqual([]);
    await options.afterwards?.(aggregator);
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
      inputEnds: async () => log.endOffsets(TOPICS.inference),
      committedTo: async (ends) => {
        const committed = log.committedOffsets(AGGREGATOR_GROUP, TOPICS.inference);
        return [...ends].every(([p, end]) => (committed.get(p) ?? 0) >= end);
      },
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
    const traffic = generateTraffic(20_000, Date.now(), 150_000);
    await chaos(backend, traffic, 5, { steps: produceSteps(log, traffic.events) });
  }, 240_000);

  test('every event posted three times to the ingest API, killed -9 five times: each counted once (10,000 events)', async () => {
    const serde = await aggregateSerde(log);
    const backend: Backend = {
      env: { LLM_LOGGER_DATA_DIR: dataDir },
      log,
      inputEnds: async () => log.endOffsets(TOPICS.inference),
      committedTo: async (ends) => {
        const committed = log.committedOffsets(AGGREGATOR_GROUP, TOPICS.inference);
        return [...ends].every(([p, end]) => (committed.get(p) ?? 0) >= end);
      },
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
    const gateway = await startGateway(backend.env, log);
    try {
      const url = `http://127.0.0.1:${gateway.port}`;
      const traffic = generateTraffic(10_000, Date.now(), 150_000);
      await chaos(backend, traffic, 5, {
        steps: ingestSteps(url, traffic.events, 3),
        // No window closes during the test: every copy arrives while its windows are open, where it would count.
        env: { LLM_LOGGER_AGGREGATOR_GRACE_MS: '900000', LLM_LOGGER_AGGREGATOR_IDLE_CLOSE_MS: '900000' },
        // The copies dropped are counted: 100 more events, posted twice, make exactly 100 more.
        afterwards: async (aggregator) => {
          const metric = 'llm_logger_duplicates_dropped_total{role="aggregator"}';
          const before = await metricOf(aggregator, metric);
          const more = generateTraffic(100, Date.now(), 1_000).events;
          await postIngest(url, more);
          await postIngest(url, more);
          const deadline = Date.now() + 30_000;
          while ((await metricOf(aggregator, metric)) < before + 100 && Date.now() < deadline) await sleep(200);
          await sleep(1_000);
          expect((await metricOf(aggregator, metric)) - before).toBe(100);
        },
      });
    } finally {
      await gateway.close();
    }
  }, 300_000);
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
      inputEnds: () => topicEnds(settings().brokers, TOPICS.inference),
      committedTo: (ends) => groupReached(settings().brokers, AGGREGATOR_GROUP, TOPICS.inference, ends),
      partials: async () => latest,
      close: async () => undefined,
    };
    const traffic = generateTraffic(100_000, Date.now(), 150_000);
    await chaos(backend, traffic, 5, { steps: produceSteps(log, traffic.events) });
  }, 480_000);

  test('every event posted three times to the ingest API, killed -9 five times: each counted once (10,000 events)', async () => {
    const env = {
      LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
      LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
      LLM_LOGGER_DATA_DIR: mkdtempSync(join(tmpdir(), 'llm-logger-agg-ki-')),
    };
    const backend: Backend = {
      env,
      log,
      inputEnds: () => topicEnds(settings().brokers, TOPICS.inference),
      committedTo: (ends) => groupReached(settings().brokers, AGGREGATOR_GROUP, TOPICS.inference, ends),
      partials: async () => latest,
      close: async () => undefined,
    };
    // The gateway as deployed on Kafka: its own producer, behind the disk spool.
    const config = loadConfig({ ...env, LLM_LOGGER_LOG_LEVEL: 'silent' });
    const gatewayLog = openEventLog(config, createLogger('silent', 'test'));
    const gateway = await startGateway(env, gatewayLog);
    try {
      const traffic = generateTraffic(10_000, Date.now(), 150_000);
      await chaos(backend, traffic, 5, {
        steps: ingestSteps(`http://127.0.0.1:${gateway.port}`, traffic.events, 3),
        env: { LLM_LOGGER_AGGREGATOR_GRACE_MS: '900000', LLM_LOGGER_AGGREGATOR_IDLE_CLOSE_MS: '900000' },
      });
    } finally {
      await gateway.close();
      await gatewayLog.close();
      rmSync(env.LLM_LOGGER_DATA_DIR, { recursive: true, force: true });
    }
  }, 480_000);
});
