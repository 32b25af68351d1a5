import { bucketEndMs, hourBucket, type HourBucket } from './file-layout';

/**
 * When a file is closed. Each log partition has at most one open file, and
 * a file holds consecutive records of one partition and one event hour, so
 * files are contiguous offset ranges and the position to commit is always
 * the first offset of the open file. Rotation depends only on the records
 * (event hour, Avro size, count) — never on the wall clock or on how the log
 * happened to batch them — so a replay from the committed offset makes the
 * same files. Pure: the caller passes in every time it uses.
 */

export interface RotationLimits {
  maxRecords: number;
  /** Sum of the records' Avro sizes; the Parquet file is several times smaller. */
  maxBytes: number;
  /** A file whose hour is over is closed once its partition was quiet this long. */
  idleFlushMs: number;
}

export interface OpenFileState {
  bucket: HourBucket;
  firstOffset: number;
  lastOffset: number;
  records: number;
  bytes: number;
}

export interface IncomingRecord {
  offset: number;
  eventTimeMs: number;
  bytes: number;
}

export type Placement =
  /** No file is open: start one with this record. */
  | { action: 'open'; bucket: HourBucket }
  /** Add it to the open file. */
  | { action: 'append' }
  /** Close the open file first (another hour), then start a new one with this record. */
  | { action: 'rotate'; bucket: HourBucket }
  /**
   * Already handled: a batch delivered again after a failed write. Its
   * records before the failure are in a stored file or in the open one.
   */
  | { action: 'skip' };

/** `next`: the offset after the last record this partition handled (null before the first). */
const APPEND: Placement = { action: 'append' };
const SKIP: Placement = { action: 'skip' };

export function place(open: OpenFileState | null, next: number | null, record: IncomingRecord): Placement {
  if (next !== null && record.offset < next) return SKIP;
  // Same hour as the open file: the common case, decided without building the bucket's path.
  if (open !== null && record.eventTimeMs >= open.bucket.startMs && record.eventTimeMs < bucketEndMs(open.bucket)) return APPEND;
  const bucket = hourBucket(record.eventTimeMs);
  return open === null ? { action: 'open', bucket } : { action: 'rotate', bucket };
}

/** A new open file holding this one record. */
export function openFile(bucket: HourBucket, record: IncomingRecord): OpenFileState {
  return { bucket, firstOffset: record.offset, lastOffset: record.offset, records: 1, bytes: record.bytes };
}

/** Counts the record into the open file (in place: this runs once per record). */
export function appendRecord(open: OpenFileState, record: IncomingRecord): void {
  open.lastOffset = record.offset;
  open.records++;
  open.bytes += record.bytes;
}

/** After adding a record: is the file full? */
export function isFull(open: OpenFileState, limits: RotationLimits): boolean {
  return open.records >= limits.maxRecords || open.bytes >= limits.maxBytes;
}

/**
 * Idle flush: the file's hour is over (by the newest event time seen, or by
 * the clock when nothing arrives at all) and its partition has been quiet for
 * `idleFlushMs`.
 */
export function isIdleDue(
  open: OpenFileState,
  limits: RotationLimits,
  times: { nowMs: number; lastRecordAtMs: number; maxEventTimeMs: number },
): boolean {
  const hourOver = Math.max(times.maxEventTimeMs, times.nowMs) >= bucketEndMs(open.bucket);
  return hourOver && times.nowMs - times.lastRecordAtMs >= limits.idleFlushMs;
}
