import { stringify } from 'yaml';
import { roleGroup, TOPICS, type Role, type TopicSpec } from '../../../../topology/topics';
import { desiredTopicConfigs, effectiveReplicationFactor, type PlannedTopic } from './topology-plan';

/**
 * Strimzi resources generated from topology/: one KafkaTopic per topic and
 * one KafkaUser per role with least-privilege ACLs. Pure; the output is
 * checked in under strimzi/ and a test fails when it drifts.
 *
 * Shapes follow the Strimzi 1.2.0 CRDs (API kafka.strimzi.io/v1, served and
 * stored): KafkaTopic spec {partitions, replicas, config}; KafkaUser spec
 * {authentication {type}, authorization {type: simple, acls [{resource
 * {type, name, patternType}, operations}]}}, where resource types include
 * cluster and transactionalId and operations include IdempotentWrite.
 */

export const STRIMZI_API_VERSION = 'kafka.strimzi.io/v1';
export const DEFAULT_STRIMZI_CLUSTER = 'llm-logger';
/** Prefix of the aggregator's transactional ids (exactly-once aggregates). */
export const AGGREGATOR_TRANSACTIONAL_ID_PREFIX = 'llm-logger-aggregator';

/** A topic to render: the plan's fields plus who produces and consumes it. */
export type RenderedTopic = PlannedTopic & Pick<TopicSpec, 'producers' | 'consumers'>;

export interface StrimziOptions {
  /** The Kafka resource's name, put in every `strimzi.io/cluster` label. */
  clusterName?: string;
  /** Replaces every topic's replication factor (LLM_LOGGER_KAFKA_REPLICATION_FACTOR), or null. */
  replicationFactor?: number | null;
  /** The dead-letter topic, which every consuming role may write to. */
  dlqTopic?: string;
}

/** The Kafka user (KafkaUser name, SCRAM user name and Secret name) of a role. */
export function roleUser(role: Role): string {
  return `llm-logger-${role}`;
}

interface Metadata {
  name: string;
  labels: Record<string, string>;
}

export interface KafkaTopicResource {
  apiVersion: string;
  kind: 'KafkaTopic';
  metadata: Metadata;
  spec: { topicName?: string; partitions: number; replicas: number; config: Record<string, string | number> };
}

export type AclOperation = 'Read' | 'Write' | 'Describe' | 'IdempotentWrite';

export interface AclRule {
  resource:
    | { type: 'topic' | 'group' | 'transactionalId'; name: string; patternType: 'literal' | 'prefix' }
    | { type: 'cluster' };
  operations: AclOperation[];
}

export interface KafkaUserResource {
  apiVersion: string;
  kind: 'KafkaUser';
  metadata: Metadata;
  spec: {
    authentication: { type: 'scram-sha-512' };
    authorization: { type: 'simple'; acls: AclRule[] };
  };
}

const OPERATION_ORDER: readonly AclOperation[] = ['Read', 'Write', 'Describe', 'IdempotentWrite'];

/** A Kubernetes object name (DNS subdomain): lower-case alphanumerics, '-' and '.', at most 253. */
const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function metadata(name: string, cluster: string): Metadata {
  return { name, labels: { 'strimzi.io/cluster': cluster } };
}

/** Numbers where Kafka has numbers, so the YAML reads like Strimzi's own examples. */
function strimziConfig(configs: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(configs)) out[key] = /^-?\d+$/.test(value) ? Number(value) : value;
  return out;
}

export function renderKafkaTopics(topics: readonly PlannedTopic[], opts: StrimziOptions = {}): KafkaTopicResource[] {
  const cluster = opts.clusterName ?? DEFAULT_STRIMZI_CLUSTER;
  const rf = opts.replicationFactor ?? null;
  return topics.map((t) => {
    // A topic name Kubernetes cannot use as an object name goes in spec.topicName.
    const valid = t.name.length <= 253 && K8S_NAME.test(t.name);
    const name = valid ? t.name : t.name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
    return {
      apiVersion: STRIMZI_API_VERSION,
      kind: 'KafkaTopic',
      metadata: metadata(name, cluster),
      spec: {
        ...(valid ? {} : { topicName: t.name }),
        partitions: t.partitions,
        replicas: effectiveReplicationFactor(t, rf),
        config: strimziConfig(desiredTopicConfigs(t, rf)),
      },
    };
  });
}

