import { KafkaJS } from '@confluentinc/kafka-javascript';
import { TOPOLOGY } from '../../topology/topics';

/**
 * Makes sure the topology's topics exist on the local one-broker cluster
 * (replication factor 1), for tests that run the real roles on Kafka.
 */
export async function ensureTopics(brokers: string): Promise<void> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: brokers.split(','), logLevel: KafkaJS.logLevel.NOTHING } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = TOPOLOGY.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: [{ name: 'cleanup.policy', value: t.cleanupPolicy }],
        })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}
