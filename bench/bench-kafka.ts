import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceEvent } from '../services/shared/event/inference-event';
import { partitioningOf, TOPICS } from '../topology/topics';
import { loadConfig, type Config } from '../services/shared/config/config';
import { KafkaEventLog } from '../services/shared/log/kafka/kafka-log';
import { ConfluentRegistryClient } from '../services/shared/log/kafka/registry-client';
import { createLogger, type Logger } from '../services/shared/observability/logger';
import { sampleEvent } from '../test/support/sample-event';

/** What the Kafka benchmarks share: where the local broker is, and the ~2 KB event they send. */

const ROOT = join(__dirname, '..', '..');

export function kafkaEnv(): { brokers: string; registryUrl: string } {
  const file = join(ROOT, 'infra', 'dev', '.run', 'env');
  const vars: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) vars[m[1]!] = m[2]!;
    }
  }
  const brokers = process.env.LLM_LOGGER_KAFKA_BROKERS ?? vars.LLM_LOGGER_KAFKA_BROKERS;
  const registryUrl = process.env.LLM_LOGGER_SCHEMA_REGISTRY_URL ?? vars.LLM_LOGGER_SCHEMA_REGISTRY_URL;
  if (!brokers || !registryUrl) throw new Error('no Kafka: run npm run infra:up first');
  return { brokers, registryUrl };
}

/** The local broker's process id (infra/dev), to account for its CPU; null if unknown. */
export function brokerPid(): number | null {
  try {
    return Number(readFileSync(join(ROOT, 'infra', 'dev', '.run', 'kafka.pid'), 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

export interface BenchKafka {
  brokers: string;
  registryUrl: string;
  logger: Logger;
  config: Config;
  registry: ConfluentRegistryClient;
  log: KafkaEventLog;
}

/**
 * The local broker as every Kafka benchmark uses it: the project's own Kafka
 * log and registry client. The throw-away bench.* topics are partitioned like
 * llm.inference.v1 unless `keyed` (a bench that must know each record's partition).
 */
export function openBenchKafka(options: { keyed?: boolean } = {}): BenchKafka {
  const { brokers, registryUrl } = kafkaEnv();
  const logger = createLogger('warn', 'bench');
  const config = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl });
  const registry = new ConfluentRegistryClient({ url: registryUrl });
  const log = new KafkaEventLog({
    brokers: config.log.kafkaBrokers!,
    settings: config.log.kafka,
    registry,
    logger,
    // The throw-away bench.* topics carry inference events: partitioned like llm.inference.v1.
    partitioning: (topic) => (options.keyed ? 'key' : topic.startsWith('bench.') ? partitioningOf(TOPICS.inference) : partitioningOf(topic)),
  });
  return { brokers, registryUrl, logger, config, registry, log };
}

/** A ~2 KB event: the tests' sample event with realistic prompt and answer sizes. */
export function benchEvent(i: number): InferenceEvent {
  const now = Date.now();
  const prompt = `Summarise ticket ${i}: the customer reports that the export to CSV drops rows with accented names, `.repeat(4);
  const answer = `The export drops rows because the encoder is not UTF-8 aware (${i}); switching the writer fixes it. `.repeat(5);
  return sampleEvent({
    event_id: randomUUID(),
    started_at: now - 800,
    first_token_at: now - 600,
    ended_at: now,
    user: `user-${i % 100}`,
    session: `s-${i % 1000}`,
    request_body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }),
    response_body: JSON.stringify({ id: `chatcmpl-${i}`, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: answer.slice(0, 300) } }] }),
    response_text: answer,
  });
}

