/**
 * Topics as code: the only place a topic name is spelled. Kafka topic configs,
 * Strimzi resources and the embedded log's partition counts all come from here.
 */

export const TOPICS = {
  inference: 'llm.inference.v1',
  inferenceLive: 'llm.inference.live.v1',
  aggregates: 'llm.aggregates.v1',
  alerts: 'llm.alerts.v1',
  dlq: 'llm.inference.dlq.v1',
  aggregatorChangelog: 'llm.aggregator.changelog.v1',
  access: 'llm.access.v1',
  erasures: 'llm.erasures.v1',
} as const;

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey];

export type Role = 'gateway' | 'aggregator' | 'indexer' | 'roller' | 'console';

/**
 * The consumer group of a role. Every other group a role uses starts with it
 * (the aggregator's state restore, a role's ephemeral readers, see
 * readerGroupPrefix), so one prefix ACL covers them all.
 */
export function roleGroup(role: Role): string {
  return `llm-logger-${role}`;
}

/** Name prefix of a role's ephemeral reader groups on Kafka (readers that never commit). */
export function readerGroupPrefix(role: Role): string {
  return `${roleGroup(role)}-reader-`;
}

export interface TopicSpec {
  name: TopicName;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  /** 'compact,delete': compacted, and records older than the retention are deleted as well. */
  cleanupPolicy: 'delete' | 'compact' | 'compact,delete';
  /** -1 keeps records forever (compacted topics). */
  retentionMs: number;
  /** Avro schema file under schemas/ describing values, or null for JSON. */
  valueSchema: string | null;
  /**
   * How producers pick partitions. 'key': by record key, so one key's records
   * stay together and in order. 'batch': each appended batch goes to one
   * partition, the next batch to the next one (keys are still carried): for
   * independent records this makes whole batches the broker stores, compresses
   * and replicates at once, instead of a few records per partition.
   */
  partitioning: 'key' | 'batch';
  producers: Role[];
  consumers: Role[];
  doc: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const TOPOLOGY: readonly TopicSpec[] = [
  {
    name: TOPICS.inference,
    partitions: 12,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    valueSchema: 'inference-event.v2.avsc',
    partitioning: 'batch',
    producers: ['gateway'],
    consumers: ['aggregator', 'indexer', 'roller', 'console'],
    doc: 'One event per LLM call: the system of record.',
  },
  {
    name: TOPICS.inferenceLive,
    partitions: 6,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    cleanupPolicy: 'delete',
    retentionMs: 1 * 60 * 60 * 1000, // 1 h: live progress only matters while a call runs
    valueSchema: null,
    partitioning: 'key',
    producers: ['gateway'],
    consumers: ['console'],
    doc: 'Started and progress records of calls in flight, for live views.',
  },
  {
    name: TOPICS.aggregates,
    partitions: 6,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    // Compacted (the newest partial per key), and bounded: windows older than the console keeps
    // (35 days of 1-hour windows, VIEW_RETENTION_MS) are deleted rather than kept forever.
    cleanupPolicy: 'compact,delete',
    retentionMs: 35 * DAY_MS,
    valueSchema: 'aggregate.v1.avsc',
    partitioning: 'key',
    producers: ['aggregator'],
    consumers: ['console'],
    doc: 'Windowed aggregates, one partial per source partition; key = window size + window start + dimension + group + source partition.',
  },
  {
    name: TOPICS.alerts,
    partitions: 1,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY_MS,
    valueSchema: null,
    partitioning: 'key',
    producers: ['console'],
    consumers: ['console'],
    doc: 'Alert firing and resolved transitions.',
  },
  {
    name: TOPICS.dlq,
    partitions: 3,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY_MS,
    valueSchema: null,
    partitioning: 'key',
    producers: ['aggregator', 'indexer', 'roller', 'console'],
    consumers: [],
    doc: 'Records a consumer could not process, with the reason in headers.',
  },
  {
    name: TOPICS.aggregatorChangelog,
    partitions: 12, // one per partition of llm.inference.v1: partition p holds the state of input partition p
    replicationFactor: 3,
    minInsyncReplicas: 2,
    cleanupPolicy: 'compact',
    retentionMs: -1,
    valueSchema: null, // aggregate.v1 records of open windows, plus a JSON `__meta__` record per partition
    partitioning: 'key',
    producers: ['aggregator'],
    consumers: ['aggregator'],
    doc: "The aggregator's state store: open windows per input partition, tombstoned when they close.",
  },
  {
    name: TOPICS.access,
    partitions: 1, // people reading bodies and searching: a few records a minute, read back in one order
    replicationFactor: 3,
    minInsyncReplicas: 2,
    cleanupPolicy: 'delete',
    retentionMs: 400 * DAY_MS, // a year and a month: audits ask for the last twelve months
    valueSchema: null, // JSON (AccessRecord in services/console/access/access-record.ts), for SIEMs and scripts
    partitioning: 'key',
    producers: ['console'],
    consumers: ['console'],
    doc: 'The access log: who read which bodies or searched what in the console, when and from where.',
  },
  {
    name: TOPICS.erasures,
    partitions: 1,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    // Kept for good (the newest erasure per user): consumers honour it for records that reach them later.
    cleanupPolicy: 'compact',
    retentionMs: -1,
    valueSchema: null, // JSON: {"user", "erased_at", "source"}
    partitioning: 'key',
    producers: ['console'], // POST /api/admin/erase; `llm-logger erase` runs with an operator's credentials
    consumers: ['console', 'indexer', 'roller'],
    doc: "User erasures (llm-logger erase): consumers strip the bodies of the user's calls that started before it.",
  },
];

/** How records appended to this topic are spread over partitions ('key' for topics not in the topology). */
export function partitioningOf(name: string): TopicSpec['partitioning'] {
  return TOPOLOGY.find((t) => t.name === name)?.partitioning ?? 'key';
}

export function topicSpec(name: TopicName): TopicSpec {
  const spec = TOPOLOGY.find((t) => t.name === name);
  if (!spec) throw new Error(`topic ${name} is not declared in topology/`);
  return spec;
}
