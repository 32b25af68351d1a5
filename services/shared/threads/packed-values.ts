/**
 * Record values on their way to a worker thread: back to back in one buffer
 * of its own (so it can be transferred or copied in one piece), with where
 * each ends. One message per batch instead of one per record.
 */
export interface PackedValues {
  values: Buffer;
  ends: Int32Array<ArrayBuffer>;
}

/**
 * Packs bytes [skip(i), end) of each `valueAt(i)`, i < count, into a buffer
 * of its own (default), or into the first bytes of the one `into` gives (e.g.
 * a SharedArrayBuffer, which a worker reads without a copy while the sender
 * keeps it too).
 */
export function packValues(
  count: number,
  valueAt: (i: number) => Buffer,
  skip: (i: number) => number = () => 0,
  into: (bytes: number) => Buffer = (bytes) => Buffer.allocUnsafeSlow(bytes), // not from Buffer's pool: its ArrayBuffer holds these bytes only
): PackedValues {
  let total = 0;
  for (let i = 0; i < count; i++) total += valueAt(i).length - skip(i);
  const values = into(total);
  const ends = new Int32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += valueAt(i).copy(values, at, skip(i));
    ends[i] = at;
  }
  return { values, ends };
}
