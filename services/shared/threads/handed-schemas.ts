import { LlmLoggerError } from '../errors';
import type { SchemaRegistry } from '../log/event-log';

/**
 * The registry of a worker thread that decodes records: it fetches nothing,
 * it knows the writer schemas its parent handed over (`schemas`, which may
 * grow as more arrive), and it registers nothing.
 */
export function handedSchemasRegistry(schemas: ReadonlyMap<number, string>, thread: string): SchemaRegistry {
  return {
    register: () => Promise.reject(new Error(`the ${thread} registers nothing`)),
    schemaById: async (id) => {
      const text = schemas.get(id);
      if (text === undefined) throw new LlmLoggerError('DECODE_FAILED', `schema id ${id} is not in the registry`);
      return text;
    },
  };
}
