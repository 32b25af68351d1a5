import { TOPICS, type TopicName } from '../../topology/topics';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import type { ConsumedRecord } from '../../services/shared/log/event-log';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath } from '../../services/shared/log/open-log';

/** Every record of a topic in an embedded log, read straight from its file. */
export function readRecords(dataDir: string, topic: TopicName): ConsumedRecord[] {
  const log = new SqliteEventLog({ path: embeddedLogPath(dataDir), sync: 'normal' });
  try {
    const records: ConsumedRecord[] = [];
    for (const [p, end] of log.endOffsets(topic)) {
      if (end > 0) records.push(...log.readPartition(topic, p, 0, end));
    }
    return records;
  } finally {
    void log.close();
  }
}

export async function readInferenceEvents(dataDir: string): Promise<InferenceEvent[]> {
  const log = new SqliteEventLog({ path: embeddedLogPath(dataDir), sync: 'normal' });
  try {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const events: InferenceEvent[] = [];
    for (const [p, end] of log.endOffsets(TOPICS.inference)) {
      for (const r of log.readPartition(TOPICS.inference, p, 0, end)) events.push(await serde.decode(r.value));
    }
    return events;
  } finally {
    await log.close();
  }
}
