import { Counter, type Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import type { EventLog } from '../shared/log/event-log';
import { PoisonRecordError, runConsumer } from '../shared/log/consumer-runner';
import type { Logger } from '../shared/observability/logger';
import { startRoleServer, type RoleServer } from '../shared/http/role-server';
import { DocumentThread } from './document-thread';
import { checkedTimes } from '../shared/log/checked-times';
import { openSearchIndex } from './open-search-index';
import type { SearchIndex } from './search-index';
import { followErasures } from '../shared/erasure/erasure-follower';
import type { Erasure } from '../shared/erasure/erasure';

export const INDEXER_GROUP = 'llm-logger-indexer';
/**
 * Records per consumer batch (committed together). The Elasticsearch adapter
 * sends it as bulk requests of 500 in parallel: measured best on the 2-core
 * dev node (docs/benchmarks.md).
 */
export const INDEXER_BATCH_MAX = 2000;
const EXPIRE_EVERY_MS = 60 * 60 * 1000; // 1 h

export interface RunningIndexer {
  index: SearchIndex;
  /** Port of /healthz, /readyz and /metrics; 0 when not served (inside `start`). */
  port: number;
  close(): Promise<void>;
}

/**
 * The indexer role: consumes llm.inference.v1 in its own group, maps each
 * event to a redacted audit document and indexes it under its event id.
 * A batch is committed only after the bulk request succeeded; while the
 * backend pushes back the handler waits, so consuming pauses (backpressure).
 * A document the backend refuses goes to the DLQ with the reason.
 */
export async function runIndexer(
  config: Config,
  log: EventLog,
  registry: Registry,
  logger: Logger,
  options: { serveHealth: boolean; shared?: SearchIndex; /** tests: a group of their own on a shared broker */ groupId?: string } = {
    serveHealth: true,
  },
): Promise<RunningIndexer> {
  const shared = options.shared;
  const log_ = logger.child({ role: 'indexer' });
  const backoffs = new Counter({
    name: 'llm_logger_indexer_backoffs_total',
    help: 'Times the search backend pushed back (429/5xx/unreachable) and the indexer waited.',
    registers: [registry],
  });
  const indexed = new Counter({ name: 'llm_logger_indexer_documents_total', help: 'Audit documents indexed.', registers: [registry] });
  // Not ready while the backend pushes back or is unreachable (and for 10 s after), so that an
  // orchestrator can see it; the indexer itself keeps waiting and loses nothing.
  let pushedBackUntil = 0;
  const index =
    shared ??
    openSearchIndex(config, log_.child({ component: 'search-index' }), () => {
      backoffs.inc();
      pushedBackUntil = Date.now() + 10_000;
    });
  await index.setup();
  const expire = (): void => {
    index.expire(Date.now()).catch((err: unknown) => log_.warn({ err }, 'deleting expired audit documents failed; next try in an hour'));
  };
  expire();
  const expiry = setInterval(expire, EXPIRE_EVERY_MS);
  expiry.unref();

  const serde = await inferenceEventSerde(log.schemaRegistry);
  const redactor = config.index.redactor;
  const documents = new DocumentThread({ settings: config.redaction.settings });
  // Erased users: their calls are indexed without bodies, and an erasure that arrives erases what is indexed already
  // (another process's erase may have passed over the index before a batch of ours landed).
  const erasures = followErasures(log, 'indexer', registry, log_);
  let erasing: Promise<void> = Promise.resolve();
  // One at a time: a start reads every erasure ever recorded.
  const eraseIndexed = (e: Pick<Erasure, 'user' | 'erased_at'>): Promise<void> =>
    (erasing = erasing.then(() =>
      index.eraseBodies(e.user, e.erased_at).then(
        () => undefined,
        (err: unknown) => log_.error({ err }, 'could not erase indexed documents of an erased user: run llm-logger erase again'),
      ),
    ));
  const stopErasures = erasures.list.onChange((e) => void eraseIndexed(e));
  let refusedInLastBatch: Map<string, string> | null = null;
  let indexedInLastBatch: Set<string> | null = null;
  const subscription = runConsumer({
    log,
    role: 'indexer',
    topic: TOPICS.inference,
    groupId: options.groupId ?? INDEXER_GROUP,
    start: 'earliest',
    maxBatch: INDEXER_BATCH_MAX,
    registry,
    logger: log_,
    decode: async (record) => checkedTimes(await serde.decode(record.value)),
    eventTime: (e) => e.ended_at,
    handle: async (batch) => {
      // After a batch with refused documents the runner hands the records back one by one, so that
      // only the refused ones reach the DLQ: answer those from the batch's outcome, without asking
      // the backend again for each of the others (they are already indexed).
      if (batch.length === 1 && refusedInLastBatch) {
        const id = batch[0]!.value.event_id;
        const reason = refusedInLastBatch.get(id);
        if (reason !== undefined) throw new PoisonRecordError('rejected_by_backend', reason);
        if (indexedInLastBatch?.has(id)) return;
      }
      await erasures.ready(); // a (re)start must not index bodies erased before it
      const list = erasures.list;
      const generation = list.generation;
      // Mapped (and redacted) on a thread of its own: never on the event loop a gateway may share.
      const docs = await documents.map(batch.map((d) => list.apply(d.value)));
      const rejected = await index.index(docs);
      // An erasure that arrived while the batch was being indexed: erase what it covers in the batch again.
      if (list.generation !== generation) {
        const users = new Set(batch.filter((d) => list.covers(d.value.user, d.value.started_at)).map((d) => d.value.user!));
        for (const user of users) await eraseIndexed({ user, erased_at: list.erasedAt(user)! });
      }
      indexed.inc(docs.length - rejected.length);
      refusedInLastBatch = null;
      indexedInLastBatch = null;
      if (rejected.length > 0) {
        refusedInLastBatch = new Map(rejected.map((r) => [r.eventId, r.reason]));
        indexedInLastBatch = new Set(docs.map((d) => d.event_id).filter((id) => !refusedInLastBatch!.has(id)));
        if (docs.length === 1) refusedInLastBatch = null;
        throw new PoisonRecordError('rejected_by_backend', rejected.map((r) => r.reason).join('; '));
      }
    },
  });
  let server: RoleServer | null = null;
  if (options.serveHealth) {
    server = await startRoleServer(config.metrics.host, config.metrics.port, {
      registry,
      ready: () => Date.now() >= pushedBackUntil,
      details: () => ({ backend: index.kind, pushedBack: Date.now() < pushedBackUntil }),
    });
    log_.info({ port: server.port }, 'indexer health and metrics listening');
  }
  log_.info({ backend: index.kind, redaction: redactor.indexText ? redactor.rules.map((r) => `${r.name}:${r.action}`) : 'metadata-only' }, 'indexer running');
  let closing: Promise<void> | null = null;
  return {
    index,
    port: server?.port ?? 0,
    close() {
      closing ??= (async () => {
        clearInterval(expiry);
        stopErasures();
        await server?.close();
        index.interrupt?.();
        await subscription.stop();
        await documents.close();
        await erasures.release();
        await erasing;
        if (!shared) await index.close();
      })();
      return closing;
    },
  };
}
