import type { TopicSpec } from '../../../../topology/topics';

/**
 * What `topology apply` would change: the difference between topics as
 * declared in topology/ and topics as they are in Kafka. Pure: the Kafka
 * state comes in as an argument, the plan goes out as data, so every rule
 * (including what Kafka cannot do) is tested without a broker.
 */

/** A topic to plan. Any name, so tests can plan renamed copies of TOPOLOGY. */
export type PlannedTopic = Pick<TopicSpec, 'partitions' | 'replicationFactor' | 'minInsyncReplicas' | 'cleanupPolicy' | 'retentionMs'> & {
  name: string;
};

export interface ActualTopic {
  partitions: number;
  replicationFactor: number;
  /** Effective topic configs (overrides and defaults alike), as describeConfigs reports them. */
  configs: Record<string, string>;
}

export interface PlanOptions {
  /** Replaces every topic's replication factor (LLM_LOGGER_KAFKA_REPLICATION_FACTOR), or null. */
  replicationFactor: number | null;
  /** Brokers in the cluster, when known: a new topic cannot have more replicas than that. */
  brokerCount?: number;
}

export interface TopicCreation {
  topic: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface PartitionIncrease {
  topic: string;
  from: number;
  to: number;
}

export interface ConfigAlteration {
  topic: string;
  /** `from` is null when Kafka reported no value for the key. */
  changes: Record<string, { from: string | null; to: string }>;
}

export interface Refusal {
  topic: string;
  reason: string;
}

export interface TopologyPlan {
  create: TopicCreation[];
  addPartitions: PartitionIncrease[];
  alterConfigs: ConfigAlteration[];
  refusals: Refusal[];
  unchanged: string[];
}

export function effectiveReplicationFactor(topic: PlannedTopic, replicationFactor: number | null): number {
  return replicationFactor ?? topic.replicationFactor;
}

/**
 * The topic-level Kafka configs every topic gets. Key order is fixed so
 * output (CLI lines, Strimzi YAML) is stable.
 */
export function desiredTopicConfigs(topic: PlannedTopic, replicationFactor: number | null): Record<string, string> {
  const replicas = effectiveReplicationFactor(topic, replicationFactor);
  return {
    'cleanup.policy': topic.cleanupPolicy,
    // Explicit even for compacted topics (-1): the topic then never depends on the broker's default.
    'retention.ms': String(topic.retentionMs),
    // More than the replicas there are would refuse every acks=all write.
    'min.insync.replicas': String(Math.min(topic.minInsyncReplicas, replicas)),
    // Keep the batches as producers compressed them (zstd by default): no recompression on the broker.
    'compression.type': 'producer',
  };
}

export function planTopology(
  desired: readonly PlannedTopic[],
  actual: ReadonlyMap<string, ActualTopic>,
  opts: PlanOptions,
): TopologyPlan {
  const plan: TopologyPlan = { create: [], addPartitions: [], alterConfigs: [], refusals: [], unchanged: [] };
  for (const topic of desired) {
    const replicas = effectiveReplicationFactor(topic, opts.replicationFactor);
    const configs = desiredTopicConfigs(topic, opts.replicationFactor);
    const current = actual.get(topic.name);

    if (!current) {
      if (opts.brokerCount !== undefined && replicas > opts.brokerCount) {
        plan.refusals.push({
          topic: topic.name,
          reason:
            `topic ${topic.name} needs replication factor ${replicas} but the cluster has ${opts.brokerCount} ` +
            `broker${opts.brokerCount === 1 ? '' : 's'}: add brokers, or set LLM_LOGGER_KAFKA_REPLICATION_FACTOR=${opts.brokerCount} ` +
            `(e.g. on a one-broker development cluster)`,
        });
      } else {
        plan.create.push({ topic: topic.name, partitions: topic.partitions, replicationFactor: replicas, configs });
      }
      continue;
    }

    let refused = false;
    if (current.partitions > topic.partitions) {
      refused = true;
      plan.refusals.push({
        topic: topic.name,
        reason:
          `topic ${topic.name} has ${current.partitions} partitions; Kafka cannot reduce them to ${topic.partitions}: ` +
          `create a new topic version instead`,
      });
    }
    if (current.replicationFactor !== replicas) {
      refused = true;
      plan.refusals.push({
        topic: topic.name,
        reason:
          `topic ${topic.name} has replication factor ${current.replicationFactor}, not ${replicas}: changing it needs a ` +
          `partition reassignment (kafka-reassign-partitions, or Cruise Control under Strimzi), which topology apply does not do` +
          (opts.replicationFactor === null ? ` (or set LLM_LOGGER_KAFKA_REPLICATION_FACTOR=${current.replicationFactor} if that is intended)` : ''),
      });
    }

    let changed = false;
    if (current.partitions < topic.partitions) {
      changed = true;
      plan.addPartitions.push({ topic: topic.name, from: current.partitions, to: topic.partitions });
    }
    const changes: ConfigAlteration['changes'] = {};
    for (const [key, to] of Object.entries(configs)) {
      const from = current.configs[key] ?? null;
      if (from !== to) changes[key] = { from, to };
    }
    if (Object.keys(changes).length > 0) {
      changed = true;
      plan.alterConfigs.push({ topic: topic.name, changes });
    }
    if (!changed && !refused) plan.unchanged.push(topic.name);
  }
  return plan;
}

/** True when applying the plan would change something in Kafka. */
export function planChangesSomething(plan: TopologyPlan): boolean {
  return plan.create.length + plan.addPartitions.length + plan.alterConfigs.length > 0;
}
