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
import { readArchiveRow, type ArchiveRow, type RowOwner } from './core/avro-row';
import { Roller } from './roller';
import type { SeenIdsLimits } from '../shared/dedupe/seen-ids';
import { followErasures } from '../shared/erasure/erasure-follower';
import { applyArchiveRetention } from './archive-retention';
import { resumeArchiveErasures } from './archive-erase';

export const ROLLER_GROUP = 'llm-logger-roller';
/** How often the roller applies the archive's retention (and once at start). */
const RETENTION_EVERY_MS = 60 * 60_000;

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
  /** How long and how many ingested event ids are remembered per partition, to drop copies. */
  dedupe: SeenIdsLimits;
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
  const erasures = followErasures(log, 'roller', registry, logger);
  const list = erasures.list;
  const roller = new Roller({ topic, store, limits, registry, logger, threads: options.threads, dedupe: options.dedupe, erasures: list });
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const currentSchemaId = await serde.init();
  // The erasure generation the records read since the last batch was handled were checked against.
  let readGen = list.generation;
  let batchDone = true;
  const owner: RowOwner = { user: null, startedAt: 0 };
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
    // A record of an erased user's call is written again without its bodies before it is buffered.
    decode: async (record): Promise<ArchiveRow> => {
      if (batchDone) {
        await erasures.ready(); // a (re)start must not archive bodies erased before it
        readGen = list.generation;
        batchDone = false;
      }
      const v = record.value;
      const check = list.size > 0 ? owner : undefined;
      const row =
        v.length >= HEADER_BYTES && v[0] === MAGIC_BYTE && v.readUInt32BE(1) === currentSchemaId
          ? readArchiveRow(v, HEADER_BYTES, check)
          : readArchiveRow(serde.encode(await serde.decode(v)), HEADER_BYTES, check);
      // The hour directory is made of ended_at: an event without a date there can never be placed.
      const problem = eventTimeProblem({ ended_at: row.endedAt });
      if (problem) throw new PoisonRecordError('invalid_event', problem);
      if (!check || !list.covers(owner.user, owner.startedAt)) return row;
      const event = await serde.decode(v);
      const kept = list.apply(event);
      return kept === event ? row : readArchiveRow(serde.encode(kept), HEADER_BYTES);
    },
    eventTime: (row) => row.endedAt,
    handle: (batch) => {
      batchDone = true;
      return roller.handle(batch, readGen);
    },
    holdsRecords: true,
    onRevoked: (partitions) => void roller.revoke(partitions),
    onCommitted: (positions) => void roller.committed(positions),
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
        await erasures.release();
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
  options: { serveHealth: boolean; /** benchmarks and tests: a group of their own on a shared broker */ groupId?: string } = { serveHealth: true },
): Promise<RunningRole> {
  const logger = baseLogger.child({ component: 'roller' });
  const store = openObjectStore(config.archive);
  const removed = await store.cleanup();
  if (removed > 0) logger.info({ removed }, 'removed temporary files left by an interrupted run');
  const limits = { maxRecords: config.roller.maxFileRecords, maxBytes: config.roller.maxFileBytes, idleFlushMs: config.roller.idleFlushMs };
  const consumer = await consumeIntoArchive({
    log,
    store,
    limits,
    groupId: options.groupId ?? ROLLER_GROUP,
    registry,
    logger,
    threads: config.roller.threads,
    dedupe: config.dedupe,
  });
  // Housekeeping in the background, one task at a time: an erase that was interrupted, then the retention.
  let housekeeping: Promise<void> = resumeArchiveErasures(store, { logger }).then(
    () => undefined,
    (err: unknown) => logger.error({ err }, 'could not finish an interrupted erase; the next llm-logger erase tries again'),
  );
  const retentionDays = config.roller.retentionDays;
  const expire = (): void => {
    if (retentionDays === null) return;
    housekeeping = housekeeping.then(async () => {
      try {
        const r = await applyArchiveRetention(store, retentionDays, Date.now());
        if (r.files > 0) logger.info({ hours: r.hours.length, files: r.files, bytes: r.bytes, retentionDays }, 'archive hours past the retention deleted');
      } catch (err) {
        logger.error({ err }, 'archive retention failed; next try in an hour');
      }
    });
  };
  expire();
  const retentionTimer = setInterval(expire, RETENTION_EVERY_MS);
  retentionTimer.unref();
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
      clearInterval(retentionTimer);
      await consumer.close();
      await housekeeping;
      await store.close();
      await server?.close();
    },
  };
}
