import { parentPort, workerData } from 'node:worker_threads';
import { AvroSerde } from '../services/shared/event/serde';
import type { InferenceEvent } from '../services/shared/event/inference-event';
import { handedSchemasRegistry } from '../services/shared/threads/handed-schemas';

/**
 * bench:kafka's decoding thread: decodes each batch of packed values it is
 * sent (the way the aggregator's and the roller's worker threads take their
 * records) and answers with how many events it decoded.
 */

export interface DecodeWorkerInit {
  subject: string;
  schemaText: string;
  /** The writer schema of every record the bench sends (all are written by it). */
  schemaId: number;
}

const init = workerData as DecodeWorkerInit;
const registry = handedSchemasRegistry(new Map([[init.schemaId, init.schemaText]]), 'decoding thread');
const serde = new AvroSerde<InferenceEvent>(registry, init.subject, init.schemaText);

parentPort!.on('message', (m: { values: ArrayBuffer; ends: ArrayBuffer }) => {
  void (async () => {
    const values = Buffer.from(m.values);
    const ends = new Int32Array(m.ends);
    let decoded = 0;
    let start = 0;
    for (const end of ends) {
      const value = values.subarray(start, end);
      const e = serde.decodeKnown(value) ?? (await serde.decode(value));
      if (e.schema_version === 1) decoded++;
      start = end;
    }
    parentPort!.postMessage(decoded);
  })();
});
