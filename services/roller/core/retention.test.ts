import { fileKey, hourBucket } from './file-layout';
import { expiredHours, hourStartMs, retentionCutoffMs } from './retention';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A fixed clock: 2030-03-10T12:34:56Z. */
const NOW = Date.UTC(2030, 2, 10, 12, 34, 56);

const key = (startMs: number, partition = 0, offset = 0): string => fileKey('llm.inference.v1', partition, offset, hourBucket(startMs));

test('an hour is expired once it ended more than the retention ago, and only then', () => {
  const cutoff = retentionCutoffMs(NOW, 2); // 2030-03-08T12:34:56Z
  const endsBefore = hourBucket(cutoff - HOUR).startMs; // 11:00-12:00 ends before the cutoff
  const containsCutoff = hourBucket(cutoff).startMs; // 12:00-13:00 ends after it
  const keys = [key(endsBefore), key(endsBefore, 3, 40), key(endsBefore - HOUR), key(containsCutoff), key(NOW)];
  const expired = expiredHours(keys, NOW, 2);
  expect([...expired.keys()]).toEqual(['dt=2030-03-08/hour=10', 'dt=2030-03-08/hour=11']);
  expect(expired.get('dt=2030-03-08/hour=11')).toEqual([key(endsBefore), key(endsBefore, 3, 40)]);
});

test('an hour that ends exactly at the cutoff is expired; one that ends a millisecond after is not', () => {
  const cutoff = Date.UTC(2030, 2, 8, 12); // on the hour
  const now = cutoff + 2 * DAY;
  const expired = expiredHours([key(cutoff - HOUR), key(cutoff)], now, 2);
  expect([...expired.keys()]).toEqual(['dt=2030-03-08/hour=11']);
  expect([...expiredHours([key(cutoff - HOUR)], now - 1, 2).keys()]).toEqual([]);
});

test('oldest first, across days; other keys (temporary files, foreign objects) are never touched', () => {
  const old = [key(NOW - 40 * DAY), key(NOW - 3 * DAY), key(NOW - 10 * DAY)];
  const other = ['llm_inference/dt=2020-01-01/hour=00/notes.txt', '_llm_logger/erase-journal/x.json', `${key(NOW - 40 * DAY)}.ab12.tmp`];
  const expired = expiredHours([...old, ...other], NOW, 1);
  expect([...expired.values()].flat()).toEqual([old[0], old[2], old[1]]);
});

test('hourStartMs reads the layout back', () => {
  const b = hourBucket(NOW);
  const [, dt, hour] = /dt=(.+)\/hour=(\d+)/.exec(b.path)!;
  expect(hourStartMs(dt!, Number(hour))).toBe(b.startMs);
});
