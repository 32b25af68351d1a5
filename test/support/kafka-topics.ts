import { createKafkaClient, type KafkaConsumer } from '../../services/shared/log/kafka/kafka-client';
import { TOPOLOGY } from '../../topology/topics';

/**
 * Makes sure the topology's topics exist on the local one-broker cluster
 * (replication factor 1), for tests that run the real roles on Kafka.
 */
export async function ensureTopics(brokers: string): Promise<void> {
  const kafka = createKafkaClient(brokers.split(','));
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
    // Wait until every partition has a leader: a client that asks earlier sees no partitions.
    for (let attempt = 0; attempt < 100; attempt++) {
      const meta = await admin.fetchTopicMetadata({ topics: TOPOLOGY.map((t) => t.name) }).catch(() => null);
      const ready = meta?.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('topics were created but have no leaders after 10 s');
  } finally {
    await admin.disconnect();
  }
}

export interface PartitionRange {
  partition: number;
  /** First offset whose record time is at or after the time asked for (the end if none is). */
  from: number;
  /** The end of the partition when asked (high watermark). */
  end: number;
}

/**
 * Where each partition of `topic` reaches back to `since` (epoch ms), and
 * where it ends now. A reader that must find the records of a test seeks
 * there instead of reading from the beginning: the dev broker is long-lived,
 * and benchmarks write millions of calls to the contract's topics.
 */
export async function partitionsSince(brokers: string, topic: string, since: number): Promise<PartitionRange[]> {
  const admin = createKafkaClient(brokers.split(',')).admin();
  await admin.connect();
  try {
    const [starts, ends] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, since), admin.fetchTopicOffsets(topic)]);
    const end = new Map(ends.map((p) => [p.partition, Number(p.high)]));
    return starts.map((p) => ({ partition: p.partition, from: Number(p.offset), end: end.get(p.partition) ?? Number(p.offset) }));
  } finally {
    await admin.disconnect();
  }
}

/** Points a consumer (before or after `run`) at where each range starts; empty ranges are left alone. */
export function seekToRanges(consumer: KafkaConsumer, topic: string, ranges: readonly PartitionRange[]): void {
  for (const p of ranges) if (p.from < p.end) consumer.seek({ topic, partition: p.partition, offset: String(p.from) });
}
