import { parentPort, workerData } from 'node:worker_threads';
import { AvroSerde } from '../shared/event/serde';
import { handedSchemasRegistry } from '../shared/threads/handed-schemas';
import type { AggregatedEvent } from './core/aggregated-event';
import { LocalEngine, type EngineRecord } from './aggregation-engine';
import type { FromWorker, ToWorker, WorkerInit } from './worker-engine';

/** The aggregation worker thread (see worker-engine.ts): a LocalEngine fed by messages, in order. */

const init = workerData as WorkerInit;
const port = parentPort!;
const schemas = new Map<number, string>();
// Writer schemas arrive as messages before the records that use them; nothing is fetched from here.
const registry = handedSchemasRegistry(schemas, 'aggregation worker');
const engine = new LocalEngine(init.options, new AvroSerde<AggregatedEvent>(registry, init.subject, init.readerSchema));

function reply(m: FromWorker): void {
  port.postMessage(m);
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case 'schema':
      schemas.set(m.id, m.text);
      return;
    case 'restore':
      engine.restore(m.partition, m.records, m.meta);
      return;
    case 'drop':
      engine.drop(m.partitions);
      return;
    case 'process': {
      const values = Buffer.from(m.values);
      const ends = new Int32Array(m.ends);
      const partitions = new Int32Array(m.partitions);
      const batch: EngineRecord[] = new Array(ends.length);
      let start = 0;
      for (let i = 0; i < ends.length; i++) {
        batch[i] = { partition: partitions[i]!, value: values.subarray(start, ends[i]) };
        start = ends[i]!;
      }
      reply({ t: 'processed', seq: m.seq, result: await engine.apply(batch, m.now) });
      return;
    }
    case 'flush':
      reply({ t: 'flushed', seq: m.seq, flush: await engine.flush(m.now) });
      return;
  }
}

let chain = Promise.resolve();
port.on('message', (m: ToWorker) => {
  chain = chain.then(() => handle(m)).catch((err: unknown) => reply({ t: 'failed', message: (err as Error).message }));
});
