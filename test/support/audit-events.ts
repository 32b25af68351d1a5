import { v7 as uuidv7 } from 'uuid';
import { TOPICS } from '../../topology/topics';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath } from '../../services/shared/log/open-log';
import { sampleEvent } from './sample-event';

/** Events for the audit-index tests and benchmark (no test-runner globals: the benchmark imports it too). */

/**
 * `n` distinct events, one second apart (by default ending now: older ones would
 * be past the retention period), with a searchable sentence each.
 */
export function auditEvents(n: number, start = Date.now() - n * 1000, over: (i: number) => Partial<InferenceEvent> = () => ({})): InferenceEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const t = start + i * 1000;
    return sampleEvent({
      event_id: uuidv7({ msecs: t }),
      started_at: t,
      first_token_at: t + 100,
      ended_at: t + 500,
      request_body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question number ${i} about topic ${i % 7}` }] }),
      response_text: `answer number ${i}`,
      ...over(i),
    });
  });
}

/** Appends events to the embedded log of a data directory (as the gateway would). */
export async function appendToEmbeddedLog(dataDir: string, events: InferenceEvent[]): Promise<void> {
  const log = new SqliteEventLog({ path: embeddedLogPath(dataDir), sync: 'normal' });
  try {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    for (let i = 0; i < events.length; i += 1000) {
      await log.append(
        TOPICS.inference,
        events.slice(i, i + 1000).map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })),
      );
    }
  } finally {
    await log.close();
  }
}
