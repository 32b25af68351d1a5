import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS, topicSpec } from '../../../../topology/topics';
import { partitionForKey, type ConsumedRecord, type ProducerRecord, type SubscribeOptions } from '../event-log';
import { SqliteEventLog } from './sqlite-log';

/** The log's mechanics on a key-partitioned topic; batch partitioning has its own test on llm.inference.v1. */
const TOPIC = TOPICS.inferenceLive;
const PARTITIONS = topicSpec(TOPIC).partitions;

let dir: string;
let path: string;
const opened: SqliteEventLog[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-sqlite-log-'));
  path = join(dir, 'log', 'events.db');
});

afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Both ways of committing are supported: on the writer thread (default) and on the event loop. */
let writerThread = true;

function openLog(): SqliteEventLog {
  const log = new SqliteEventLog({ path, sync: 'normal', pollIntervalMs: 10, writerThread });
  opened.push(log);
  return log;
}

async function closeLog(log: SqliteEventLog): Promise<void> {
  opened.splice(opened.indexOf(log), 1);
  await log.close();
}

function rec(key: string | null, value: string, headers?: Record<string, string>): ProducerRecord {
  return { key, value: Buffer.from(value), headers, timestamp: Date.now() };
}

function valuesOf(records: ConsumedRecord[]): string[] {
  return records.map((r) => r.value.toString());
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Subscribes, collects every record delivered until `count` arrived, then stops. */
async function collect(
  log: SqliteEventLog,
  options: Partial<SubscribeOptions>,
  count: number,
): Promise<ConsumedRecord[]> {
  const got: ConsumedRecord[] = [];
  const sub = log.subscribe({ topic: TOPIC, groupId: null, start: 'earliest', ...options }, async (batch) => {
    got.push(...batch);
  });
  await until(() => got.length >= count);
  await sub.stop();
  return got;
}

describe.each([true, false])('SqliteEventLog (writer thread: %s)', (threaded) => {
  beforeAll(() => {
    writerThread = threaded;
  });
  it('delivers every appended record, in offset order within each partition', async () => {
    const log = openLog();
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i % 7}`);
    for (let i = 0; i < keys.length; i += 10) {
      await log.append(TOPIC, keys.slice(i, i + 10).map((k, j) => rec(k, `v${i + j}`, { n: String(i + j) })));
    }
    const got = await collect(log, { maxBatch: 8 }, keys.length);

    expect(got).toHaveLength(keys.length);
    expect(new Set(valuesOf(got))).toEqual(new Set(keys.map((_, i) => `v${i}`)));
    const byPartition = new Map<number, ConsumedRecord[]>();
    for (const r of got) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
    for (const records of byPartition.values()) {
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
      // Within a partition, records keep the order they were appended in.
      const order = records.map((r) => Number(r.value.toString().slice(1)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    for (const r of got) {
      expect(r.topic).toBe(TOPIC);
      expect(r.headers).toEqual({ n: r.value.toString().slice(1) });
    }
  });

  it('puts records with the same key on the same partition, the one partitionForKey names', async () => {
    expect(topicSpec(TOPIC).partitioning).toBe('key');
    const log = openLog();
    await log.append(TOPIC, [rec('alpha', '1'), rec('beta', '2'), rec('alpha', '3')]);
    await log.append(TOPIC, [rec('alpha', '4')]);
    const got = await collect(log, {}, 4);
    const alpha = got.filter((r) => r.key === 'alpha');
    expect(new Set(alpha.map((r) => r.partition))).toEqual(new Set([partitionForKey('alpha', PARTITIONS, 0)]));
    expect(valuesOf(alpha)).toEqual(['1', '3', '4']);
    expect(got.find((r) => r.key === 'beta')?.partition).toBe(partitionForKey('beta', PARTITIONS, 0));
  });

  it('on llm.inference.v1 (batch-partitioned), puts each appended batch on one partition and the next batch on the next', async () => {
    const inference = TOPICS.inference;
    const partitions = topicSpec(inference).partitions;
    expect(topicSpec(inference).partitioning).toBe('batch');
    const log = openLog();
    for (let b = 0; b < partitions + 1; b++) await log.append(inference, [rec(`a${b}`, `${b}.0`), rec(`b${b}`, `${b}.1`), rec(`c${b}`, `${b}.2`)]);
    const got = await collect(log, { topic: inference }, 3 * (partitions + 1));
    const partitionOf = new Map<number, Set<number>>();
    for (const r of got) {
      const b = Number(r.value.toString().split('.')[0]);
      partitionOf.set(b, (partitionOf.get(b) ?? new Set()).add(r.partition));
    }
    for (const parts of partitionOf.values()) expect(parts.size).toBe(1);
    const used = [...partitionOf.keys()].sort((x, y) => x - y).map((b) => [...partitionOf.get(b)!][0]!);
    // Every partition once, then round again; keys are kept on the records.
    expect(new Set(used.slice(0, partitions)).size).toBe(partitions);
    expect(used[partitions]).toBe(used[0]);
    expect(got.find((r) => r.value.toString() === '3.1')?.key).toBe('b3');
  });

  it('on llm.inference.v1, places a record marked partitionByKey by its key, the rest of its batch together', async () => {
    const inference = TOPICS.inference;
    const partitions = topicSpec(inference).partitions;
    const log = openLog();
    const keyed = (k: string, v: string): ProducerRecord => ({ ...rec(k, v), partitionByKey: true });
    // The same key in three batches (an event posted three times), beside records of the batch's own partition.
    for (let b = 0; b < 3; b++) await log.append(inference, [rec(`own${b}a`, `own${b}a`), keyed('retried', `copy${b}`), rec(`own${b}b`, `own${b}b`)]);
    const got = await collect(log, { topic: inference }, 9);
    const copies = got.filter((r) => r.key === 'retried');
    expect(new Set(copies.map((r) => r.partition))).toEqual(new Set([partitionForKey('retried', partitions, 0)]));
    expect(valuesOf(copies)).toEqual(['copy0', 'copy1', 'copy2']);
    for (let b = 0; b < 3; b++) {
      const own = got.filter((r) => r.key?.startsWith(`own${b}`));
      expect(own).toHaveLength(2);
      expect(own[0]!.partition).toBe(own[1]!.partition);
    }
  });

  it('keeps the value bytes, the key, no headers and the timestamp', async () => {
    const log = openLog();
    const value = Buffer.from([0, 1, 2, 255, 254, 0]);
    const timestamp = Date.now() - 1_000; // within every retention: the log deletes older records while a test runs
    await log.append(TOPIC, [{ key: null, value, timestamp }]);
    const [r] = await collect(log, {}, 1);
    expect(r?.value.equals(value)).toBe(true);
    expect(r?.key).toBeNull();
    expect(r?.headers).toEqual({});
    expect(r?.timestamp).toBe(timestamp);
  });

  it('resumes a consumer group from its committed offset after a reopen: nothing lost, nothing again', async () => {
    let log = openLog();
    await log.append(TOPIC, Array.from({ length: 5 }, (_, i) => rec(`k${i}`, `first-${i}`)));
    const first = await collect(log, { groupId: 'g1' }, 5);
    expect(first).toHaveLength(5);
    await closeLog(log);

    log = openLog();
    await log.append(TOPIC, Array.from({ length: 3 }, (_, i) => rec(`k${i}`, `second-${i}`)));
    const second: ConsumedRecord[] = [];
    let caughtUpBefore: boolean | null = null;
    const sub = log.subscribe({ topic: TOPIC, groupId: 'g1', start: 'earliest' }, async (batch) => {
      caughtUpBefore ??= sub.caughtUp(); // in its first batch, records were still unread
      second.push(...batch);
    });
    await until(() => second.length >= 3);
    expect(caughtUpBefore).toBe(false);
    await until(() => sub.caughtUp());
    await sleep(50); // time for a wrongly redelivered record to show up
    await sub.stop();
    expect(valuesOf(second).sort()).toEqual(['second-0', 'second-1', 'second-2']);
    expect(sub.lag()).toBe(0);
  });

  it('keeps committed offsets per group', async () => {
    const log = openLog();
    await log.append(TOPIC, [rec('a', '1'), rec('b', '2')]);
    await collect(log, { groupId: 'g1' }, 2);
    // Another group starts from the beginning.
    expect(valuesOf(await collect(log, { groupId: 'g2' }, 2)).sort()).toEqual(['1', '2']);
  });

  it('resetGroup moves a group to its start, or to the first records at or after a time (a partition without any: its end)', async () => {
    const log = openLog();
    const at = (key: string, value: string, timestamp: number): ProducerRecord => ({ key, value: Buffer.from(value), timestamp });
    await log.append(TOPIC, [at('a', 'a-old', 1_000), at('a', 'a-new', 5_000), at('b', 'b-old', 2_000)]);
    await collect(log, { groupId: 'g' }, 3);
    await log.resetGroup('g', TOPIC, 4_000);
    const [pa, pb] = [partitionForKey('a', PARTITIONS, 0), partitionForKey('b', PARTITIONS, 0)];
    const offsets = log.committedOffsets('g', TOPIC);
    expect(offsets.get(pa)).toBe(1);
    if (pb !== pa) expect(offsets.get(pb)).toBe(1); // b's only record is older: the partition's end
    expect(offsets.size).toBe(PARTITIONS); // every partition has a position
    await log.append(TOPIC, [at('b', 'b-next', 6_000)]);
    expect(valuesOf(await collect(log, { groupId: 'g' }, 2)).sort()).toEqual(['a-new', 'b-next']);
    await log.resetGroup('g', TOPIC);
    expect(log.committedOffsets('g', TOPIC).size).toBe(0);
    expect(valuesOf(await collect(log, { groupId: 'g' }, 4)).sort()).toEqual(['a-new', 'a-old', 'b-next', 'b-old']);
  });

  it('a rewind starts a group over from the first records at or after a time, or from the start, and commits that at once', async () => {
    const log = openLog();
    const at = (key: string, value: string, timestamp: number): ProducerRecord => ({ key, value: Buffer.from(value), timestamp });
    await log.append(TOPIC, [at('a', 'a-old', 1_000), at('a', 'a-new', 5_000), at('b', 'b-old', 2_000)]);
    await collect(log, { groupId: 'g' }, 3);
    // The group committed past everything; the rewind wins over that.
    expect(valuesOf(await collect(log, { groupId: 'g', rewind: { from: 4_000 } }, 1))).toEqual(['a-new']);
    const [pa, pb] = [partitionForKey('a', PARTITIONS, 0), partitionForKey('b', PARTITIONS, 0)];
    expect(log.committedOffsets('g', TOPIC).get(pa)).toBe(2);
    if (pb !== pa) expect(log.committedOffsets('g', TOPIC).get(pb)).toBe(1); // b's only record is older: its end
    // Committed at once, before any batch is handled: a reader that crashes before its first commit keeps the rewind.
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const held = log.subscribe({ topic: TOPIC, groupId: 'h', start: 'latest', rewind: {} }, () => stuck);
    const committed = [...log.committedOffsets('h', TOPIC).values()];
    expect(committed).toHaveLength(PARTITIONS);
    expect(committed.every((o) => o === 0)).toBe(true);
    release();
    await held.stop();
  });

  it('delivers the same batch again when the handler throws, and commits only after success', async () => {
    const log = openLog();
    await log.append(TOPIC, [rec('a', '1'), rec('a', '2'), rec('a', '3')]);
    const deliveries: string[][] = [];
    const sub = log.subscribe({ topic: TOPIC, groupId: 'g', start: 'earliest' }, async (batch) => {
      deliveries.push(valuesOf(batch));
      if (deliveries.length === 1) throw new Error('transient');
    });
    await until(() => deliveries.length >= 2);
    await sub.stop();
    expect(deliveries[0]).toEqual(['1', '2', '3']);
    expect(deliveries[1]).toEqual(deliveries[0]);
    expect(log.committedOffsets('g', TOPIC)).toEqual(new Map([[partitionForKey('a', PARTITIONS, 0), 3]]));
  });

  it('does not commit a batch whose handler keeps failing', async () => {
    const log = openLog();
    await log.append(TOPIC, [rec('a', '1')]);
    let calls = 0;
    const sub = log.subscribe({ topic: TOPIC, groupId: 'g', start: 'earliest' }, async () => {
      calls++;
      throw new Error('always');
    });
    await until(() => calls >= 1);
    await sub.stop();
    expect(log.committedOffsets('g', TOPIC).size).toBe(0);
    expect(valuesOf(await collect(log, { groupId: 'g' }, 1))).toEqual(['1']);
  });

  it("skips existing records with start: 'latest'", async () => {
    const log = openLog();
    await log.append(TOPIC, [rec('a', 'old-1'), rec('b', 'old-2')]);
    const got: ConsumedRecord[] = [];
    const sub = log.subscribe({ topic: TOPIC, groupId: null, start: 'latest' }, async (batch) => {
      got.push(...batch);
    });
    await sleep(30);
    await log.append(TOPIC, [rec('a', 'new-1')]);
    await until(() => got.length >= 1);
    await sleep(30);
    await sub.stop();
    expect(valuesOf(got)).toEqual(['new-1']);
  });

  it('allocates offsets without collisions when two instances share the file', async () => {
    const a = openLog();
    const b = openLog();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      writes.push(a.append(TOPIC, [rec('same-key', `a${i}`), rec(`a-key-${i}`, `a${i}x`)]));
      writes.push(b.append(TOPIC, [rec('same-key', `b${i}`), rec(`b-key-${i}`, `b${i}x`)]));
    }
    await Promise.all(writes);

    const expected = 80;
    const totalEnd = [...a.endOffsets(TOPIC).values()].reduce((s, n) => s + n, 0);
    expect(totalEnd).toBe(expected);
    expect([...b.endOffsets(TOPIC)]).toEqual([...a.endOffsets(TOPIC)]);

    const got = await collect(b, {}, expected);
    expect(got).toHaveLength(expected);
    expect(new Set(got.map((r) => `${r.partition}:${r.offset}`)).size).toBe(expected);
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = got.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    const same = got.filter((r) => r.key === 'same-key');
    expect(same).toHaveLength(40);
    // Each writer's records keep their order on the shared partition.
    for (const w of ['a', 'b']) {
      const mine = valuesOf(same).filter((v) => v.startsWith(w)).map((v) => Number(v.slice(1)));
      expect(mine).toEqual([...Array(20).keys()]);
    }
  });

  it('delivers records another instance appends to a live subscription', async () => {
    const reader = openLog();
    const writer = openLog();
    const got: ConsumedRecord[] = [];
    const sub = reader.subscribe({ topic: TOPIC, groupId: null, start: 'earliest' }, async (batch) => {
      got.push(...batch);
    });
    await writer.append(TOPIC, [rec('x', 'from-writer')]);
    await until(() => got.length >= 1);
    await sub.stop();
    expect(valuesOf(got)).toEqual(['from-writer']);
  });

  it('keeps records across close and reopen', async () => {
    const first = openLog();
    await first.append(TOPIC, [rec('a', 'kept-1'), rec('b', 'kept-2')]);
    await closeLog(first);
    const reopened = openLog();
    expect(valuesOf(await collect(reopened, {}, 2)).sort()).toEqual(['kept-1', 'kept-2']);
    await reopened.append(TOPIC, [rec('a', 'kept-3')]);
    const a = (await collect(reopened, {}, 3)).filter((r) => r.key === 'a');
    expect(a.map((r) => r.offset)).toEqual([0, 1]);
  });

  it('refuses appends and subscriptions after close', async () => {
    const log = openLog();
    await closeLog(log);
    await expect(log.append(TOPIC, [rec('a', '1')])).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    expect(() => log.subscribe({ topic: TOPIC, groupId: null, start: 'earliest' }, async () => {})).toThrow(
      expect.objectContaining({ code: 'LOG_CLOSED' }),
    );
    await log.close(); // a second close is harmless
  });

  it('deletes records older than the topic retention', async () => {
    const now = 1_800_000_000_000;
    const retentionMs = topicSpec(TOPIC).retentionMs;
    const log = new SqliteEventLog({ path, sync: 'normal', pollIntervalMs: 10, retentionCheckMs: 10, now: () => now });
    opened.push(log);
    await log.append(TOPIC, [
      { key: 'a', value: Buffer.from('expired'), timestamp: now - retentionMs - 1 },
      { key: 'a', value: Buffer.from('kept'), timestamp: now - retentionMs + 1_000 },
    ]);
    await sleep(40);
    const got = await collect(log, {}, 1);
    expect(valuesOf(got)).toEqual(['kept']);
    expect(got[0]?.offset).toBe(1);
  });

  it('stops its subscriptions on close, delivering nothing more', async () => {
    const log = openLog();
    let calls = 0;
    log.subscribe({ topic: TOPIC, groupId: 'g', start: 'earliest' }, async () => {
      calls++;
    });
    await closeLog(log);
    await log.append(TOPIC, [rec('a', '1')]).catch(() => undefined);
    await sleep(30);
    expect(calls).toBe(0);
  });

  describe('schema registry', () => {
    const SCHEMA_A = '{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}';
    const SCHEMA_B = '{"type":"record","name":"B","fields":[{"name":"y","type":"string"}]}';

    it('gives the same schema the same id and another schema another id', async () => {
      const log = openLog();
      const a1 = await log.schemaRegistry.register('subject-1', SCHEMA_A);
      const a2 = await log.schemaRegistry.register('subject-1', SCHEMA_A);
      const b = await log.schemaRegistry.register('subject-1', SCHEMA_B);
      expect(a2).toBe(a1);
      expect(b).not.toBe(a1);
      expect(await log.schemaRegistry.schemaById(a1)).toBe(SCHEMA_A);
      expect(await log.schemaRegistry.schemaById(b)).toBe(SCHEMA_B);
    });

    it('keeps ids stable across reopen and shares them between instances', async () => {
      const first = openLog();
      const a = await first.schemaRegistry.register('subject-1', SCHEMA_A);
      const b = await first.schemaRegistry.register('subject-1', SCHEMA_B);
      const other = openLog();
      expect(await other.schemaRegistry.register('subject-1', SCHEMA_B)).toBe(b);
      await closeLog(first);
      await closeLog(other);

      const reopened = openLog();
      expect(await reopened.schemaRegistry.schemaById(a)).toBe(SCHEMA_A);
      expect(await reopened.schemaRegistry.register('subject-1', SCHEMA_A)).toBe(a);
      expect(await reopened.schemaRegistry.register('subject-1', SCHEMA_B)).toBe(b);
    });

    it('refuses an unknown id with DECODE_FAILED', async () => {
      const log = openLog();
      await expect(log.schemaRegistry.schemaById(12345)).rejects.toMatchObject({ code: 'DECODE_FAILED' });
    });
  });
});

describe('held records (a handler that names the positions to commit)', () => {
  it('commits only what the handler names, reads on, and commit() commits the rest later', async () => {
    const log = openLog();
    await log.append(TOPIC, Array.from({ length: 10 }, (_, i) => rec('one-key', String(i))));
    const partition = partitionForKey('one-key', PARTITIONS, 0);
    let seen = 0;
    const sub = log.subscribe({ topic: TOPIC, groupId: 'holder', start: 'earliest' }, async (batch) => {
      seen += batch.length;
      return new Map([[partition, 4]]); // records 4.. are held (say, in an open file)
    });
    await until(() => seen >= 10);
    await sleep(30);
    expect(seen).toBe(10); // not delivered again while held
    expect(log.committedOffsets('holder', TOPIC).get(partition)).toBe(4);
    await sub.commit(new Map([[partition, 10]]));
    expect(log.committedOffsets('holder', TOPIC).get(partition)).toBe(10);
    await sub.stop();
  });
});
