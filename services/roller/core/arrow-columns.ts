import {
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  Map_,
  Struct,
  TimestampMillisecond,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import { forEachMapEntry } from './avro-row';

/**
 * Column builders that write Arrow buffers directly (typed arrays, offsets,
 * validity bitmaps). Arrow's generic builders cost ~10x more per value, which
 * matters at 50,000 events/s with ~45 columns.
 */

/** Grows by doubling; `used` bytes are valid. A Buffer for its fast UTF-8 write. */
class Bytes {
  buf = Buffer.allocUnsafe(4096);
  used = 0;
  reserve(extra: number): void {
    if (this.used + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.used + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }
}

/** Bits [0, length) cleared for reuse (bitmaps are set with |=). */
function clearBits(bits: Uint8Array, length: number): void {
  bits.fill(0, 0, Math.min(bits.length, (length + 7) >> 3));
}

/** Validity bitmap (1 = value present), as Arrow lays it out. */
class Validity {
  private bits = new Uint8Array(128);
  nulls = 0;
  set(index: number, valid: boolean): void {
    const byte = index >> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      next.set(this.bits);
      this.bits = next;
    }
    if (valid) this.bits[byte]! |= 1 << (index & 7);
    else this.nulls++;
  }
  reset(length: number): void {
    clearBits(this.bits, length);
    this.nulls = 0;
  }
  bitmap(length: number): Uint8Array | undefined {
    return this.nulls === 0 ? undefined : this.bits.slice(0, (length + 7) >> 3);
  }
}

export interface ColumnBuilder<V> {
  readonly type: DataType;
  readonly nullable: boolean;
  push(value: V): void;
  finish(): Data;
  /** Back to no values, keeping the buffers (once the Data from `finish` is no longer used). */
  reset(): void;
}

export class Utf8Builder implements ColumnBuilder<string | null> {
  readonly type = new Utf8();
  private readonly bytes = new Bytes();
  private offsets = new Int32Array(1024);
  private readonly validity = new Validity();
  length = 0;
  constructor(readonly nullable: boolean) {}

  reset(): void {
    this.validity.reset(this.length);
    this.bytes.used = 0;
    this.length = 0;
  }

  push(value: string | null): void {
    const i = this.length++;
    if (i + 1 >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    if (value === null) {
      this.validity.set(i, false);
    } else {
      this.validity.set(i, true);
      // UTF-8 needs at most 3 bytes per UTF-16 code unit.
      this.bytes.reserve(value.length * 3);
      this.bytes.used += this.bytes.buf.write(value, this.bytes.used, 'utf8');
    }
    this.offsets[i + 1] = this.bytes.used;
  }

  /** A value already in UTF-8: bytes [start, end) of `src`. */
  pushBytes(src: Buffer, start: number, end: number): void {
    const i = this.length++;
    if (i + 1 >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    this.validity.set(i, true);
    const len = end - start;
    this.bytes.reserve(len);
    const dst = this.bytes.buf;
    let at = this.bytes.used;
    // Short values byte by byte: Buffer.copy costs a view allocation per call, which dominates below ~100 bytes.
    if (len < 96) for (let k = start; k < end; k++) dst[at++] = src[k]!;
    else src.copy(dst, at, start, end);
    this.bytes.used += len;
    this.offsets[i + 1] = this.bytes.used;
  }

  finish(): Data<Utf8> {
    return makeData({
      type: this.type,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.bitmap(this.length),
      valueOffsets: this.offsets.slice(0, this.length + 1),
      data: new Uint8Array(this.bytes.buf.buffer, this.bytes.buf.byteOffset, this.bytes.used),
    });
  }
}

type NumericType = Int32 | Float64 | Int64 | TimestampMillisecond;

/** Int32, Float64, Int64 and timestamp(ms) columns from JS numbers (Int64 values are whole numbers < 2^53). */
export class NumberBuilder implements ColumnBuilder<number | null> {
  /** Int64 columns are written as two 32-bit halves: no BigInt per value (and no garbage). */
  private readonly wide: boolean;
  private values: Float64Array | Int32Array;
  private readonly validity = new Validity();
  length = 0;

  constructor(
    readonly type: NumericType,
    readonly nullable: boolean,
  ) {
    this.wide = !(type instanceof Int32 || type instanceof Float64);
    this.values = this.alloc(1024);
  }

  reset(): void {
    this.validity.reset(this.length);
    this.length = 0;
  }

  private alloc(n: number): Float64Array | Int32Array {
    if (this.type instanceof Float64) return new Float64Array(n);
    return new Int32Array(this.wide ? 2 * n : n);
  }

  push(value: number | null): void {
    const i = this.length++;
    const slots = this.wide ? 2 * (i + 1) : i + 1;
    if (slots > this.values.length) {
      const grown = this.values instanceof Float64Array ? new Float64Array(this.values.length * 2) : new Int32Array(this.values.length * 2);
      grown.set(this.values as never);
      this.values = grown;
    }
    if (value === null) {
      this.validity.set(i, false);
      value = 0; // not a reused buffer's old value: the same rows make the same bytes
    } else {
      this.validity.set(i, true);
    }
    if (this.wide) {
      // Little-endian two's complement: low word, then high word.
      const high = Math.floor(value / 4294967296);
      this.values[2 * i] = value - high * 4294967296;
      this.values[2 * i + 1] = high;
    } else {
      this.values[i] = value;
    }
  }

  finish(): Data {
    const used = this.wide ? 2 * this.length : this.length;
    const values = this.values.subarray(0, used);
    return makeData({
      type: this.type as Int32,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.bitmap(this.length),
      data: (this.wide ? new BigInt64Array(values.buffer, values.byteOffset, this.length) : values) as Int32Array,
    });
  }
}

export class BoolBuilder implements ColumnBuilder<boolean> {
  readonly type = new Bool();
  readonly nullable = false;
  private bits = new Uint8Array(128);
  length = 0;

  reset(): void {
    clearBits(this.bits, this.length);
    this.length = 0;
  }

  push(value: boolean): void {
    const i = this.length++;
    const byte = i >> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(this.bits.length * 2);
      next.set(this.bits);
      this.bits = next;
    }
    if (value) this.bits[byte]! |= 1 << (i & 7);
  }

  finish(): Data<Bool> {
    return makeData({ type: this.type, length: this.length, nullCount: 0, data: this.bits.slice(0, (this.length + 7) >> 3) });
  }
}

/** map<string, string>, never null (an event without tags has an empty map). */
export class StringMapBuilder implements ColumnBuilder<Record<string, string>> {
  readonly type: Map_<Utf8, Utf8>;
  readonly nullable = false;
  private readonly keys = new Utf8Builder(false);
  private readonly values = new Utf8Builder(true);
  private offsets = new Int32Array(1024);
  private entries = 0;
  length = 0;

  constructor() {
    const entry = new Struct([new Field('key', new Utf8(), false), new Field('value', new Utf8(), true)]);
    this.type = new Map_(new Field('entries', entry, false), false);
  }

  reset(): void {
    this.keys.reset();
    this.values.reset();
    this.entries = 0;
    this.length = 0;
  }

  push(value: Record<string, string>): void {
    const i = this.length++;
    if (i + 1 >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    for (const k of Object.keys(value)) {
      this.keys.push(k);
      this.values.push(value[k]!);
      this.entries++;
    }
    this.offsets[i + 1] = this.entries;
  }

  /** An Avro map<string> starting at byte `start` of `body`, entries in their written order. */
  pushAvro(body: Buffer, start: number): void {
    const i = this.length++;
    if (i + 1 >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    forEachMapEntry(body, start, (ks, ke, vs, ve) => {
      this.keys.pushBytes(body, ks, ke);
      this.values.pushBytes(body, vs, ve);
      this.entries++;
    });
    this.offsets[i + 1] = this.entries;
  }

  finish(): Data {
    const entryType = this.type.children[0]!.type as Struct;
    const entries = makeData({
      type: entryType,
      length: this.entries,
      nullCount: 0,
      children: [this.keys.finish(), this.values.finish()],
    });
    return makeData({
      type: this.type,
      length: this.length,
      nullCount: 0,
      valueOffsets: this.offsets.slice(0, this.length + 1),
      child: entries,
    });
  }
}

export const types = {
  utf8: () => new Utf8(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  float64: () => new Float64(),
  timestampMs: () => new TimestampMillisecond('UTC'),
};
