import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { TOPICS } from '../topology/topics';
import { WINDOWS, aggregateKey, type AggregateRecord } from '../services/aggregator/core/aggregate-record';
import { aggregateSerde } from '../services/aggregator/run-aggregator';
import type { InferenceEvent } from '../services/shared/event/inference-event';
import { inferenceEventSerde } from '../services/shared/event/inference-serde';
import type { ConsumerSubscription, EventLog } from '../services/shared/log/event-log';
import type { SqliteEventLog } from '../services/shared/log/embedded/sqlite-log';
import { embeddedIndexPath } from '../services/indexer/adapters/sqlite-index';
import { compare, groundTruth, rowsFor } from '../test/support/aggregate-truth';
import { sampleEvent } from '../test/support/sample-event';

/**
 * What the recovery benchmark watches, from outside the role it kills: the
 * committed offsets of the role's group (the lag an operator and KEDA see)
 * and the role's output, read the way a user would (aggregate records on
 * llm.aggregates.v1, the audit index, the archive's committed position, the
 * console's API).
 */

export type ConsumerRole = 'aggregator' | 'indexer' | 'roller' | 'console';

/** Committed next offset and end offset per partition of llm.inference.v1. */
export interface GroupPosition {
  committed: Map<number, number>;
  end: Map<number, number>;
}

export function lagOf(p: GroupPosition): number {
  let lag = 0;
  for (const [partition, end] of p.end) lag += Math.max(0, end - (p.committed.get(partition) ?? 0));
  return lag;
}

export interface Offsets {
  position(groupId: string): Promise<GroupPosition>;
  /** Moves an empty group to the end of llm.inference.v1 (a new group on a shared broker reads only what the run sends); false if it has members. */
  startAtEnd(groupId: string): Promise<boolean>;
  close(): Promise<void>;
}

export function embeddedOffsets(log: SqliteEventLog): Offsets {
  return {
    position: async (groupId) => {
      // The end first: a commit landing in between can only make the lag look smaller than it was, never negative.
      const end = log.endOffsets(TOPICS.inference);
      return { end, committed: log.committedOffsets(groupId, TOPICS.inference) };
    },
    startAtEnd: async () => true, // each embedded trial has a log of its own
    close: async () => undefined,
  };
}

export async function kafkaOffsets(brokers: string): Promise<Offsets> {
  const admin: Admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const ends = async (): Promise<Map<number, number>> =>
    new Map((await admin.fetchTopicOffsets(TOPICS.inference)).map((o) => [o.partition, Number(o.high)]));
  return {
    async position(groupId) {
      const end = await ends();
      const [topic] = await admin.fetchOffsets({ groupId, topics: [TOPICS.inference] });
      const committed = new Map<number, number>();
      for (const p of topic?.partitions ?? []) if (Number(p.offset) >= 0) committed.set(p.partition, Number(p.offset));
      return { committed, end };
    },
    async startAtEnd(groupId) {
      const described = await admin.describeGroups([groupId]);
      if ((described.groups[0]?.members.length ?? 0) > 0) return false;
      const end = await ends();
      await admin.setOffsets({ groupId, topic: TOPICS.inference, partitions: [...end].map(([partition, offset]) => ({ partition, offset: String(offset) })) });
      return true;
    },
    close: () => admin.disconnect(),
  };
}

/** One labelled phase of the run's traffic: the calls sent under one app name. */
export interface Phase {
  app: string;
  events: InferenceEvent[];
}