/** The ACLs one role needs, and no more. */
export function roleAcls(role: Role, topics: readonly RenderedTopic[], dlqTopic: string): AclRule[] {
  const dlq = topics.find((t) => t.name === dlqTopic);
  const consumes = topics.some((t) => t.consumers.includes(role));
  const topicOps = new Map<string, Set<AclOperation>>();
  for (const t of topics) {
    const ops = new Set<AclOperation>();
    if (t.consumers.includes(role)) ops.add('Read').add('Describe');
    // A consumer sends what it cannot process to the DLQ, so every consuming role may write there.
    if (t.producers.includes(role) || (t === dlq && consumes)) ops.add('Write').add('Describe');
    if (ops.size > 0) topicOps.set(t.name, ops);
  }
  const sorted = (ops: Set<AclOperation>): AclOperation[] => OPERATION_ORDER.filter((o) => ops.has(o));
  const acls: AclRule[] = [...topicOps].map(([name, ops]) => ({
    resource: { type: 'topic', name, patternType: 'literal' },
    operations: sorted(ops),
  }));
  // A prefix: the role's own group and the groups named after it (state restore, ephemeral readers).
  if (consumes) acls.push({ resource: { type: 'group', name: roleGroup(role), patternType: 'prefix' }, operations: ['Read'] });
  if (role === 'aggregator') {
    acls.push({
      resource: { type: 'transactionalId', name: AGGREGATOR_TRANSACTIONAL_ID_PREFIX, patternType: 'prefix' },
      operations: ['Write', 'Describe'],
    });
  }
  const writes = [...topicOps.values()].some((ops) => ops.has('Write'));
  // Since Kafka 3.0 Write on a topic already allows idempotent producing (KIP-679); the
  // cluster ACL states it for tools and clusters that still check it.
  if (writes) acls.push({ resource: { type: 'cluster' }, operations: ['IdempotentWrite'] });
  return acls;
}

export function renderKafkaUsers(topics: readonly RenderedTopic[], opts: StrimziOptions = {}): KafkaUserResource[] {
  const cluster = opts.clusterName ?? DEFAULT_STRIMZI_CLUSTER;
  const dlqTopic = opts.dlqTopic ?? TOPICS.dlq;
  const roles = [...new Set(topics.flatMap((t) => [...t.producers, ...t.consumers]))].sort();
  return roles.map((role) => ({
    apiVersion: STRIMZI_API_VERSION,
    kind: 'KafkaUser',
    metadata: metadata(roleUser(role), cluster),
    spec: {
      authentication: { type: 'scram-sha-512' },
      authorization: { type: 'simple', acls: roleAcls(role, topics, dlqTopic) },
    },
  }));
}

const HEADER = '# Generated from topology/topics.ts by `llm-logger topology render --out strimzi`: do not edit by hand.\n';

/** Multi-document YAML, one resource per document. */
export function toMultiDocumentYaml(docs: readonly object[]): string {
  return HEADER + docs.map((d) => `---\n${stringify(d, { lineWidth: 0 })}`).join('');
}

/** Every resource in one stream (topics, then users), as `topology render` prints it. */
export function renderStrimziYaml(topics: readonly RenderedTopic[], opts: StrimziOptions = {}): string {
  return toMultiDocumentYaml([...renderKafkaTopics(topics, opts), ...renderKafkaUsers(topics, opts)]);
}

/** The two checked-in files: strimzi/topics.yaml and strimzi/users.yaml. */
export function renderStrimziFiles(topics: readonly RenderedTopic[], opts: StrimziOptions = {}): { topics: string; users: string } {
  return {
    topics: toMultiDocumentYaml(renderKafkaTopics(topics, opts)),
    users: toMultiDocumentYaml(renderKafkaUsers(topics, opts)),
  };
}
