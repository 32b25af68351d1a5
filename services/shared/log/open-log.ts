import { join } from 'node:path';
import type { Config } from '../config/config';
import type { LlmLoggerError } from '../errors';
import type { Logger } from '../observability/logger';
import { SqliteEventLog } from './embedded/sqlite-log';
import type { EventLog } from './event-log';
import type * as KafkaLogModule from './kafka/kafka-log';
import type * as RegistryModule from './kafka/registry-client';
import type * as DiskSpoolModule from './spool/disk-spool';
import type * as SpoolingLogModule from './spool/spooling-log';

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
export function openEventLog(config: Config, logger: Logger, hooks: { onFatal?: (err: LlmLoggerError) => void } = {}): EventLog {
  const brokers = config.log.kafkaBrokers;
  if (!brokers) return new SqliteEventLog({ path: embeddedLogPath(config.dataDir), sync: config.log.embeddedSync });
  // Loaded only for Kafka: a process on the embedded log does not carry them (undici's index among them).
  /* eslint-disable @typescript-eslint/no-require-imports -- lazy loading, typed by the imports above */
  const { ConfluentRegistryClient } = require('./kafka/registry-client') as typeof RegistryModule;
  const { KafkaEventLog } = require('./kafka/kafka-log') as typeof KafkaLogModule;
  const { DiskSpool } = require('./spool/disk-spool') as typeof DiskSpoolModule;
  const { SpoolingLog } = require('./spool/spooling-log') as typeof SpoolingLogModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const registry = new ConfluentRegistryClient({
    url: config.log.schemaRegistryUrl!,
    username: config.log.schemaRegistryAuth?.username,
    password: config.log.schemaRegistryAuth?.password,
  });
  const kafka = new KafkaEventLog({ brokers, settings: config.log.kafka, registry, logger, onFatal: hooks.onFatal });
  return new SpoolingLog(kafka, new DiskSpool(spoolPath(config.dataDir), config.log.spoolMaxBytes), { logger });
}
