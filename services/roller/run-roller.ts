import type { Registry } from 'prom-client';
import { TOPICS, type TopicName } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import { HEADER_BYTES, MAGIC_BYTE } from '../shared/event/wire-format';
import type { ConsumerSubscription, EventLog } from '../shared/log/event-log';
import { PoisonRecordError, runConsumer } from '../shared/log/consumer-runner';
import { eventTimeProblem } from '../shared/event/event-times';
import type { Logger } from '../shared/observability/logger';
import type { RunningRole } from '../gateway/run-gateway';
import { startRoleServer, type RoleServer } from '../shared/http/role-server';
import type { RotationLimits } from './core/rotation';
import type { ObjectStore } from './object-store/object-store';
import { openObjectStore } from './object-store/open-object-store';
import { readArchiveRow, type ArchiveRow } from './core/avro-row';
import { Roller } from './roller';

export const ROLLER_GROUP = 'llm-logger-roller';

export interface ArchiveConsumerOptions {
  log: EventLog;
  store: ObjectStore;
  limits: RotationLimits;
  groupId: string;
  registry: Registry;
  logger: Logger;
  /** llm.inference.v1 unless a benchmark reads a throw-away copy. */
  topic?: TopicName;
  /** Column threads (default 2). */
  threads?: number;
}

export interface ArchiveConsumer {
  roller: Roller;
  subscription: ConsumerSubscription;
  /** Writes the open files, commits, and stops reading. */
  close(): Promise<void>;
}

/** llm.inference.v1 -> Parquet files in `store`, through the shared consumer runner. */
export async function consumeIntoArchive(options: ArchiveConsumerOptions): Promise<ArchiveConsumer> {
  const { log, store, limits, registry, logger } = options;
  const topic = options.topic ?? TOPICS.inference;
  const roller = new Roller({ topic, store, limits, registry, logger, threads: options.threads });
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const currentSchemaId = await serde.init();
  const subscription = runConsumer({
    log,
    role: 'roller',
    topic,
    groupId: options.groupId,
    start: 'earliest',
    maxBatch: 10_000, // the Kafka client alone: 53,000 records/s in batches of 10,000, 43,000 in batches of 2,000
    registry,
    logger,
    // Records in the current schema are validated here and go to the column threads as they are; others are
    // resolved by the serde and written again in the current schema.
    decode: async (record): Promise<ArchiveRow> => {
      const v = record.value;
      const row =
        v.length >= HEADER_BYTES && v[0] === MAGIC_BYTE && v.readUInt32BE(1) === currentSchemaId
          ? readArchiveRow(v, HEADER_BYTES)
          : readArchiveRow(serde.encode(await serde.decode(v)), HEADER_BYTES);
      // The hour directory is made of ended_at: an event without a date there can never be placed.
      const problem = eventTimeProblem({ ended_at: row.endedAt });
      if (problem) throw new PoisonRecordError('invalid_event', problem);
      return row;
    },
    eventTime: (row) => row.endedAt,
    handle: (batch) => roller.handle(batch),
    holdsRecords: true,
    onRevoked: (partitions) => void roller.revoke(partitions),
  });

  const idleTick = async (): Promise<void> => {
    try {
      const positions = await roller.flushIdle();
      if (positions) await subscription.commit(positions);
    } catch (err) {
      // The file stays open (or is written again later): nothing was committed past it.
      logger.error({ err }, 'idle flush failed; will retry');
    }
  };
  const timer = setInterval(() => void idleTick(), Math.max(50, Math.min(1_000, limits.idleFlushMs / 2)));
  timer.unref();

  let closing: Promise<void> | null = null;
  return {
    roller,
    subscription,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        try {
          await subscription.commit(await roller.flushAll());
        } catch (err) {
          logger.error({ err }, 'could not write the open files at shutdown; they are written again at the next start');
        }
        await subscription.stop();
        await roller.close();
      })();
      return closing;
    },
  };
}

/**
 * Starts the roller role: group llm-logger-roller reads llm.inference.v1 and
 * writes Parquet files to the configured archive. Alone it serves /healthz,
 * /readyz and /metrics on LLM_LOGGER_METRICS_PORT; inside `start`
 * (`serveHealth` false) the gateway and console serve the shared registry.
 */
export async function runRoller(
  config: Config,
  log: EventLog,
  registry: Registry,
  baseLogger: Logger,
  options: { serveHealth: boolean } = { serveHealth: true },
): Promise<RunningRole> {
  const logger = baseLogger.child({ component: 'roller' });
  const store = openObjectStore(config.archive);
  const removed = await store.cleanup();
  if (removed > 0) logger.info({ removed }, 'removed temporary files left by an interrupted run');
  const limits = { maxRecords: config.roller.maxFileRecords, maxBytes: config.roller.maxFileBytes, idleFlushMs: config.roller.idleFlushMs };
  const consumer = await consumeIntoArchive({ log, store, limits, groupId: ROLLER_GROUP, registry, logger, threads: config.roller.threads });
  let server: RoleServer | null = null;
  if (options.serveHealth) {
    server = await startRoleServer(config.metrics.host, config.metrics.port, {
      registry,
      ready: () => true,
      details: () => ({ lag: consumer.subscription.lag(), buffered_rows: consumer.roller.bufferedRows(), archive: store.url }),
    });
    logger.info({ port: server.port }, 'roller health and metrics listening');
  }
  logger.info({ archive: store.url, ...config.roller }, 'roller started');
  return {
    port: server?.port ?? 0,
    async close() {
      await consumer.close();
      await store.close();
      await server?.close();
    },
  };
}
