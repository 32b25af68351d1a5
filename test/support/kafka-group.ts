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
