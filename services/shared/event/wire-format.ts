import { LlmLoggerError } from '../errors';

/**
 * Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then
 * the Avro binary body. Used on Kafka and in the embedded log alike, so a
 * record means the same bytes whichever backend carries it.
 */
export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

export function frame(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  body.copy(out, HEADER_BYTES);
  return writeHeader(out, schemaId);
}

/** Fills the first HEADER_BYTES of a value whose body was written after them. */
export function writeHeader(out: Buffer, schemaId: number): Buffer {
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeUInt32BE(schemaId, 1);
  return out;
}

/** The schema id in a value's header; its Avro body starts at HEADER_BYTES. */
export function schemaIdOf(value: Buffer): number {
  if (value.length < HEADER_BYTES || value[0] !== MAGIC_BYTE) {
    throw new LlmLoggerError('DECODE_FAILED', 'value is not in the schema-registry wire format (bad magic byte)');
  }
  return value.readUInt32BE(1);
}

export function unframe(value: Buffer): { schemaId: number; body: Buffer } {
  return { schemaId: schemaIdOf(value), body: value.subarray(HEADER_BYTES) };
}
