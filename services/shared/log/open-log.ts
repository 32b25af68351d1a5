import { join } from 'node:path';
import type { Config } from '../config/config';
import type { Logger } from '../observability/logger';
import { SqliteEventLog } from './embedded/sqlite-log';
import type { EventLog } from './event-log';
import { KafkaEventLog } from './kafka/kafka-log';
import { ConfluentRegistryClient } from './kafka/registry-client';
import { DiskSpool } from './spool/disk-spool';
import { SpoolingLog } from './spool/spooling-log';

export function embeddedLogPath(dataDir: string): string {
  return join(dataDir, 'log', 'events.db');
}

export function spoolPath(dataDir: string): string {
  return join(dataDir, 'spool', 'spool.db');
}

/**
 * The log every role uses: Kafka (behind a disk spool for when it is down)
 * when brokers are configured, otherwise the embedded log.
 */
export function openEventLog(config: Config, logger: Logger): EventLog {
  const brokers = config.log.kafkaBrokers;
  if (!brokers) return new SqliteEventLog({ path: embeddedLogPath(config.dataDir), sync: config.log.embeddedSync });
  const registry = new ConfluentRegistryClient({
    url: config.log.schemaRegistryUrl!,
    username: config.log.schemaRegistryAuth?.username,
    password: config.log.schemaRegistryAuth?.password,
  });
  const kafka = new KafkaEventLog({ brokers, settings: config.log.kafka, registry, logger });
  return new SpoolingLog(kafka, new DiskSpool(spoolPath(config.dataDir), config.log.spoolMaxBytes), { logger });
}
