import { topicSpec, TOPICS, type TopicName } from '../../topology/topics';
import { ERASED_FIELDS } from '../shared/erasure/erasure';
import type { ArchiveEraseResult } from '../roller/archive-erase';
import type { EmbeddedLogEraseResult } from './embedded-log-erase';

/**
 * What `llm-logger erase` (and POST /api/admin/erase) did, store by store,
 * and what Kafka still holds. Pure: the report is built from the outcomes.
 */

export type StoreOutcome<T> = ({ status: 'done' } & T) | { status: 'skipped'; reason: string } | { status: 'failed'; error: string };

export interface KafkaHolding {
  topic: TopicName;
  retention_ms: number;
  /**
   * When Kafka deletes the user's records of this topic: the newest of them
   * found in the stores (or the erase itself, if none was) plus the
   * retention. Kafka deletes whole segments, so a record may outlive this
   * by up to the topic's segment roll time (segment.ms, 7 days by default).
   */
  holds_until: string;
  /** The same from the erase time: no record written before the erase outlives it (segments aside). */
  at_the_latest: string;
}

export interface ErasureReport {
  user: string;
  erased_at: string;
  /** Fields emptied in every store; every other field is kept (see the README: Erasure). */
  erased_fields: string[];
  /** True when every store that could be reached was erased and none still holds a body. */
  complete: boolean;
  /** The erasure kept on llm.erasures.v1, which consumers honour for records that reach them later. */
  tombstone: { topic: TopicName; recorded: boolean };
  stores: {
    log: StoreOutcome<{ backend: 'embedded' } & EmbeddedLogEraseResult>;
    /** `rows`: the user's calls that held bodies when the erase began; `remaining`: those still holding one after it. */
    console_view: StoreOutcome<{ rows: number; remaining: number; live_calls: number | null }>;
    search_index: StoreOutcome<{ backend: string; documents: number; remaining: number }>;
    archive: StoreOutcome<{ url: string } & ArchiveEraseResult>;
  };
  /** Kafka topics that still carry the user's bodies (their records cannot be edited); null on the embedded log. */
  kafka: KafkaHolding[] | null;
  notes: string[];
}

/** Topics whose records carry bodies: the events, the live progress, and the DLQ's copies. */
export const BODY_TOPICS: readonly TopicName[] = [TOPICS.inference, TOPICS.inferenceLive, TOPICS.dlq];

export function kafkaHoldings(erasedAtMs: number, newestEndedAtMs: number | null): KafkaHolding[] {
  return BODY_TOPICS.map((topic) => {
    const retention = topicSpec(topic).retentionMs;
    // DLQ copies are timestamped when they were sent there, not by the call: only the erase time bounds them.
    const newest = topic === TOPICS.dlq ? erasedAtMs : (newestEndedAtMs ?? erasedAtMs);
    return {
      topic,
      retention_ms: retention,
      holds_until: new Date(newest + retention).toISOString(),
      at_the_latest: new Date(erasedAtMs + retention).toISOString(),
    };
  });
}

export const ERASED_FIELD_LIST: string[] = [...ERASED_FIELDS];

function duration(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 24 ? `${h / 24} d` : `${h} h`;
}

function line(name: string, outcome: StoreOutcome<object>, done: (o: never) => string): string {
  if (outcome.status === 'skipped') return `  ${name}: skipped: ${outcome.reason}`;
  if (outcome.status === 'failed') return `  ${name}: FAILED: ${outcome.error}`;
  return `  ${name}: ${done(outcome as never)}`;
}

/** The report as text for a terminal. */
export function formatReport(r: ErasureReport): string {
  const s = r.stores;
  const out = [
    `erased user ${JSON.stringify(r.user)} at ${r.erased_at}: ${r.erased_fields.join(', ')} removed from the calls that started before then; metadata kept`,
    `  erasure recorded on ${r.tombstone.topic}: ${r.tombstone.recorded ? 'yes' : 'NO'}`,
    line('embedded log', s.log, (o: { records: Record<string, number>; unreadable_dlq: number; pending: Record<string, number>; wal_checkpointed: boolean }) => {
      const records = Object.entries(o.records).map(([t, n]) => `${t} ${n}`).join(', ');
      const pending = Object.entries(o.pending).map(([g, n]) => `${g} ${n}`).join(', ');
      return `records rewritten in place: ${records}${o.unreadable_dlq ? `; ${o.unreadable_dlq} DLQ records unreadable` : ''}${pending ? `; not yet consumed (stripped by the consumer when it writes them): ${pending}` : ''}${o.wal_checkpointed ? '' : '; WAL still holds old pages (a reader was busy): erase again'}`;
    }),
    line('console view', s.console_view, (o: { rows: number; remaining: number; live_calls: number | null }) =>
      `${o.rows} calls erased${o.remaining ? `, ${o.remaining} STILL HOLD BODIES` : ''}${o.live_calls ? `; ${o.live_calls} calls in flight cleared` : ''}`,
    ),
    line('search index', s.search_index, (o: { backend: string; documents: number; remaining: number }) =>
      `${o.documents} documents erased (${o.backend})${o.remaining ? `, ${o.remaining} STILL HOLD BODIES` : ''}`,
    ),
    line('archive', s.archive, (o: { url: string } & ArchiveEraseResult) =>
      `${o.files_rewritten} of ${o.files_scanned} files rewritten, ${o.rows} rows (${o.url})${o.journals_resumed ? `; ${o.journals_resumed} interrupted erases finished first (${o.resumed_files_rewritten} files)` : ''}`,
    ),
  ];
  if (r.kafka) {
    out.push("  Kafka keeps its records as written (they cannot be edited); the user's bodies stay in:");
    for (const k of r.kafka) {
      const left = Date.parse(k.holds_until) > Date.parse(r.erased_at);
      out.push(`    ${k.topic} (retention ${duration(k.retention_ms)}): ${left ? `until ${k.holds_until}` : 'aged out already'} (at the latest ${k.at_the_latest}, plus a segment roll)`);
    }
  }
  for (const n of r.notes) out.push(`  note: ${n}`);
  out.push(r.complete ? 'complete' : 'INCOMPLETE: run llm-logger erase again once the failed stores are back');
  return out.join('\n');
}
