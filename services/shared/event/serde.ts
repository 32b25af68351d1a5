import avro from 'avsc';
import { LlmLoggerError } from '../errors';
import type { SchemaRegistry } from '../log/event-log';
import { frame, unframe } from './wire-format';

/**
 * Avro values in the schema-registry wire format. Encoding uses the schema
 * registered at `init()`; decoding resolves any writer schema seen on the
 * wire into the reader's type, so older records stay readable.
 */
export class AvroSerde<T> {
  private schemaId: number | null = null;
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

  encode(value: T): Buffer {
    if (this.schemaId === null) throw new LlmLoggerError('LOG_UNAVAILABLE', 'serde used before init()');
    return frame(this.schemaId, this.type.toBuffer(value));
  }

  /** Decodes without I/O when the writer schema is already known. */
  decodeKnown(value: Buffer): T | undefined {
    const { schemaId, body } = unframe(value);
    if (!this.resolvers.has(schemaId)) return undefined;
    return this.read(schemaId, body);
  }

  async decode(value: Buffer): Promise<T> {
    const { schemaId, body } = unframe(value);
    if (!this.resolvers.has(schemaId)) {
      const writer = avro.Type.forSchema(JSON.parse(await this.registry.schemaById(schemaId)) as avro.Schema);
      this.resolvers.set(schemaId, this.type.createResolver(writer));
    }
    return this.read(schemaId, body);
  }

  private read(schemaId: number, body: Buffer): T {
    try {
      const resolver = this.resolvers.get(schemaId);
      return (resolver ? this.type.fromBuffer(body, resolver) : this.type.fromBuffer(body)) as T;
    } catch (cause) {
      throw new LlmLoggerError('DECODE_FAILED', `record does not decode with schema id ${schemaId}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
}
