import { parseFileKey } from './file-layout';

/**
 * The archive's retention: which hours are past it. An hour goes as a whole
 * once it ended more than `retentionDays` ago (by event time, as the layout
 * files it), never part of one. Pure: the clock is an argument.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Start of the hour a `dt=…/hour=…` directory holds, epoch ms (UTC). */
export function hourStartMs(dt: string, hour: number): number {
  return Date.parse(`${dt}T00:00:00Z`) + hour * HOUR_MS;
}

/** The instant before which an hour must have ended to be deleted. */
export function retentionCutoffMs(nowMs: number, retentionDays: number): number {
  return nowMs - retentionDays * DAY_MS;
}

/**
 * The data files of the expired hours, by hour (`dt=YYYY-MM-DD/hour=HH`),
 * oldest first. Keys that are not data files of the layout are left alone.
 */
export function expiredHours(keys: readonly string[], nowMs: number, retentionDays: number): Map<string, string[]> {
  const cutoff = retentionCutoffMs(nowMs, retentionDays);
  const byHour = new Map<string, { start: number; keys: string[] }>();
  for (const key of keys) {
    const parsed = parseFileKey(key);
    if (!parsed) continue;
    const start = hourStartMs(parsed.dt, parsed.hour);
    if (!(start + HOUR_MS <= cutoff)) continue;
    const hour = `dt=${parsed.dt}/hour=${String(parsed.hour).padStart(2, '0')}`;
    const entry = byHour.get(hour) ?? { start, keys: [] };
    entry.keys.push(key);
    byHour.set(hour, entry);
  }
  return new Map([...byHour].sort((a, b) => a[1].start - b[1].start).map(([hour, e]) => [hour, e.keys]));
}
