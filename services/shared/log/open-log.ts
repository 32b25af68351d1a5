import { join } from 'node:path';
import type { Config } from '../config/config';
import { LlmLoggerError } from '../errors';
import { SqliteEventLog } from './embedded/sqlite-log';
import type { EventLog } from './event-log';

export function embeddedLogPath(dataDir: string): string {
  return join(dataDir, 'log', 'events.db');
}

/** The log every role uses: Kafka when brokers are configured, otherwise the embedded log. */
export function openEventLog(config: Config): EventLog {
  if (config.log.kafkaBrokers) {
    throw new LlmLoggerError(
      'NOT_AVAILABLE_YET',
      'LLM_LOGGER_KAFKA_BROKERS is set, but the Kafka adapter is not available yet in this version; unset it to use the embedded log',
    );
  }
  return new SqliteEventLog({ path: embeddedLogPath(config.dataDir), sync: config.log.embeddedSync });
}
