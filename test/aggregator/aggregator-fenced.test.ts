import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import { WINDOWS, aggregateKey, type AggregateRecord } from '../../services/aggregator/core/aggregate-record';
import { AGGREGATOR_GROUP } from '../../services/aggregator/aggregate-processor';
import { aggregateSerde } from '../../services/aggregator/run-aggregator';
import { loadConfig } from '../../services/shared/config/config';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { createKafkaClient, type KafkaConsumer } from '../../services/shared/log/kafka/kafka-client';
import { KafkaEventLog } from '../../services/shared/log/kafka/kafka-log';
import { ConfluentRegistryClient } from '../../services/shared/log/kafka/registry-client';
import { createLogger } from '../../services/shared/observability/logger';
import { compare, generateTraffic, groundTruth, rowsFor } from '../support/aggregate-truth';
import { describeWithInfra } from '../support/infra';
import { startGroupAtEnd } from '../support/kafka-group';
import { ensureTopics } from '../support/kafka-topics';
import { startCli, type RunningCli } from '../support/processes';
import { describeGroup } from '../support/role-process';

/**
 * Exactly once through a restart as the same instance while the old process
 * is still alive: aggregator A is frozen (SIGSTOP) mid-work, a new process
 * starts under A's LLM_LOGGER_INSTANCE and takes A's place in the group at
 * once (static membership) and its transactional id (fencing A's producer),
 * then A wakes up. A must find itself fenced and stop without committing
 * anything, the other aggregator B must not have been rebalanced, and no
 * window may count a call twice: the aggregates equal the ground truth.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const assignments = (p: RunningCli): number => (p.output().match(/"msg":"partitions assigned"/g) ?? []).length;

describeWithInfra('aggregator restarted as the same instance while the old one is still alive (Kafka)', (settings) => {
  let log: KafkaEventLog;
  let consumer: KafkaConsumer;
  const latest = new Map<string, AggregateRecord>();
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-agg-fenced-'));
  const started: RunningCli[] = [];

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    // The aggregator group is shared by every run on this broker (its topics are); when nobody is in it, skip the
    // backlog other runs left, so this test reads only its own traffic.
    await startGroupAtEnd(settings().brokers, AGGREGATOR_GROUP, TOPICS.inference).catch(() => undefined);
    const config = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: settings().brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl });
    log = new KafkaEventLog({ brokers: config.log.kafkaBrokers!, settings: config.log.kafka, registry: new ConfluentRegistryClient({ url: settings().registryUrl }), logger: createLogger('warn', 'test') });
    const serde = await aggregateSerde(log);
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
    for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await consumer?.disconnect();
    await log?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function produce(events: InferenceEvent[]): Promise<void> {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    for (let i = 0; i < events.length; i += 1_000) {
      const chunk = events.slice(i, i + 1_000);
      await log.append(TOPICS.inference, chunk.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })));
    }
  }

  async function aggregator(instance: string): Promise<RunningCli> {
    const p = await startCli(
      {
        LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
        LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
        LLM_LOGGER_DATA_DIR: dataDir,
        LLM_LOGGER_METRICS_PORT: '0',
        LLM_LOGGER_INSTANCE: instance,
        LLM_LOGGER_AGGREGATOR_EMIT_INTERVAL_MS: '300',
      },
      ['aggregator'],
      60_000,
    );
    started.push(p);
    return p;
  }

  async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  test('the frozen one finds itself fenced and stops; the other is not rebalanced; no window counts a call twice', async () => {
    const run = randomUUID().slice(0, 8);
    const ids = { a: `fenced-a-${run}`, b: `fenced-b-${run}` };
    const traffic = generateTraffic(30_000, Date.now(), 120_000);
    const a = await aggregator(ids.a);
    await until('A to get partitions', () => assignments(a) >= 1);
    const b = await aggregator(ids.b);
    // A's second assignment: the rebalance B's arrival caused.
    await until('A and B to share the partitions', () => assignments(b) >= 1 && assignments(a) >= 2);
    await produce(traffic.events.slice(0, 15_000));
    await sleep(1_500);

    const group = await describeGroup(settings().brokers, AGGREGATOR_GROUP, TOPICS.inference);
    const onlyOurs = group.members.every((m) => m.memberId.startsWith(`${ids.a}-`) || m.memberId.startsWith(`${ids.b}-`));
    const bAssignments = assignments(b);
    // Frozen mid-work: still a member, its transaction maybe open.
    a.child.kill('SIGSTOP');
    const a2 = await aggregator(ids.a);
    await until('the new A to take A\'s partitions', () => assignments(a2) >= 1);
    await produce(traffic.events.slice(15_000));
    await sleep(3_000);
    a.child.kill('SIGCONT');
    // The old A's next heartbeat (or its next transaction) tells it another process is A now.
    expect(await a.exited).toBe(1);
    expect(a.output()).toMatch(/kafka consumer fenced: another process joined group llm-logger-aggregator as instance fenced-a-[0-9a-f]+/);

    const hourTruth = groundTruth(traffic.events, WINDOWS['1h']);
    const minuteTruth = groundTruth(traffic.events, WINDOWS['1m']);
    let problems: string[] = ['not read yet'];
    let stable = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && stable < 2) {
      const all = [...latest.values()];
      problems = [...compare(rowsFor(all, traffic.app, WINDOWS['1h']), hourTruth), ...compare(rowsFor(all, traffic.app, WINDOWS['1m']), minuteTruth)];
      // Equal twice in a row, a few commits apart: nothing more is coming (no late double count).
      stable = problems.length === 0 ? stable + 1 : 0;
      await sleep(1_000);
    }
    if (problems.length > 0) problems.push(`new A (tail):\n${a2.output().slice(-3_000)}\nold A (tail):\n${a.output().slice(-3_000)}`);
    expect(problems).toEqual([]);
    // Static membership: A's restart did not move B's partitions (unless another run's aggregator came and went meanwhile).
    if (onlyOurs) expect(assignments(b)).toBe(bAssignments);
    else process.stderr.write('aggregator-fenced: another run\'s aggregator shares the group; B\'s assignments not checked\n');

    for (const p of [a2, b]) p.child.kill('SIGTERM');
    expect(await a2.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 300_000);
});
