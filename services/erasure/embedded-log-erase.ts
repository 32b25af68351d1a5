import { roleGroup, TOPICS, type TopicName } from '../../topology/topics';
import { hasBodies, stripBodies, type Erasure } from '../shared/erasure/erasure';
import type { InferenceEvent } from '../shared/event/inference-event';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import { decodeLiveRecord, encodeLiveRecord } from '../shared/event/live-record-codec';
import type { LiveRecord } from '../shared/event/live-record';
import type { AvroSerde } from '../shared/event/serde';
import type { SqliteEventLog } from '../shared/log/embedded/sqlite-log';
import type { ConsumedRecord } from '../shared/log/event-log';

/**
 * Erasing a user's bodies from the embedded log: every record of the topics
 * that carry bodies is read, and those of the user's calls are written again
 * in place without them — same topic, partition, offset, key, headers and
 * timestamp, so no consumer's position moves. `llm.inference.v1` records
 * are Avro in the registry framing (re-encoded with the current schema);
 * `llm.inference.live.v1` records are JSON (the prompt of a `started`
 * record, the text of its `progress` records); the DLQ holds copies of
 * either, recognised by their `x-dlq-source-topic` header.
 */

export interface EmbeddedLogEraseResult {
  /** Records written again without bodies, by topic. */
  records: Partial<Record<TopicName, number>>;
  /** DLQ records that do not decode (poison): whose they are cannot be told; they age out with the DLQ's retention. */
  unreadable_dlq: number;
  /**
   * Of the user's records that held bodies, how many each consumer group had
   * not committed yet: in its memory (or not read) when the log was
   * rewritten. It strips them itself when it writes them (the erasure is recorded).
   */
  pending: Record<string, number>;
  /** Newest `ended_at` of the user's calls found (epoch ms), or null. */
  newest_ended_at: number | null;
  /** Whether the WAL could be cleared of the replaced pages (false: a reader held an old snapshot; erase again). */
  wal_checkpointed: boolean;
}

const CHUNK = 1_000;
const GROUPS = (['console', 'indexer', 'roller'] as const).map(roleGroup);

/** Calls `visit` with every record of a topic, a chunk at a time, and writes back the values it returns. */
async function rewriteTopic(
  log: SqliteEventLog,
  topic: TopicName,
  visit: (record: ConsumedRecord) => Promise<Buffer | null>,
): Promise<number> {
  let rewritten = 0;
  for (const [partition, end] of log.endOffsets(topic)) {
    for (let from = 0; from < end; ) {
      const records = log.readPartition(topic, partition, from, CHUNK);
      if (records.length === 0) break;
      const updates: { partition: number; offset: number; value: Buffer }[] = [];
      for (const r of records) {
        const value = await visit(r);
        if (value) updates.push({ partition, offset: r.offset, value });
      }
      if (updates.length > 0) rewritten += log.replaceValues(topic, updates);
      from = records[records.length - 1]!.offset + 1;
    }
  }
  return rewritten;
}

function liveRecord(value: Buffer): LiveRecord | null {
  try {
    return decodeLiveRecord(value);
  } catch {
    return null;
  }
}

async function inferenceEvent(serde: AvroSerde<InferenceEvent>, value: Buffer): Promise<InferenceEvent | null> {
  try {
    return await serde.decode(value);
  } catch {
    return null;
  }
}

export async function eraseFromEmbeddedLog(log: SqliteEventLog, erasure: Pick<Erasure, 'user' | 'erased_at'>): Promise<EmbeddedLogEraseResult> {
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const covered = (user: string | null, startedAt: number): boolean => user === erasure.user && startedAt <= erasure.erased_at;
  const committed = new Map(GROUPS.map((g) => [g, log.committedOffsets(g, TOPICS.inference)] as const));
  const result: EmbeddedLogEraseResult = { records: {}, unreadable_dlq: 0, pending: {}, newest_ended_at: null, wal_checkpointed: false };
  /** The user's calls (event ids): their live progress records carry no user. */
  const calls = new Set<string>();

  const stripEvent = (e: InferenceEvent | null): Buffer | null => {
    if (!e || !covered(e.user, e.started_at)) return null;
    calls.add(e.event_id);
    result.newest_ended_at = Math.max(result.newest_ended_at ?? 0, e.ended_at);
    return hasBodies(e) ? serde.encode(stripBodies(e)) : null;
  };
  const stripLive = (r: LiveRecord | null): Buffer | null => {
    if (r?.type === 'started' && covered(r.user, r.started_at)) {
      calls.add(r.event_id);
      return r.prompt !== null ? encodeLiveRecord({ ...r, prompt: null }) : null;
    }
    if (r?.type === 'progress' && calls.has(r.event_id)) return r.text !== '' ? encodeLiveRecord({ ...r, text: '' }) : null;
    return null;
  };

  result.records[TOPICS.inference] = await rewriteTopic(log, TOPICS.inference, async (r) => {
    const value = stripEvent(await inferenceEvent(serde, r.value));
    if (value) {
      for (const [group, offsets] of committed) {
        if (offsets.size > 0 && r.offset >= (offsets.get(r.partition) ?? 0)) result.pending[group] = (result.pending[group] ?? 0) + 1;
      }
    }
    return value;
  });
  // Started records first (they name the user), then the progress of those calls.
  const started = await rewriteTopic(log, TOPICS.inferenceLive, async (r) => {
    const live = liveRecord(r.value);
    return live?.type === 'started' ? stripLive(live) : null;
  });
  const progress = await rewriteTopic(log, TOPICS.inferenceLive, async (r) => {
    const live = liveRecord(r.value);
    return live?.type === 'progress' ? stripLive(live) : null;
  });
  result.records[TOPICS.inferenceLive] = started + progress;
  result.records[TOPICS.dlq] = await rewriteTopic(log, TOPICS.dlq, async (r) => {
    const source = r.headers['x-dlq-source-topic'];
    if (source === TOPICS.inferenceLive) return stripLive(liveRecord(r.value));
    if (source !== TOPICS.inference) return null;
    const event = await inferenceEvent(serde, r.value);
    if (!event) result.unreadable_dlq++;
    return stripEvent(event);
  });
  result.wal_checkpointed = log.checkpoint();
  return result;
}
