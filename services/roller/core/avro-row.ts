import { LlmLoggerError } from '../../shared/errors';
import { AVRO_COLUMNS, type ColumnKind } from './column-spec';

/**
 * Reads an inference event's Avro body (in the current schema) into a row
 * without building a JavaScript object: numbers are read as numbers and each
 * string is kept as a byte range of the body, so it is copied into the Arrow
 * buffer as UTF-8 without a round trip through a JS string. This is most of
 * the roller's speed. Pure.
 *
 * `cells` holds, per column in AVRO_COLUMNS order, two numbers: for strings
 * and the tags map [start, end) in the body (start -1 = null); for numbers
 * and booleans [value, 1] ([0, -1] = null).
 */
export interface AvroRow {
  body: Buffer;
  cells: Float64Array;
  endedAt: number;
}

/**
 * A record on its way to the roller's column threads: its current-schema
 * Avro body is bytes [start, body.length) of `body` (after the wire-format
 * header, without copying it out), already validated by `readAvroCells`.
 */
export interface ArchiveRow {
  body: Buffer;
  start: number;
  endedAt: number;
}

const ENDED_AT = AVRO_COLUMNS.findIndex((c) => c.name === 'ended_at');
const STARTED_AT = AVRO_COLUMNS.findIndex((c) => c.name === 'started_at');
const USER = AVRO_COLUMNS.findIndex((c) => c.name === 'user');

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end = buf.length,
  ) {}

  fail(what: string): never {
    throw new LlmLoggerError('DECODE_FAILED', `inference event body is not valid Avro: ${what} at byte ${this.pos}`);
  }

  long(): number {
    let result = 0;
    let factor = 1;
    let b: number;
    do {
      if (this.pos >= this.end) this.fail('truncated number');
      b = this.buf[this.pos++]!;
      result += (b & 0x7f) * factor;
      factor *= 128;
    } while (b & 0x80);
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  skipString(): void {
    const len = this.long();
    if (len < 0 || this.pos + len > this.end) this.fail('bad string length');
    this.pos += len;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  skipMap(): void {
    for (let count = this.long(); count !== 0; count = this.long()) {
      if (count < 0) {
        count = -count;
        this.long(); // block size in bytes
      }
      for (let i = 0; i < count; i++) {
        this.skipString();
        this.skipString();
      }
    }
  }
}

function readValue(r: Reader, kind: ColumnKind, cells: Float64Array, at: number): void {
  switch (kind) {
    case 'utf8': {
      const len = r.long();
      if (len < 0 || r.pos + len > r.end) r.fail('bad string length');
      cells[at] = r.pos;
      cells[at + 1] = r.pos + len;
      r.pos += len;
      return;
    }
    case 'int32':
    case 'int64':
    case 'timestamp':
      cells[at] = r.long();
      cells[at + 1] = 1;
      return;
    case 'float64':
      cells[at] = r.double();
      cells[at + 1] = 1;
      return;
    case 'bool': {
      const b = r.pos < r.end ? r.buf[r.pos++] : -1;
      if (b !== 0 && b !== 1) r.fail('bad boolean');
      cells[at] = b;
      cells[at + 1] = 1;
      return;
    }
    case 'tags':
      cells[at] = r.pos;
      r.skipMap();
      cells[at + 1] = r.pos;
      return;
  }
}

/** Parses (and so validates) one body written with the current inference event schema. */
export function readAvroRow(body: Buffer): AvroRow {
  const cells = new Float64Array(AVRO_COLUMNS.length * 2);
  return { body, cells, endedAt: readAvroCells(body, 0, body.length, cells) };
}

/**
 * The same for the body at bytes [start, end) of `buf`, into `cells` (reused
 * from row to row: no allocation per record); positions in `cells` are
 * relative to `buf`. Returns the event's ended_at.
 */
export function readAvroCells(buf: Buffer, start: number, end: number, cells: Float64Array): number {
  const r = new Reader(buf, end);
  r.pos = start;
  for (let i = 0; i < AVRO_COLUMNS.length; i++) {
    const c = AVRO_COLUMNS[i]!;
    if (c.nullable) {
      const branch = r.long();
      if (branch === 0) {
        cells[2 * i] = c.kind === 'utf8' || c.kind === 'tags' ? -1 : 0;
        cells[2 * i + 1] = -1;
        continue;
      }
      if (branch !== 1) r.fail(`bad union branch for ${c.name}`);
    }
    readValue(r, c.kind, cells, 2 * i);
  }
  if (r.pos !== end) r.fail('trailing bytes');
  return cells[2 * ENDED_AT]!;
}

const scratch = new Float64Array(AVRO_COLUMNS.length * 2);

/** Whose call a row is and when it started: what an erasure is checked against. */
export interface RowOwner {
  user: string | null;
  startedAt: number;
}

/**
 * Validates the current-schema body at bytes [start, …) of `body` and keeps
 * it by reference (see ArchiveRow). With `owner`, also fills in the row's
 * user and start (only asked for while some erasure is known: it costs a string).
 */
export function readArchiveRow(body: Buffer, start = 0, owner?: RowOwner): ArchiveRow {
  const endedAt = readAvroCells(body, start, body.length, scratch);
  if (owner) {
    const a = scratch[2 * USER]!;
    owner.user = a < 0 ? null : body.toString('utf8', a, scratch[2 * USER + 1]);
    owner.startedAt = scratch[2 * STARTED_AT]!;
  }
  return { body, start, endedAt };
}

/** Calls `fn(keyStart, keyEnd, valueStart, valueEnd)` for each entry of an Avro map<string> at [start, end). */
export function forEachMapEntry(body: Buffer, start: number, fn: (ks: number, ke: number, vs: number, ve: number) => void): void {
  const r = new Reader(body);
  r.pos = start;
  for (let count = r.long(); count !== 0; count = r.long()) {
    if (count < 0) {
      count = -count;
      r.long();
    }
    for (let i = 0; i < count; i++) {
      const kl = r.long();
      const ks = r.pos;
      r.pos += kl;
      const vl = r.long();
      const vs = r.pos;
      r.pos += vl;
      fn(ks, ks + kl, vs, vs + vl);
    }
  }
}
