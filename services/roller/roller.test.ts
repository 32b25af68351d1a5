import type { Worker } from 'node:worker_threads';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import { inferenceEventType } from '../shared/event/inference-event';
import type { Decoded } from '../shared/log/consumer-runner';
import { createLogger } from '../shared/observability/logger';
import { archiveEvent, ARCHIVE_BASE_MS } from '../../test/support/archive-events';
import { readArchiveRow, type ArchiveRow } from './core/avro-row';
import { fileKey, hourBucket, idsKey, parseFileKey } from './core/file-layout';
import { INGESTED_AT_HEADER } from '../shared/event/ingest-origin';
import type { ObjectStore, StoredObject } from './object-store/object-store';
import { Roller } from './roller';
import { ErasureList } from '../shared/erasure/erasure';

/** The roller's write-then-commit rules, with an in-memory store that can be made to fail. */

class MemoryStore implements ObjectStore {
  readonly url = 'memory://';
  readonly objects = new Map<string, Uint8Array>();
  failNext = 0;
  put(key: string, body: Uint8Array): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('store unavailable'));
    }
    this.objects.set(key, body);
    return Promise.resolve();
  }
  get(key: string): Promise<Uint8Array> {
    return Promise.resolve(this.objects.get(key)!);
  }
  list(prefix: string): Promise<StoredObject[]> {
    return Promise.resolve([...this.objects].filter(([key]) => key.startsWith(prefix)).map(([key, b]) => ({ key, size: b.length })));
  }
  delete(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }
  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const HOUR = 3_600_000;
const type = inferenceEventType();

/** Records of one partition: offsets from `from`, event times in the given hours (relative to the base). */
function records(partition: number, from: number, hours: number[]): Decoded<ArchiveRow>[] {
  return hours.map((h, i) => {
    const event = { ...archiveEvent(from + i, 1_000, 1), ended_at: ARCHIVE_BASE_MS + h * HOUR + i };
    const value = type.toBuffer(event);
    return {
      record: { topic: TOPICS.inference, partition, offset: from + i, key: event.event_id, value, headers: {}, timestamp: event.ended_at },
      value: readArchiveRow(value),
    };
  });
}

function setup(now = { t: 0 }, store = new MemoryStore(), erasures?: ErasureList): { roller: Roller; store: MemoryStore; now: { t: number } } {
  const roller = new Roller({
    topic: TOPICS.inference,
    store,
    limits: { maxRecords: 3, maxBytes: 1 << 30, idleFlushMs: 1_000 },
    registry: new Registry(),
    logger: createLogger('silent', 'test'),
    now: () => now.t,
    dedupe: { windowMs: 60_000, maxIds: 1_000 },
    erasures,
  });
  return { roller, store, now };
}

/** user and request_body of every row stored, by file. */
const bodies = (store: MemoryStore): { user: string | null; request_body: string | null }[] =>
  [...store.objects.values()].flatMap((b) =>
    tableFromIPC(readParquet(b).intoIPCStream())
      .toArray()
      .map((r: { user: string | null; request_body: string | null }) => ({ user: r.user, request_body: r.request_body })),
  );

const files = (store: MemoryStore): string[] =>
  [...store.objects.keys()]
    .filter((k) => parseFileKey(k))
    .map((k) => {
      const p = parseFileKey(k)!;
      return `${p.partition}+${p.firstOffset}@${p.hour}`;
    });

test('commits up to the first offset of the oldest file not stored yet; rotates by hour and count', async () => {
  const { roller, store } = setup();
  const positions = await roller.handle([...records(0, 0, [0, 0, 0, 0, 1]), ...records(5, 100, [2])]);
  // Closed files are encoded and stored in the background: nothing past an unstored file is handed out.
  expect(positions.get(0)).toBeLessThanOrEqual(4);
  await roller.drain();
  expect(files(store).sort()).toEqual(['0+0@0', '0+3@0']);
  expect(roller.positions()).toEqual(new Map([[0, 4], [5, 100]]));
  expect(roller.bufferedRows()).toBe(2);
  await roller.close();
});

