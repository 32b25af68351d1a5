/**
 * Where a file goes: Hive-style directories by event hour (UTC) and a name
 * made of topic, partition and first offset, zero-padded so names sort by
 * offset (as Kafka Connect's S3 sink names its objects). A replay after a
 * crash therefore rewrites the very same name. Pure.
 */
export const TABLE_DIR = 'llm_inference';
export const FILE_SUFFIX = '.parquet';
/** Beside the events: the corrections `llm-logger reprice` writes, one file per run (`repriced/<run id>.parquet`). */
export const REPRICED_DIR = 'repriced';

const HOUR_MS = 3_600_000;

export interface HourBucket {
  /** Start of the hour, epoch ms (UTC). */
  startMs: number;
  /** `dt=YYYY-MM-DD/hour=HH` */
  path: string;
}

export function hourBucket(eventTimeMs: number): HourBucket {
  if (!Number.isFinite(eventTimeMs)) throw new RangeError(`event time is not a number: ${eventTimeMs}`);
  const startMs = Math.floor(eventTimeMs / HOUR_MS) * HOUR_MS;
  const iso = new Date(startMs).toISOString(); // YYYY-MM-DDTHH:...
  return { startMs, path: `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}` };
}

export function bucketEndMs(bucket: HourBucket): number {
  return bucket.startMs + HOUR_MS;
}

/** `llm_inference/dt=2026-11-27/hour=09/llm.inference.v1+3+00000000000000012345.parquet` */
export function fileKey(topic: string, partition: number, firstOffset: number, bucket: HourBucket): string {
  return `${TABLE_DIR}/${bucket.path}/${topic}+${partition}+${String(firstOffset).padStart(20, '0')}${FILE_SUFFIX}`;
}

const KEY_PATTERN = /^llm_inference\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/(.+)\+(\d+)\+(\d{20})\.parquet$/;

export interface ParsedKey {
  dt: string;
  hour: number;
  topic: string;
  partition: number;
  firstOffset: number;
}

/** The parts of a file key, or null for anything that is not a finished data file (temporary files included). */
export function parseFileKey(key: string): ParsedKey | null {
  const m = KEY_PATTERN.exec(key);
  if (!m) return null;
  return { dt: m[1]!, hour: Number(m[2]), topic: m[3]!, partition: Number(m[4]), firstOffset: Number(m[5]) };
}

/**
 * The ids of the ingested events a file holds (see roller/ingest-dedupe.ts)
 * go beside it, per topic and partition, named by the file's first offset:
 * `_ingest_ids/llm.inference.v1+3/00000000000000012345.ids`. Readers of the
 * table skip it (outside `llm_inference/`, and `_`-prefixed as Hive hides).
 */
export const IDS_DIR = '_ingest_ids';

export function idsPrefix(topic: string, partition: number): string {
  return `${IDS_DIR}/${topic}+${partition}/`;
}

export function idsKey(topic: string, partition: number, firstOffset: number): string {
  return `${idsPrefix(topic, partition)}${String(firstOffset).padStart(20, '0')}.ids`;
}

/** The first offset in an ids key of that topic and partition, or null for anything else. */
export function parseIdsKey(topic: string, partition: number, key: string): number | null {
  const prefix = idsPrefix(topic, partition);
  if (!key.startsWith(prefix)) return null;
  const m = /^(\d{20})\.ids$/.exec(key.slice(prefix.length));
  return m ? Number(m[1]) : null;
}
