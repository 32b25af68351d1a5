import type { IdChunk } from './seen-ids';

/**
 * The persisted form of a sealed chunk of ids (a changelog record of the
 * aggregator, an object beside the roller's files). Binary, because a chunk
 * holds thousands of ids: version byte, newest ingest time and clock
 * (float64, big-endian), id count (uint32), then each id as its UTF-8 length
 * (uint16) and bytes. The seq is the record's key or the object's name.
 */

const VERSION = 1;
const HEADER_BYTES = 1 + 8 + 8 + 4;

export function encodeIdChunk(chunk: IdChunk): Buffer {
  let size = HEADER_BYTES;
  for (const id of chunk.ids) size += 2 + Buffer.byteLength(id, 'utf8');
  const out = Buffer.allocUnsafe(size);
  out.writeUInt8(VERSION, 0);
  out.writeDoubleBE(chunk.newest, 1);
  out.writeDoubleBE(chunk.clock, 9);
  out.writeUInt32BE(chunk.ids.length, 17);
  let at = HEADER_BYTES;
  for (const id of chunk.ids) {
    const n = out.write(id, at + 2, 'utf8');
    if (n > 0xffff) throw new RangeError(`event id longer than 65535 bytes: ${id.slice(0, 40)}…`);
    out.writeUInt16BE(n, at);
    at += 2 + n;
  }
  return out;
}

/** The chunk in `bytes`; throws (naming what is wrong) on anything this version did not write. */
export function decodeIdChunk(seq: number, bytes: Uint8Array): IdChunk {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER_BYTES) throw new Error(`id chunk ${seq}: ${b.length} bytes, shorter than its header`);
  if (b[0] !== VERSION) throw new Error(`id chunk ${seq}: unknown version ${b[0]}`);
  const newest = b.readDoubleBE(1);
  const clock = b.readDoubleBE(9);
  const count = b.readUInt32BE(17);
  const ids: string[] = new Array<string>(count);
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 2 > b.length) throw new Error(`id chunk ${seq}: truncated at id ${i} of ${count}`);
    const n = b.readUInt16BE(at);
    if (at + 2 + n > b.length) throw new Error(`id chunk ${seq}: truncated at id ${i} of ${count}`);
    ids[i] = b.toString('utf8', at + 2, at + 2 + n);
    at += 2 + n;
  }
  if (at !== b.length) throw new Error(`id chunk ${seq}: ${b.length - at} bytes after its last id`);
  return { seq, newest, clock, ids };
}