test('a failed write is retried; nothing is committed past it until it is stored', async () => {
  const { roller, store } = setup();
  store.failNext = 1;
  await roller.handle(records(0, 10, [0, 0, 0, 0, 0, 1]));
  while (store.failNext > 0) await new Promise((r) => setTimeout(r, 5));
  expect(roller.positions()).toEqual(new Map([[0, 10]])); // the first file failed: held before it
  await roller.drain(); // the retry stores it
  expect(files(store).sort()).toEqual(['0+10@0', '0+13@0']);
  expect(roller.positions()).toEqual(new Map([[0, 15]]));
  await roller.close();
});

test('a column thread that dies loses nothing: its files are encoded again, and nothing is committed past them before', async () => {
  const { roller, store } = setup();
  await roller.handle(records(0, 20, [0, 0, 0, 0])); // closes 20..22 (sent to thread 0), 23 stays open
  const threads = (roller as unknown as { columns: { threads: { worker: Worker | null }[] } }).columns.threads;
  await threads[0]!.worker!.terminate(); // while 20..22 is encoded, or just after
  expect(roller.positions().get(0)).toBeLessThanOrEqual(20);
  await roller.handle(records(0, 24, [0, 0])); // closes 23..25
  await roller.drain();
  expect(files(store).sort()).toEqual(['0+20@0', '0+23@0']);
  for (const [key, body] of store.objects) {
    const first = parseFileKey(key)!.firstOffset;
    expect([...tableFromIPC(readParquet(body).intoIPCStream()).getChild('log_offset')!.toArray()]).toEqual([0, 1, 2].map((i) => BigInt(first + i)));
  }
  expect(roller.positions()).toEqual(new Map([[0, 26]]));
  await roller.close();
});

test('at shutdown a write that fails is given up, and its offsets stay uncommitted', async () => {
  const { roller, store } = setup();
  await roller.handle(records(4, 0, [0, 0]));
  store.failNext = 1;
  expect(await roller.flushAll()).toEqual(new Map([[4, 0]]));
  expect(files(store)).toEqual([]);
  await roller.close();
});

test('an idle partition is flushed once its hour is over and it was quiet; then committed past it', async () => {
  const { roller, store, now } = setup();
  now.t = ARCHIVE_BASE_MS + 10 * HOUR; // long after those hours
  await roller.handle(records(3, 50, [0, 0]));
  now.t += 500;
  expect(await roller.flushIdle()).toBeNull(); // not quiet long enough
  now.t += 600;
  await roller.flushIdle(); // closes the file; it is stored in the background
  await roller.drain();
  expect(await roller.flushIdle()).toEqual(new Map([[3, 52]])); // the next tick commits past it
  expect(await roller.flushIdle()).toBeNull();
  expect(files(store)).toEqual(['3+50@0']);
  expect(roller.bufferedRows()).toBe(0);
  await roller.close();
});

test('flushAll writes every open file (clean stop)', async () => {
  const { roller, store } = setup();
  await roller.handle([...records(1, 0, [0]), ...records(2, 7, [4, 4])]);
  expect(await roller.flushAll()).toEqual(new Map([[1, 1], [2, 9]]));
  expect(files(store).sort()).toEqual(['1+0@0', '2+7@4']);
  await roller.close();
});

/** Ingested records of one partition from `from`: these event ids (copies included), accepted at `at`. */
function ingested(partition: number, from: number, ids: string[], at: number): Decoded<ArchiveRow>[] {
  return ids.map((id, i) => {
    const event = { ...archiveEvent(from + i, 1_000, 1), event_id: id, ended_at: ARCHIVE_BASE_MS + i };
    const value = type.toBuffer(event);
    const headers = { [INGESTED_AT_HEADER]: String(at) };
    return { record: { topic: TOPICS.inference, partition, offset: from + i, key: id, value, headers, timestamp: event.ended_at }, value: readArchiveRow(value) };
  });
}

function eventIds(store: MemoryStore): string[] {
  const out: string[] = [];
  for (const [key, body] of store.objects) {
    if (parseFileKey(key)) out.push(...(tableFromIPC(readParquet(body).intoIPCStream()).getChild('event_id')!.toArray() as string[]));
  }
  return out.sort();
}

