import type { Registry } from 'prom-client';
import { TOPICS, type Role } from '../../../topology/topics';
import type { ConsumerSubscription, EventLog } from '../log/event-log';
import { PoisonRecordError, runConsumer } from '../log/consumer-runner';
import type { Logger } from '../observability/logger';
import { decodeErasure, encodeErasure, ErasureList, type Erasure } from './erasure';

/**
 * The erasures recorded on llm.erasures.v1, followed by every role that
 * keeps bodies (console, indexer, roller). One reader per log per process:
 * roles that share a log in one process (`llm-logger start`) share the list,
 * so an erasure made in this process (the console's admin API) reaches them
 * at once, before it is even read back from the log.
 */

/** A consumer waits this long at most for the erasures before handling its first records. */
const READY_MAX_MS = 30_000;

interface Shared {
  list: ErasureList;
  subscription: ConsumerSubscription;
  ready: Promise<void>;
  /** Stops the wait for `ready` (the reader is stopping): resolves it at once. */
  stopWaiting: () => void;
  holders: number;
}

const byLog = new WeakMap<EventLog, Shared>();

export interface ErasureFollower {
  readonly list: ErasureList;
  /**
   * Resolves once the erasures recorded so far are known (the topic read to
   * its end), or after 30 s at most (with a warning): a consumer awaits it
   * before its first records, so a restart cannot put back erased bodies.
   */
  ready(): Promise<void>;
  /** The last holder stops the reader. */
  release(): Promise<void>;
}

export function followErasures(log: EventLog, role: Role, registry: Registry, logger: Logger): ErasureFollower {
  let shared = byLog.get(log);
  if (!shared) {
    const list = new ErasureList();
    const subscription = runConsumer({
      log,
      role,
      topic: TOPICS.erasures,
      groupId: null,
      start: 'earliest',
      registry,
      logger,
      decode: async (record) => {
        try {
          return decodeErasure(record.value);
        } catch (err) {
          throw new PoisonRecordError('decode_failed', (err as Error).message, err);
        }
      },
      eventTime: (e) => e.erased_at,
      handle: async (batch) => {
        for (const d of batch) list.add(d.value);
      },
    });
    let stopWaiting = (): void => {};
    const ready = new Promise<void>((resolve) => {
      const since = Date.now();
      const done = (): void => {
        clearInterval(check);
        resolve();
      };
      const check = setInterval(() => {
        let caughtUp: boolean;
        try {
          caughtUp = subscription.caughtUp();
        } catch (err) {
          // The log closed under the reader (shutdown): nothing left to wait for.
          logger.warn({ topic: TOPICS.erasures, err: (err as Error).message }, 'erasures: the log closed before they were read to the end');
          done();
          return;
        }
        if (!caughtUp && Date.now() - since < READY_MAX_MS) return;
        if (!caughtUp) logger.warn({ topic: TOPICS.erasures }, 'erasures not read to the end after 30 s: going on with those read so far');
        done();
      }, 20);
      check.unref();
      stopWaiting = done;
    });
    shared = { list, subscription, ready, stopWaiting, holders: 0 };
    byLog.set(log, shared);
  }
  const s = shared;
  s.holders++;
  let released = false;
  return {
    list: s.list,
    ready: () => s.ready,
    async release() {
      if (released) return;
      released = true;
      if (--s.holders > 0) return;
      byLog.delete(log);
      s.stopWaiting();
      await s.subscription.stop();
    },
  };
}

/**
 * Records an erasure: durable on llm.erasures.v1 once this resolves, and
 * known at once to the roles of this process that follow this log.
 */
export async function recordErasure(log: EventLog, erasure: Erasure): Promise<void> {
  await log.append(TOPICS.erasures, [{ key: erasure.user, value: encodeErasure(erasure), timestamp: erasure.erased_at }]);
  byLog.get(log)?.list.add(erasure);
}
