import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TOPICS, topicSpec } from '../../../../topology/topics';
import { isLlmLoggerError, LlmLoggerError } from '../../errors';
import { createLogger } from '../../observability/logger';
import { SqliteEventLog } from '../embedded/sqlite-log';
import { partitionForKey, type EventLog, type ProducerRecord } from '../event-log';
import { DiskSpool } from './disk-spool';
import { SpoolingLog } from './spooling-log';

/** A real log that can be switched off, standing for a Kafka outage. */
class SwitchableLog implements EventLog {
  readonly kind = 'kafka' as const;
  down = false;
  /** Records with a value longer than this are refused for good, as Kafka refuses one over its size limit. */
  maxValueBytes = Infinity;
  constructor(private readonly inner: SqliteEventLog) {}
  get schemaRegistry() {
    return this.inner.schemaRegistry;
  }
  append(topic: (typeof TOPICS)[keyof typeof TOPICS], records: ProducerRecord[]): Promise<void> {
    if (this.down) return Promise.reject(new LlmLoggerError('LOG_UNAVAILABLE', 'broker down', { retriable: true }));
    if (records.some((r) => r.value.length > this.maxValueBytes)) return Promise.reject(new LlmLoggerError('RECORD_TOO_LARGE', 'record too large'));
    return this.inner.append(topic, records);
  }
  subscribe(...args: Parameters<EventLog['subscribe']>) {
    return this.inner.subscribe(...args);
  }
  resetGroup(...args: Parameters<EventLog['resetGroup']>) {
    return this.inner.resetGroup(...args);
  }
  subscribeTransactional(...args: Parameters<EventLog['subscribeTransactional']>) {
    return this.inner.subscribeTransactional(...args);
  }
  close() {
    return this.inner.close();
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spool-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Record times from the clock, within every retention (the log deletes older records while a test runs). */
const T0 = Date.now();
const rec = (i: number): ProducerRecord => ({ key: `k${i}`, value: Buffer.from(`value-${i}`), timestamp: T0 + i });
const logger = createLogger('silent', 'test');

function values(inner: SqliteEventLog): string[] {
  const out: { ts: number; v: string }[] = [];
  for (const [p, end] of inner.endOffsets(TOPICS.inference)) {
    for (const r of inner.readPartition(TOPICS.inference, p, 0, end)) out.push({ ts: r.timestamp, v: r.value.toString() });
  }
  return out.sort((a, b) => a.ts - b.ts).map((x) => x.v);
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('while the log is down appends succeed into the spool, and are replayed once it returns', async () => {
  const inner = new SqliteEventLog({ path: join(dir, 'log.db'), sync: 'normal' });
  const flaky = new SwitchableLog(inner);
  const log = new SpoolingLog(flaky, new DiskSpool(join(dir, 'spool.db'), 1_000_000), { logger, retryIntervalMs: 20 });
  await log.append(TOPICS.inference, [rec(1)]);
  flaky.down = true;
  await log.append(TOPICS.inference, [rec(2), rec(3)]);
  await log.append(TOPICS.inference, [rec(4)]);
  expect(log.brokerState).toBe('down');
  expect(log.spool.depth).toBe(3);
  flaky.down = false;
  await log.append(TOPICS.inference, [rec(5)]); // follows the spooled ones
  await until(() => log.spool.depth === 0 && log.brokerState === 'up');
  expect(values(inner)).toEqual(['value-1', 'value-2', 'value-3', 'value-4', 'value-5']);
  await log.close();
});

test('records spooled before a crash are replayed by the next process', async () => {
  const spoolPath = join(dir, 'spool.db');
  const first = new DiskSpool(spoolPath, 1_000_000);
  first.append(TOPICS.inference, [rec(1), rec(2)]);
  first.close(); // as after kill -9: the rows are on disk
  const inner = new SqliteEventLog({ path: join(dir, 'log.db'), sync: 'normal' });
  const log = new SpoolingLog(new SwitchableLog(inner), new DiskSpool(spoolPath, 1_000_000), { logger, retryIntervalMs: 20 });
  await until(() => log.spool.depth === 0);
  expect(values(inner)).toEqual(['value-1', 'value-2']);
  await log.close();
});

test('a full spool refuses what does not fit with a non-retriable error, keeping what fitted', async () => {
  const inner = new SqliteEventLog({ path: join(dir, 'log.db'), sync: 'normal' });
  const flaky = new SwitchableLog(inner);
  flaky.down = true;
  const log = new SpoolingLog(flaky, new DiskSpool(join(dir, 'spool.db'), 20), { logger, retryIntervalMs: 20 });
  const err = await log.append(TOPICS.inference, [rec(1), rec(2), rec(3)]).catch((e: unknown) => e);
  expect(isLlmLoggerError(err, 'LOG_QUEUE_FULL')).toBe(true);
  expect((err as LlmLoggerError).retriable).toBe(false);
  expect(log.spool.depth).toBe(2);
  flaky.down = false;
  await until(() => log.spool.depth === 0);
  expect(values(inner)).toEqual(['value-1', 'value-2']);
  await log.close();
});

test('a record the log refuses for good is passed back at once, never spooled, and Kafka is not taken for down', async () => {
  const inner = new SqliteEventLog({ path: join(dir, 'log.db'), sync: 'normal' });
  const strict = new SwitchableLog(inner);
  strict.maxValueBytes = 10;
  const log = new SpoolingLog(strict, new DiskSpool(join(dir, 'spool.db'), 1_000_000), { logger, retryIntervalMs: 20 });
  const err = await log.append(TOPICS.inference, [{ key: 'big', value: Buffer.alloc(100) }]).catch((e: unknown) => e);
  expect(isLlmLoggerError(err, 'RECORD_TOO_LARGE')).toBe(true);
  expect(log.spool.depth).toBe(0);
  expect(log.brokerState).toBe('up');
  await log.append(TOPICS.inference, [rec(1)]);
  expect(values(inner)).toEqual(['value-1']);
  await log.close();
});

test('a spooled record the log refuses for good is dropped and counted, never blocking the records behind it', async () => {
  const spoolPath = join(dir, 'spool.db');
  const earlier = new DiskSpool(spoolPath, 10_000_000);
  earlier.append(TOPICS.inference, [rec(1), { key: 'big', value: Buffer.alloc(1_000), timestamp: 1_001 }, rec(3)]);
  earlier.close(); // spooled by an earlier run, before the limit was known
  const inner = new SqliteEventLog({ path: join(dir, 'log.db'), sync: 'normal' });
  const strict = new SwitchableLog(inner);
  strict.maxValueBytes = 100;
  let refused = 0;
  const log = new SpoolingLog(strict, new DiskSpool(spoolPath, 10_000_000), { logger, retryIntervalMs: 20, onRefused: (n) => (refused += n) });
  await until(() => log.spool.depth === 0);
  await log.append(TOPICS.inference, [rec(4)]);
  expect(values(inner)).toEqual(['value-1', 'value-3', 'value-4']);
  expect(refused).toBe(1);
  await log.close();
});

test('an ingested record keeps its header and its placement by key through the spool', async () => {
  const inner = new SqliteEventLog({ path: join(dir, 'log.db'), sync: 'normal' });
  const flaky = new SwitchableLog(inner);
  flaky.down = true;
  const log = new SpoolingLog(flaky, new DiskSpool(join(dir, 'spool.db'), 1_000_000), { logger, retryIntervalMs: 20 });
  const ingested = (i: number): ProducerRecord => ({ ...rec(i), key: 'same-id', headers: { 'x-llm-ingested-at': String(i) }, partitionByKey: true });
  // Three copies, each in a batch of its own beside a gateway record: spooled, then replayed.
  for (let i = 1; i <= 3; i++) await log.append(TOPICS.inference, [rec(10 + i), ingested(i)]);
  expect(log.spool.depth).toBe(6);
  expect(log.spool.peek(2)[1]!.record).toMatchObject({ key: 'same-id', partitionByKey: true, headers: { 'x-llm-ingested-at': '1' } });
  flaky.down = false;
  await until(() => log.spool.depth === 0);
  const copies = [...inner.endOffsets(TOPICS.inference)].flatMap(([p, end]) => inner.readPartition(TOPICS.inference, p, 0, end)).filter((r) => r.key === 'same-id');
  expect(copies.map((r) => r.headers['x-llm-ingested-at'])).toEqual(['1', '2', '3']);
  expect(new Set(copies.map((r) => r.partition))).toEqual(new Set([partitionForKey('same-id', topicSpec(TOPICS.inference).partitions, 0)]));
  await log.close();
});

test('a spool written before records were placed by key is read as it was, and takes them from then on', async () => {
  const path = join(dir, 'spool.db');
  const old = new Database(path);
  old.exec(`CREATE TABLE spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT, value BLOB NOT NULL, headers TEXT, ts INTEGER NOT NULL)`);
  old.prepare('INSERT INTO spool (topic, key, value, headers, ts) VALUES (?, ?, ?, ?, ?)').run(TOPICS.inference, 'k1', Buffer.from('value-1'), null, T0 + 1);
  old.close();
  const spool = new DiskSpool(path, 1_000_000);
  spool.append(TOPICS.inference, [{ ...rec(2), partitionByKey: true }]);
  expect(spool.peek(10).map((s) => s.record)).toEqual([
    { key: 'k1', value: Buffer.from('value-1'), headers: undefined, timestamp: T0 + 1 },
    { key: 'k2', value: Buffer.from('value-2'), headers: undefined, timestamp: T0 + 2, partitionByKey: true },
  ]);
  spool.close();
});