test('copies of ingested events are dropped across files and a crash; ids no file needs are deleted once committed', async () => {
  const T = 1_000_000_000_000;
  const first = setup();
  // a, b, c fill a file (3 rows); the copies of a and b are dropped; d and e stay in the open file.
  await first.roller.handle(ingested(0, 0, ['a', 'b', 'a', 'c', 'b', 'd', 'e'], T));
  await first.roller.drain();
  expect(first.roller.positions()).toEqual(new Map([[0, 5]]));
  const chunk = idsKey(TOPICS.inference, 0, 0);
  expect([...first.store.objects.keys()].sort()).toEqual([chunk, fileKey(TOPICS.inference, 0, 0, hourBucket(ARCHIVE_BASE_MS))].sort());
  // kill -9: the open file is lost; a new roller reads again from the committed offset 5.
  const second = setup({ t: 0 }, first.store);
  await second.roller.handle(ingested(0, 5, ['d', 'e', 'a', 'f', 'c'], T + 1));
  await second.roller.drain();
  expect(eventIds(second.store)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  expect(second.roller.positions()).toEqual(new Map([[0, 10]]));
  // A copy is dropped as long as its first's chunk is remembered: chunks are forgotten when a file closes ...
  await second.roller.handle(ingested(0, 10, ['g', 'h', 'i'], T + 120_000));
  await second.roller.drain();
  // ... here the one of g, h, i, whose ingest time is more than the window (60 s here) past those of the first two chunks:
  // afterwards an id of theirs counts as new again.
  await second.roller.handle(ingested(0, 13, ['a', 'j', 'k'], T + 121_000));
  await second.roller.drain();
  expect(eventIds(second.store)).toEqual(['a', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']);
  // Forgotten by the seal of the file at offset 10: their objects go once an offset past it is committed, not before.
  await second.roller.committed(new Map([[0, 10]]));
  expect(second.store.objects.has(chunk)).toBe(true);
  await second.roller.committed(new Map([[0, 16]]));
  await second.roller.close();
  const left = [...second.store.objects.keys()].filter((k) => !parseFileKey(k));
  expect(left).toEqual([idsKey(TOPICS.inference, 0, 10), idsKey(TOPICS.inference, 0, 13)]);
  await first.roller.close();
});

test('an erasure that arrives while records are buffered reaches the file before it is stored', async () => {
  const erasures = new ErasureList();
  const { roller, store } = setup({ t: 0 }, new MemoryStore(), erasures);
  const batch = records(6, 1, [0, 0]); // one open file of two rows (the limit is three)
  const users = batch.map((d) => type.fromBuffer(d.record.value) as { user: string | null; request_body: string | null });
  expect(users.every((u) => u.user !== null && u.request_body !== null)).toBe(true);
  await roller.handle(batch, erasures.generation);
  erasures.add({ user: users[0]!.user!, erased_at: Number.MAX_SAFE_INTEGER, source: 'cli' });
  await roller.flushAll();
  const stored = bodies(store);
  expect(stored).toHaveLength(2);
  for (const r of stored) expect(r.request_body === null).toBe(r.user === users[0]!.user);
  await roller.close();
});

test('files stored just before an erasure arrived are checked again and stored without its bodies', async () => {
  const erasures = new ErasureList();
  const { roller, store } = setup({ t: 0 }, new MemoryStore(), erasures);
  const batch = records(7, 1, [0, 0, 0]); // a full file: closed and stored
  const first = (type.fromBuffer(batch[0]!.record.value) as { user: string }).user;
  await roller.handle(batch, erasures.generation);
  await roller.drain();
  expect(bodies(store).every((r) => r.request_body !== null)).toBe(true);
  erasures.add({ user: first, erased_at: Number.MAX_SAFE_INTEGER, source: 'cli' });
  await roller.close(); // waits for the check of recent files
  const stored = bodies(store);
  expect(stored.filter((r) => r.user === first && r.request_body !== null)).toEqual([]);
  expect(stored.filter((r) => r.user !== first).every((r) => r.request_body !== null)).toBe(true);
});
