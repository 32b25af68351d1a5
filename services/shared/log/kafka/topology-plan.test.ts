import { TOPOLOGY, TOPICS } from '../../../../topology/topics';
import { desiredTopicConfigs, planChangesSomething, planTopology, type ActualTopic, type PlannedTopic } from './topology-plan';

const DAY_MS = 24 * 60 * 60 * 1000;

const events: PlannedTopic = {
  name: 'events',
  partitions: 6,
  replicationFactor: 3,
  minInsyncReplicas: 2,
  cleanupPolicy: 'delete',
  retentionMs: 7 * DAY_MS,
};
const compacted: PlannedTopic = { ...events, name: 'state', cleanupPolicy: 'compact', retentionMs: -1 };

/** What Kafka reports for a topic created exactly as planned. */
function asCreated(topic: PlannedTopic, replicationFactor: number | null = null): ActualTopic {
  return {
    partitions: topic.partitions,
    replicationFactor: replicationFactor ?? topic.replicationFactor,
    configs: { ...desiredTopicConfigs(topic, replicationFactor), 'segment.bytes': '1073741824' },
  };
}

describe('desiredTopicConfigs', () => {
  test('every topic gets its cleanup policy, retention, min ISR and producer compression', () => {
    expect(desiredTopicConfigs(events, null)).toEqual({
      'cleanup.policy': 'delete',
      'retention.ms': String(7 * DAY_MS),
      'min.insync.replicas': '2',
      'compression.type': 'producer',
    });
    expect(desiredTopicConfigs(compacted, null)).toMatchObject({ 'cleanup.policy': 'compact', 'retention.ms': '-1' });
  });

  test('min.insync.replicas never exceeds the replication factor in effect', () => {
    expect(desiredTopicConfigs(events, 1)['min.insync.replicas']).toBe('1');
    expect(desiredTopicConfigs({ ...events, replicationFactor: 1 }, null)['min.insync.replicas']).toBe('1');
    expect(desiredTopicConfigs(events, 5)['min.insync.replicas']).toBe('2');
  });

  test('the real topology: the inference topic keeps a week, aggregates are compacted and kept 35 days, the changelog forever', () => {
    const byName = new Map(TOPOLOGY.map((t) => [t.name, desiredTopicConfigs(t, null)]));
    expect(byName.get(TOPICS.inference)).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) });
    expect(byName.get(TOPICS.aggregates)).toMatchObject({ 'cleanup.policy': 'compact,delete', 'retention.ms': String(35 * DAY_MS) });
    expect(byName.get(TOPICS.aggregatorChangelog)).toMatchObject({ 'cleanup.policy': 'compact', 'retention.ms': '-1' });
  });
});