/** A ~1 KB call of the run, ended now (so the aggregator's windows are open and the console's view keeps it). */
export function recoveryEvent(app: string, i: number): InferenceEvent {
  const now = Date.now();
  const latency = 50 + ((i * 7919) % 2000);
  return sampleEvent({
    event_id: randomUUID(),
    started_at: now - latency,
    first_token_at: now - Math.floor(latency / 2),
    ended_at: now,
    latency_ms: latency,
    ttft_ms: Math.floor(latency / 2),
    app,
    user: `user-${i % 20}`,
    usage: { input_tokens: i % 100, output_tokens: i % 50, cached_input_tokens: 0, cache_write_tokens: null, reasoning_tokens: 0, source: 'provider' },
    cost_micro_usd: i % 11,
    request_body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Recovery bench call ${i}: summarise the ticket.` }] }),
    response_text: `Ticket ${i} summarised: the export drops accented names; the encoder is fixed. `.repeat(4),
  });
}

/**
 * Appends calls at a steady rate (a batch every 50 ms) until stopped; the
 * app name of later calls changes with `label`, so the calls sent before a
 * kill can be told from those sent after it in every output.
 */
export class SteadyLoad {
  private stopped = false;
  private label: Phase;
  private readonly done: Promise<void>;
  private sent = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    first: Phase,
    private readonly ratePerSec: number,
  ) {
    this.label = first;
    this.done = this.run();
  }

  /** Calls from now on go under this phase; resolves once the calls of the one before are all in the log. */
  switchTo(phase: Phase): Promise<void> {
    this.label = phase;
    return this.inFlight;
  }

  private async run(): Promise<void> {
    const serde = await inferenceEventSerde(this.log.schemaRegistry);
    const start = Date.now();
    while (!this.stopped) {
      const due = Math.floor(((Date.now() - start) * this.ratePerSec) / 1000) - this.sent;
      if (due > 0) {
        const phase = this.label;
        const events = Array.from({ length: due }, (_, k) => recoveryEvent(phase.app, this.sent + k));
        this.sent += due;
        this.inFlight = this.log
          .append(
            TOPICS.inference,
            events.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })),
          )
          // Counted once acknowledged: only what the log holds is owed to the output.
          .then(() => void phase.events.push(...events));
        await this.inFlight;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Whether a role's output holds every call of some phases, exactly once. */
export interface Output {
  /** Every call of these phases is in the output (and, once `exact`, no more). */
  complete(phases: Phase[], exact: boolean): Promise<boolean>;
  close(): Promise<void>;
}

/** The newest partial per key on llm.aggregates.v1, read from the end as any downstream consumer would. */
export async function aggregateOutput(log: EventLog): Promise<Output> {
  const serde = await aggregateSerde(log);
  const latest = new Map<string, AggregateRecord>();
  const reader: ConsumerSubscription = log.subscribe({ topic: TOPICS.aggregates, groupId: null, start: 'latest' }, async (batch) => {
    for (const r of batch) {
      if (r.value.length === 0) continue;
      const a = await serde.decode(r.value);
      latest.set(aggregateKey(a), a);
    }
  });
  // Read from the end: let it take its partitions before the aggregator writes (partials are cumulative,
  // so one missed early is made good by the window's next one).
  const deadline = Date.now() + 5_000;
  while (!reader.caughtUp() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return {
    async complete(phases) {
      // Partials are cumulative: equal to the truth once, they stay equal unless something is counted twice.
      return phases.every((p) => {
        const truth = groundTruth(p.events, WINDOWS['1m']);
        return compare(rowsFor(latest.values(), p.app, WINDOWS['1m']), truth).length === 0;
      });
    },
    close: () => reader.stop(),
  };
}

/** The embedded audit index the indexer writes under its data directory: documents per app. */
export function indexOutput(dataDir: string): Output {
  let db: Database.Database | null = null;
  return {
    async complete(phases, exact) {
      db ??= new Database(embeddedIndexPath(dataDir), { readonly: true, fileMustExist: true });
      const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM docs WHERE app = ?');
      return phases.every((p) => {
        const n = count.get(p.app)!.n;
        return exact ? n === p.events.length : n >= p.events.length;
      });
    },
    close: async () => void db?.close(),
  };
}

/**
 * The archive: the roller commits a partition only up to the first record
 * of its oldest file not yet stored, so a committed offset past a phase's
 * records means all of them are in Parquet files (counted at the end).
 */
export function archiveOutput(offsets: Offsets, groupId: string, endAfter: (phase: Phase) => Map<number, number> | undefined): Output {
  return {
    async complete(phases) {
      const { committed } = await offsets.position(groupId);
      return phases.every((p) => {
        const end = endAfter(p);
        return end !== undefined && [...end].every(([partition, next]) => (committed.get(partition) ?? 0) >= next);
      });
    },
    close: async () => undefined,
  };
}

/** Rows and distinct calls per app in the Parquet files under the data directory (after the roller stopped). */
export async function archiveRows(dataDir: string, apps: string[]): Promise<{ rows: number; distinct: number }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const glob = join(dataDir, 'parquet', 'llm_inference', '**', '*.parquet').replace(/'/g, "''");
    const list = apps.map((a) => `'${a.replace(/'/g, "''")}'`).join(',');
    const reader = await conn.runAndReadAll(`SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM read_parquet('${glob}') WHERE app IN (${list})`);
    const [row] = reader.getRowObjects();
    return { rows: Number(row?.n ?? 0), distinct: Number(row?.d ?? 0) };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The console's request list (`GET /api/requests?app=`), paged: every call of the phase listed. */
export function consoleOutput(url: () => string | null): Output {
  const listed = async (app: string): Promise<number> => {
    let n = 0;
    let before: string | null = null;
    for (;;) {
      const q = new URLSearchParams({ app, limit: '1000', preview: 'false', ...(before ? { before } : {}) });
      const res = await fetch(`${url()}/api/requests?${q}`);
      if (!res.ok) throw new Error(`console answered ${res.status}`);
      const page = (await res.json()) as { requests: unknown[]; next_before: string | null };
      n += page.requests.length;
      if (!page.next_before || page.requests.length < 1000) return n;
      before = page.next_before;
    }
  };
  return {
    async complete(phases, exact) {
      if (!url()) return false;
      for (const p of phases) {
        const n = await listed(p.app).catch(() => -1);
        if (exact ? n !== p.events.length : n < p.events.length) return false;
      }
      return true;
    },
    close: async () => undefined,
  };
}
