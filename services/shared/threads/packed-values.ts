/**
 * Record values on their way to a worker thread: back to back in one buffer
 * of its own (so it can be transferred or copied in one piece), with where
 * each ends. One message per batch instead of one per record.
 */
export interface PackedValues {
  values: Buffer;
  ends: Int32Array<ArrayBuffer>;
}

/** Packs bytes [skip(i), end) of each `valueAt(i)`, i < count. */
export function packValues(count: number, valueAt: (i: number) => Buffer, skip: (i: number) => number = () => 0): PackedValues {
  let total = 0;
  for (let i = 0; i < count; i++) total += valueAt(i).length - skip(i);
  const values = Buffer.allocUnsafeSlow(total); // not from the shared pool: its ArrayBuffer holds these bytes only
  const ends = new Int32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += valueAt(i).copy(values, at, skip(i));
    ends[i] = at;
  }
  return { values, ends };
}