describe('planTopology', () => {
  test('missing topics are created with their partitions, replication factor and configs', () => {
    const plan = planTopology([events, compacted], new Map(), { replicationFactor: null });
    expect(plan.create).toEqual([
      { topic: 'events', partitions: 6, replicationFactor: 3, configs: desiredTopicConfigs(events, null) },
      { topic: 'state', partitions: 6, replicationFactor: 3, configs: desiredTopicConfigs(compacted, null) },
    ]);
    expect(plan.refusals).toEqual([]);
    expect(planChangesSomething(plan)).toBe(true);
  });

  test('the replication factor override applies to new topics (and caps min ISR)', () => {
    const plan = planTopology([events], new Map(), { replicationFactor: 1, brokerCount: 1 });
    expect(plan.create[0]).toMatchObject({ replicationFactor: 1, configs: { 'min.insync.replicas': '1' } });
  });

  test('topics that match are unchanged: nothing to do', () => {
    const actual = new Map([
      ['events', asCreated(events)],
      ['state', asCreated(compacted)],
      ['unrelated', asCreated({ ...events, name: 'unrelated', partitions: 100 })],
    ]);
    const plan = planTopology([events, compacted], actual, { replicationFactor: null });
    expect(plan).toEqual({ create: [], addPartitions: [], alterConfigs: [], refusals: [], unchanged: ['events', 'state'] });
    expect(planChangesSomething(plan)).toBe(false);
  });

  test('a different config value is altered, naming the old and new value', () => {
    const actual = new Map([['events', asCreated({ ...events, retentionMs: DAY_MS })]]);
    const plan = planTopology([events], actual, { replicationFactor: null });
    expect(plan.alterConfigs).toEqual([{ topic: 'events', changes: { 'retention.ms': { from: String(DAY_MS), to: String(7 * DAY_MS) } } }]);
    expect(plan.unchanged).toEqual([]);
  });

  test('a config Kafka did not report is set (from null)', () => {
    const current = asCreated(events);
    delete current.configs['compression.type'];
    const plan = planTopology([events], new Map([['events', current]]), { replicationFactor: null });
    expect(plan.alterConfigs).toEqual([{ topic: 'events', changes: { 'compression.type': { from: null, to: 'producer' } } }]);
  });

  test('more partitions are added', () => {
    const plan = planTopology([{ ...events, partitions: 12 }], new Map([['events', asCreated(events)]]), { replicationFactor: null });
    expect(plan.addPartitions).toEqual([{ topic: 'events', from: 6, to: 12 }]);
    expect(plan.refusals).toEqual([]);
  });

  test('fewer partitions are refused: Kafka cannot remove partitions', () => {
    const plan = planTopology([{ ...events, partitions: 6 }], new Map([['events', asCreated({ ...events, partitions: 12 })]]), {
      replicationFactor: null,
    });
    expect(plan.refusals).toEqual([
      { topic: 'events', reason: 'topic events has 12 partitions; Kafka cannot reduce them to 6: create a new topic version instead' },
    ]);
    expect(plan.addPartitions).toEqual([]);
    expect(plan.unchanged).toEqual([]);
  });

  test('a different replication factor for an existing topic is refused: it needs a reassignment', () => {
    const plan = planTopology([events], new Map([['events', asCreated(events, 1)]]), { replicationFactor: null });
    expect(plan.refusals).toHaveLength(1);
    expect(plan.refusals[0]!.reason).toContain('topic events has replication factor 1, not 3');
    expect(plan.refusals[0]!.reason).toContain('partition reassignment');
    expect(plan.refusals[0]!.reason).toContain('LLM_LOGGER_KAFKA_REPLICATION_FACTOR=1');
    // min.insync.replicas was created for one replica: the plan also says it would change.
    expect(plan.alterConfigs).toEqual([{ topic: 'events', changes: { 'min.insync.replicas': { from: '1', to: '2' } } }]);
  });

  test('with the override matching the cluster, a one-replica topic is in step', () => {
    const plan = planTopology([events], new Map([['events', asCreated(events, 1)]]), { replicationFactor: 1 });
    expect(plan.unchanged).toEqual(['events']);
    expect(plan.refusals).toEqual([]);
  });

  test('a new topic with more replicas than brokers is refused with the override named', () => {
    const plan = planTopology([events], new Map(), { replicationFactor: null, brokerCount: 1 });
    expect(plan.create).toEqual([]);
    expect(plan.refusals[0]!.reason).toBe(
      'topic events needs replication factor 3 but the cluster has 1 broker: add brokers, or set ' +
        'LLM_LOGGER_KAFKA_REPLICATION_FACTOR=1 (e.g. on a one-broker development cluster)',
    );
  });

  test('one plan holds every kind of change, topic by topic', () => {
    const plan = planTopology(
      [events, compacted, { ...events, name: 'more', partitions: 8 }, { ...events, name: 'new' }],
      new Map([
        ['events', asCreated(events)],
        ['state', asCreated({ ...compacted, cleanupPolicy: 'delete' })],
        ['more', asCreated(events)],
      ]),
      { replicationFactor: null },
    );
    expect(plan.create.map((c) => c.topic)).toEqual(['new']);
    expect(plan.addPartitions).toEqual([{ topic: 'more', from: 6, to: 8 }]);
    expect(plan.alterConfigs.map((a) => a.topic)).toEqual(['state']);
    expect(plan.unchanged).toEqual(['events']);
  });
});
