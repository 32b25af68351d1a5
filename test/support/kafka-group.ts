import { Kafka, logLevel } from 'kafkajs';

/**
 * Points a new consumer group at the current end of a topic, so a test's
 * consumer reads only what the test produces next, not the shared broker's backlog.
 */
export async function startGroupAtEnd(brokers: string, groupId: string, topic: string): Promise<void> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
  } finally {
    await admin.disconnect();
  }
}

/** The next offset of each partition of a topic. */
export async function topicEnds(brokers: string, topic: string): Promise<Map<number, number>> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Whether a group has committed every partition of a topic up to `ends` (say, where a test's last records went). */
export async function groupReached(brokers: string, groupId: string, topic: string, ends: ReadonlyMap<number, number>): Promise<boolean> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return [...ends].every(([p, end]) => (at.get(p) ?? -1) >= end);
  } finally {
    await admin.disconnect();
  }
}
