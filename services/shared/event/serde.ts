import avro from 'avsc';
import { LlmLoggerError } from '../errors';
import type { SchemaRegistry } from '../log/event-log';
import { HEADER_BYTES, schemaIdOf, writeHeader } from './wire-format';

/**
 * Avro values in the schema-registry wire format. Encoding uses the schema
 * registered at `init()`; decoding resolves any writer schema seen on the
 * wire into the reader's type, so older records stay readable.
 */
/** Events up to this size are encoded in a reused buffer; larger ones in their own. */
const MAX_SCRATCH_BYTES = 256 * 1024;

export class AvroSerde<T> {
  private schemaId: number | null = null;
  private scratch = Buffer.allocUnsafeSlow(16 * 1024);
  private readonly resolvers = new Map<number, avro.Resolver | null>();

  readonly type: avro.Type;
  private readonly schemaText: string;

  /**
   * `schemaText` is the schema as written (schemas/*.avsc): it is what gets
   * registered, so defaults and logical types reach the registry intact.
   */
  constructor(
    private readonly registry: SchemaRegistry,
    private readonly subject: string,
    schemaText: string,
  ) {
    this.schemaText = JSON.stringify(JSON.parse(schemaText));
    this.type = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
  }

  async init(): Promise<number> {
    this.schemaId ??= await this.registry.register(this.subject, this.schemaText);
    this.resolvers.set(this.schemaId, null);
    return this.schemaId;
  }

  /**
   * Encodes behind the header in one pass. avsc's `toBuffer()` starts from a
   * shared 1 KiB buffer and encodes again from scratch whatever does not fit,
   * which is most events with captured bodies. `alloc` gives the memory for
   * the result (e.g. SlabPool.take).
   */
  encode(value: T, alloc: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
    if (this.schemaId === null) throw new LlmLoggerError('LOG_UNAVAILABLE', 'serde used before init()');
    let end = this.type.encode(value, this.scratch, HEADER_BYTES);
    if (end < 0) {
      const size = this.scratch.length - end; // a negative result is minus the bytes missing
      if (size > MAX_SCRATCH_BYTES) {
        // A rare large event: exactly sized, without keeping a large scratch buffer alive.
        const out = Buffer.allocUnsafe(size);
        this.type.encode(value, out, HEADER_BYTES);
        return writeHeader(out, this.schemaId);
      }
      this.scratch = Buffer.allocUnsafeSlow(Math.min(MAX_SCRATCH_BYTES, Math.max(size, 2 * this.scratch.length)));
      end = this.type.encode(value, this.scratch, HEADER_BYTES);
    }
    const out = alloc(end);
    this.scratch.copy(out, 0, 0, end);
    return writeHeader(out, this.schemaId);
  }

  /** Decodes without I/O when the writer schema is already known. */
  decodeKnown(value: Buffer): T | undefined {
    const schemaId = schemaIdOf(value);
    if (!this.resolvers.has(schemaId)) return undefined;
    return this.read(schemaId, value);
  }

  async decode(value: Buffer): Promise<T> {
    const schemaId = schemaIdOf(value);
    if (!this.resolvers.has(schemaId)) {
      const writer = avro.Type.forSchema(JSON.parse(await this.registry.schemaById(schemaId)) as avro.Schema);
      this.resolvers.set(schemaId, this.type.createResolver(writer));
    }
    return this.read(schemaId, value);
  }

  /** Reads the body in place, behind the header (no sliced Buffer per record). */
  private read(schemaId: number, value: Buffer): T {
    let problem: string;
    try {
      const { value: read, offset } = this.type.decode(value, HEADER_BYTES, this.resolvers.get(schemaId) ?? undefined);
      if (offset === value.length) return read as T;
      problem = offset < 0 ? 'truncated buffer' : 'trailing data';
    } catch (cause) {
      throw new LlmLoggerError('DECODE_FAILED', `record does not decode with schema id ${schemaId}: ${(cause as Error).message}`, {
        cause,
      });
    }
    throw new LlmLoggerError('DECODE_FAILED', `record does not decode with schema id ${schemaId}: ${problem}`);
  }
}
