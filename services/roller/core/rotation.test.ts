import { fileKey, hourBucket, parseFileKey } from './file-layout';
import { appendRecord, isFull, isIdleDue, openFile, place, type OpenFileState, type RotationLimits } from './rotation';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const limits: RotationLimits = { maxRecords: 3, maxBytes: 1_000, idleFlushMs: 500 };

/** Runs records through the core the way the roller does; returns the files as [first, last] offsets and hour. */
function files(records: { offset: number; eventTimeMs: number; bytes?: number }[]): string[] {
  const out: string[] = [];
  let open: OpenFileState | null = null;
  let next: number | null = null;
  const close = (): void => {
    out.push(`${open!.bucket.path}:${open!.firstOffset}-${open!.lastOffset}`);
    open = null;
  };
  for (const r of records) {
    const rec = { bytes: 10, ...r };
    const p = place(open, next, rec);
    if (p.action === 'skip') continue;
    if (p.action === 'rotate') close();
    if (p.action === 'append') appendRecord(open!, rec);
    else open = openFile(p.bucket, rec);
    next = rec.offset + 1;
    if (isFull(open!, limits)) close();
  }
  if (open) out.push(`${(open as OpenFileState).bucket.path}:${(open as OpenFileState).firstOffset}-(open)`);
  return out;
}

test('hour buckets and file names', () => {
  expect(hourBucket(T0 + 59 * 60_000).path).toBe('dt=2026-11-27/hour=09');
  expect(hourBucket(T0 + H).path).toBe('dt=2026-11-27/hour=10');
  expect(hourBucket(Date.UTC(2026, 11, 31, 23, 59, 59, 999)).path).toBe('dt=2026-12-31/hour=23');
  const key = fileKey('llm.inference.v1', 7, 1234, hourBucket(T0));
  expect(key).toBe('llm_inference/dt=2026-11-27/hour=09/llm.inference.v1+7+00000000000000001234.parquet');
  expect(parseFileKey(key)).toEqual({ dt: '2026-11-27', hour: 9, topic: 'llm.inference.v1', partition: 7, firstOffset: 1234 });
  expect(parseFileKey(`${key}.ab12cd34.tmp`)).toBeNull();
  expect(() => hourBucket(Number.NaN)).toThrow(/event time/);
});

test('a file holds consecutive records of one hour, closed by count', () => {
  const recs = [0, 1, 2, 3, 4].map((o) => ({ offset: o, eventTimeMs: T0 + o }));
  expect(files(recs)).toEqual(['dt=2026-11-27/hour=09:0-2', 'dt=2026-11-27/hour=09:3-(open)']);
});

test('a record of another hour closes the file (late records too), and size closes it', () => {
  const recs = [
    { offset: 10, eventTimeMs: T0 + H - 1 },
    { offset: 11, eventTimeMs: T0 + H },
    { offset: 12, eventTimeMs: T0 + H - 5 }, // late: back to hour 09
    { offset: 13, eventTimeMs: T0 + H + 1, bytes: 2_000 }, // too big: its own file
  ];
  expect(files(recs)).toEqual([
    'dt=2026-11-27/hour=09:10-10',
    'dt=2026-11-27/hour=10:11-11',
    'dt=2026-11-27/hour=09:12-12',
    'dt=2026-11-27/hour=10:13-13',
  ]);
});

test('the same records give the same files however they were batched or redelivered (replay after a crash)', () => {
  const recs = Array.from({ length: 40 }, (_, o) => ({ offset: 100 + o * 2, eventTimeMs: T0 + Math.floor(o / 7) * (H / 2) }));
  const once = files(recs);
  // Delivered again from the start of a file (the committed position), with repeats of what was handled.
  const again = files([...recs.slice(0, 9), ...recs.slice(3, 20), ...recs.slice(15)]);
  expect(again).toEqual(once);
});

test('records already handled are skipped', () => {
  const open = openFile(hourBucket(T0), { offset: 5, eventTimeMs: T0, bytes: 1 });
  expect(place(open, 6, { offset: 5, eventTimeMs: T0, bytes: 1 })).toEqual({ action: 'skip' });
  expect(place(null, 6, { offset: 3, eventTimeMs: T0, bytes: 1 })).toEqual({ action: 'skip' });
  expect(place(open, 6, { offset: 6, eventTimeMs: T0, bytes: 1 })).toEqual({ action: 'append' });
});

test('idle flush: only once the hour is over and the partition was quiet', () => {
  const open = openFile(hourBucket(T0), { offset: 0, eventTimeMs: T0 + 10, bytes: 1 });
  const lastRecordAtMs = 1_000;
  // Hour not over (neither by event time nor by the clock).
  expect(isIdleDue(open, limits, { nowMs: T0 + 30 * 60_000, lastRecordAtMs: T0, maxEventTimeMs: T0 + 10 })).toBe(false);
  // Hour over by event time elsewhere, but the partition is not quiet yet.
  expect(isIdleDue(open, limits, { nowMs: lastRecordAtMs + 100, lastRecordAtMs, maxEventTimeMs: T0 + H })).toBe(false);
  expect(isIdleDue(open, limits, { nowMs: lastRecordAtMs + 500, lastRecordAtMs, maxEventTimeMs: T0 + H })).toBe(true);
  // Nothing arrives at all: the clock says the hour is over.
  expect(isIdleDue(open, limits, { nowMs: T0 + H + 500, lastRecordAtMs: T0 + H, maxEventTimeMs: T0 + 10 })).toBe(true);
});
