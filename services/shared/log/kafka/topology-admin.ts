import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
// kafkajs only for topic administration: @confluentinc/kafka-javascript (the
// project's Kafka client for producing and consuming) has no createPartitions,
// describeConfigs or alterConfigs in its admin API (1.10.1), and those are what
// `topology apply` is made of. kafkajs is pure JavaScript, so it adds no build.
import { ConfigResourceTypes, ConfigSource, Kafka, logLevel, type Admin, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../../config/config';
import { LlmLoggerError } from '../../errors';
import { planTopology, type ActualTopic, type PlannedTopic, type TopologyPlan } from './topology-plan';

/** kafkajs settings from the project's Kafka settings: brokers, identity, TLS files, SASL, and no log output. */
export function kafkajsConfig(brokers: string[], s: KafkaSettings): KafkaConfig {
  let ssl: ConnectionOptions | boolean | undefined;
  if (s.tls) {
    const files: ConnectionOptions = {};
    if (s.tls.caFile) files.ca = [readFileSync(s.tls.caFile, 'utf8')];
    if (s.tls.certFile) files.cert = readFileSync(s.tls.certFile, 'utf8');
    if (s.tls.keyFile) files.key = readFileSync(s.tls.keyFile, 'utf8');
    ssl = Object.keys(files).length > 0 ? files : true;
  }
  const sasl: SASLOptions | undefined = s.sasl
    ? { mechanism: s.sasl.mechanism, username: s.sasl.username, password: s.sasl.password }
    : undefined;
  return {
    brokers,
    clientId: s.clientId,
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    // A command run by hand: fail within seconds when the cluster is not there.
    retry: { retries: 2, initialRetryTime: 300 },
    // Errors reach the caller as exceptions; kafkajs would otherwise print its own lines.
    logLevel: logLevel.NOTHING,
    logCreator: () => () => undefined,
  };
}

function wrap(what: string, err: unknown): LlmLoggerError {
  if (err instanceof LlmLoggerError) return err;
  const e = err as { message?: string; retriable?: boolean };
  return new LlmLoggerError('LOG_UNAVAILABLE', `kafka admin ${what}: ${e.message ?? String(err)}`, {
    cause: err,
    retriable: e.retriable === true,
  });
}

/**
 * Creates and reconfigures topics so Kafka matches topology/. Planning is
 * pure (topology-plan.ts); this class reads the cluster state and applies a
 * plan. Applying a plan that was computed against the current state twice
 * changes nothing the second time.
 */
export class KafkaTopologyAdmin {
  private constructor(private readonly admin: Admin) {}

  static async connect(brokers: string[], settings: KafkaSettings): Promise<KafkaTopologyAdmin> {
    const admin = new Kafka(kafkajsConfig(brokers, settings)).admin();
    try {
      await admin.connect();
    } catch (err) {
      throw wrap(`connect to ${brokers.join(',')}`, err);
    }
    return new KafkaTopologyAdmin(admin);
  }

  /**
   * Sets a group's committed offsets on a topic to the first records at or
   * after `from` (epoch ms), or to the earliest without it. The group must be
   * empty; an unknown group with no `from` is nothing to reset.
   */
  async resetGroupOffsets(groupId: string, topic: string, from?: number): Promise<void> {
    try {
      const groups = await this.admin.describeGroups([groupId]);
      const group = groups.groups[0];
      if (group && group.members.length > 0) throw new Error(`group ${groupId} has ${group.members.length} running member(s)`);
      if (from !== undefined) {
        // Partitions with no record that recent get their end (kafkajs answers the high watermark).
        await this.admin.setOffsets({ groupId, topic, partitions: await this.admin.fetchTopicOffsetsByTimestamp(topic, from) });
      } else if (group && group.state !== 'Dead') {
        await this.admin.resetOffsets({ groupId, topic, earliest: true });
      }
    } catch (err) {
      throw wrap(`reset the offsets of group ${groupId} on ${topic}`, err);
    }
  }

  async brokerCount(): Promise<number> {
    try {
      return (await this.admin.describeCluster()).brokers.length;
    } catch (err) {
      throw wrap('describe cluster', err);
    }
  }

  /** Those of `names` the cluster does not have (or this identity may not describe). */
  async missingTopics(names: readonly string[]): Promise<string[]> {
    try {
      const existing = new Set(await this.admin.listTopics());
      return names.filter((n) => !existing.has(n));
    } catch (err) {
      throw wrap('list topics', err);
    }
  }

  /** Partitions, replication factor and effective configs of those of `names` that exist. */
  async describeTopics(names: readonly string[]): Promise<Map<string, ActualTopic>> {
    const result = new Map<string, ActualTopic>();
    try {
      const existing = new Set(await this.admin.listTopics());
      const present = names.filter((n) => existing.has(n));
      if (present.length === 0) return result;
      const { topics } = await this.admin.fetchTopicMetadata({ topics: present });
      const described = await this.admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      });
      const configsByTopic = new Map<string, Record<string, string>>();
      for (const r of described.resources) {
        if (r.errorCode !== 0) throw new Error(`describeConfigs ${r.resourceName}: ${r.errorMessage ?? `error ${r.errorCode}`}`);
        const configs: Record<string, string> = {};
        for (const e of r.configEntries) if (e.configValue !== null) configs[e.configName] = e.configValue;
        configsByTopic.set(r.resourceName, configs);
      }
      for (const t of topics) {
        result.set(t.name, {
          partitions: t.partitions.length,
          replicationFactor: Math.max(0, ...t.partitions.map((p) => p.replicas.length)),
          configs: configsByTopic.get(t.name) ?? {},
        });
      }
    } catch (err) {
      throw wrap('describe topics', err);
    }
    return result;
  }

  /** The plan that would bring `topics` in Kafka to what they declare. */
  async plan(topics: readonly PlannedTopic[], opts: { replicationFactor: number | null }): Promise<TopologyPlan> {
    const [actual, brokerCount] = await Promise.all([this.describeTopics(topics.map((t) => t.name)), this.brokerCount()]);
    return planTopology(topics, actual, { replicationFactor: opts.replicationFactor, brokerCount });
  }

  /**
   * Applies a plan: creations, then partition increases, then config changes.
   * A plan with refusals is not applied at all: one impossible change means
   * the declared topology and the cluster disagree, and half-applying it
   * would leave a state nobody declared.
   */
  async apply(plan: TopologyPlan): Promise<void> {
    if (plan.refusals.length > 0) {
      throw new LlmLoggerError('CONFIG_INVALID', `topology not applied:\n  ${plan.refusals.map((r) => r.reason).join('\n  ')}`);
    }
    if (plan.create.length > 0) {
      try {
        await this.admin.createTopics({
          waitForLeaders: true,
          timeout: 30_000,
          topics: plan.create.map((c) => ({
            topic: c.topic,
            numPartitions: c.partitions,
            replicationFactor: c.replicationFactor,
            configEntries: Object.entries(c.configs).map(([name, value]) => ({ name, value })),
          })),
        });
      } catch (err) {
        throw wrap('create topics', err);
      }
    }
    if (plan.addPartitions.length > 0) {
      try {
        await this.admin.createPartitions({
          timeout: 30_000,
          topicPartitions: plan.addPartitions.map((p) => ({ topic: p.topic, count: p.to })),
        });
      } catch (err) {
        throw wrap('add partitions', err);
      }
    }
    if (plan.alterConfigs.length > 0) await this.alterConfigs(plan);
  }

  /**
   * kafkajs speaks AlterConfigs, not IncrementalAlterConfigs: the request
   * replaces all of a topic's overrides. So the overrides a topic has now
   * (set by anyone, for any key) are read and sent along with the changes,
   * or they would silently fall back to the broker defaults.
   */
  private async alterConfigs(plan: TopologyPlan): Promise<void> {
    try {
      const described = await this.admin.describeConfigs({
        includeSynonyms: false,
        resources: plan.alterConfigs.map((a) => ({ type: ConfigResourceTypes.TOPIC, name: a.topic })),
      });
      const overrides = new Map<string, Record<string, string>>();
      for (const r of described.resources) {
        if (r.errorCode !== 0) throw new Error(`describeConfigs ${r.resourceName}: ${r.errorMessage ?? `error ${r.errorCode}`}`);
        const own: Record<string, string> = {};
        for (const e of r.configEntries) {
          if (e.configSource !== ConfigSource.TOPIC_CONFIG) continue;
          if (e.configValue === null) {
            throw new LlmLoggerError(
              'CONFIG_INVALID',
              `topic ${r.resourceName} has a sensitive override ${e.configName} whose value Kafka does not reveal; ` +
                `altering the topic's configs would drop it, so nothing was changed`,
            );
          }
          own[e.configName] = e.configValue;
        }
        overrides.set(r.resourceName, own);
      }
      await this.admin.alterConfigs({
        validateOnly: false,
        resources: plan.alterConfigs.map((a) => {
          const entries = { ...overrides.get(a.topic) };
          for (const [name, { to }] of Object.entries(a.changes)) entries[name] = to;
          return {
            type: ConfigResourceTypes.TOPIC,
            name: a.topic,
            configEntries: Object.entries(entries).map(([name, value]) => ({ name, value })),
          };
        }),
      });
    } catch (err) {
      throw wrap('alter configs', err);
    }
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }
}
