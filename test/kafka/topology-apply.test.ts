import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes, ConfigSource, Kafka, logLevel, type Admin } from 'kafkajs';
import { TOPICS, TOPOLOGY } from '../../topology/topics';
import { runTopology } from '../../services/cli/topology';
import { loadConfig, type Config } from '../../services/shared/config/config';
import type { RenderedTopic } from '../../services/shared/log/kafka/strimzi-render';
import { KafkaTopologyAdmin } from '../../services/shared/log/kafka/topology-admin';
import { describeWithInfra } from '../support/infra';

/**
 * `topology apply` against the real broker (infra/dev: one broker, so the
 * replication factor is overridden to 1, as LLM_LOGGER_KAFKA_REPLICATION_FACTOR=1
 * does for the real topics). Every run works on renamed copies of TOPOLOGY
 * (test.<uuid>.llm.inference.v1, …) and deletes them afterwards. What Kafka
 * holds is read back with a separate kafkajs admin, not through the code under test.
 */
describeWithInfra('topology apply on Kafka', (settings) => {
  const prefix = `test.${randomUUID()}.`;
  const topics: RenderedTopic[] = TOPOLOGY.map((t) => ({ ...t, name: prefix + t.name }));
  const name = (real: string): string => prefix + real;
  let raw: Admin;
  let admin: KafkaTopologyAdmin;
  let config: Config;

  const configFor = (rf: string | null): Config =>
    loadConfig({
      LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
      LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
      ...(rf === null ? {} : { LLM_LOGGER_KAFKA_REPLICATION_FACTOR: rf }),
    });

  /** Runs the command as `llm-logger topology apply` would, capturing what it prints. */
  async function cli(cfg: Config, list: readonly RenderedTopic[] = topics): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runTopology(['apply'], cfg, {
      topics: list,
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
    });
    return { code, stdout, stderr };
  }

  async function readBack(topic: string): Promise<{ partitions: number; replicas: number; configs: Record<string, string>; overrides: string[] }> {
    const { topics: [meta] } = await raw.fetchTopicMetadata({ topics: [topic] });
    const { resources: [res] } = await raw.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    const configs: Record<string, string> = {};
    for (const e of res!.configEntries) configs[e.configName] = e.configValue;
    return {
      partitions: meta!.partitions.length,
      replicas: meta!.partitions[0]!.replicas.length,
      configs,
      overrides: res!.configEntries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG).map((e) => e.configName).sort(),
    };
  }

  beforeAll(async () => {
    raw = new Kafka({ brokers: settings().brokers.split(','), clientId: 'topology-apply-test', logLevel: logLevel.NOTHING }).admin();
    await raw.connect();
    config = configFor('1');
    admin = await KafkaTopologyAdmin.connect(config.log.kafkaBrokers!, config.log.kafka);
  });

  afterAll(async () => {
    await admin?.close();
    // Other suites may restart the dev broker: retry for a while rather than leave topics behind.
    for (let attempt = 1; attempt <= 10; attempt++) {
      try {
        const mine = (await raw.listTopics()).filter((t) => t.startsWith(prefix));
        if (mine.length > 0) await raw.deleteTopics({ topics: mine });
        break;
      } catch (err) {
        if (attempt === 10) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    await raw?.disconnect();
  }, 30_000);

  test('replication factor 3 on a one-broker cluster is refused up front, naming the override', async () => {
    const r = await cli(configFor(null));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refused: topic ${name(TOPICS.inference)} needs replication factor 3 but the cluster has 1 broker`);
    expect(r.stderr).toContain('LLM_LOGGER_KAFKA_REPLICATION_FACTOR=1');
    expect(r.stderr).toContain('nothing was changed');
    expect((await raw.listTopics()).filter((t) => t.startsWith(prefix))).toEqual([]);
  });

  test('creates the missing topics with their partitions and configs', async () => {
    const r = await cli(config);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`create      ${name(TOPICS.inference)}: 12 partitions, replication factor 1`);
    expect(r.stdout).toContain(`applied: ${TOPOLOGY.length} created`);
    for (const spec of TOPOLOGY) {
      const t = await readBack(name(spec.name));
      expect({ topic: spec.name, partitions: t.partitions, replicas: t.replicas }).toEqual({ topic: spec.name, partitions: spec.partitions, replicas: 1 });
      expect(t.configs).toMatchObject({
        'cleanup.policy': spec.cleanupPolicy,
        'retention.ms': String(spec.retentionMs),
        'min.insync.replicas': '1', // capped at the replication factor
        'compression.type': 'producer',
      });
      expect(t.overrides).toEqual(['cleanup.policy', 'compression.type', 'min.insync.replicas', 'retention.ms']);
    }
    expect((await readBack(name(TOPICS.aggregates))).configs['cleanup.policy']).toBe('compact,delete');
  });

  test('a second apply changes nothing', async () => {
    const plan = await admin.plan(topics, { replicationFactor: 1 });
    expect(plan).toEqual({ create: [], addPartitions: [], alterConfigs: [], refusals: [], unchanged: topics.map((t) => t.name) });
    const r = await cli(config);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to change: every topic matches topology/');
    expect(r.stdout).not.toMatch(/^(create|partitions|config) /m);
  });

  test('a changed retention is altered, and overrides set by others are kept', async () => {
    const live = name(TOPICS.inferenceLive);
    // An override topology/ knows nothing about: AlterConfigs must not drop it.
    await raw.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: live,
          configEntries: [
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'retention.ms', value: '3600000' },
            { name: 'min.insync.replicas', value: '1' },
            { name: 'compression.type', value: 'producer' },
            { name: 'max.message.bytes', value: '2097152' },
          ],
        },
      ],
    });
    // The broker applies a config change a moment after acknowledging it: wait until it shows, as it would
    // for an override someone set earlier (apply can only keep the overrides it can read).
    const deadline = Date.now() + 10_000;
    while ((await readBack(live)).configs['max.message.bytes'] !== '2097152' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const changed = topics.map((t) => (t.name === live ? { ...t, retentionMs: 2 * 60 * 60 * 1000 } : t));
    const r = await cli(config, changed);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`config      ${live}: retention.ms 3600000 -> 7200000`);
    const t = await readBack(live);
    expect(t.configs['retention.ms']).toBe('7200000');
    expect(t.configs['max.message.bytes']).toBe('2097152');
    expect(t.configs['cleanup.policy']).toBe('delete');
    expect((await admin.plan(changed, { replicationFactor: 1 })).unchanged).toHaveLength(topics.length);
  });

  test('more partitions are added', async () => {
    const alerts = name(TOPICS.alerts);
    const more = topics.map((t) => (t.name === alerts ? { ...t, partitions: 3 } : t));
    const r = await cli(config, more);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`partitions  ${alerts}: 1 -> 3`);
    expect((await readBack(alerts)).partitions).toBe(3);
    expect((await admin.plan(more, { replicationFactor: 1 })).addPartitions).toEqual([]);
  });

  test('fewer partitions are refused with a clear message, and nothing changes (not even the possible part)', async () => {
    const inference = name(TOPICS.inference);
    const dlq = name(TOPICS.dlq);
    const before = await Promise.all([readBack(inference), readBack(dlq)]);
    const fewer = topics.map((t) =>
      t.name === inference ? { ...t, partitions: 6 } : t.name === dlq ? { ...t, retentionMs: 1000 * 60 * 60 * 24, partitions: 5 } : t,
    );
    const r = await cli(config, fewer);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `refused: topic ${inference} has 12 partitions; Kafka cannot reduce them to 6: create a new topic version instead`,
    );
    expect(r.stderr).toContain('nothing was changed');
    expect(r.stdout).toBe('');
    expect(await Promise.all([readBack(inference), readBack(dlq)])).toEqual(before);
    // The admin refuses such a plan too, whoever calls it.
    await expect(admin.apply(await admin.plan(fewer, { replicationFactor: 1 }))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await Promise.all([readBack(inference), readBack(dlq)])).toEqual(before);
  });

  test('an existing topic with another replication factor is refused: it needs a reassignment', async () => {
    const plan = await admin.plan(topics, { replicationFactor: 3 });
    expect(plan.refusals.filter((r) => r.reason.includes('has replication factor 1, not 3')).map((r) => r.topic)).toEqual(topics.map((t) => t.name));
    expect(plan.refusals[0]!.reason).toBe(
      `topic ${name(TOPICS.inference)} has replication factor 1, not 3: changing it needs a partition reassignment ` +
        `(kafka-reassign-partitions, or Cruise Control under Strimzi), which topology apply does not do`,
    );
  });

  test('an unreachable cluster is a clear error, not a hang', async () => {
    const cfg = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: '127.0.0.1:1', LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl });
    await expect(cli(cfg)).rejects.toMatchObject({ code: 'LOG_UNAVAILABLE', message: expect.stringContaining('127.0.0.1:1') });
  });
});
