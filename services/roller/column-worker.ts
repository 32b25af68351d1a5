import { parentPort } from 'node:worker_threads';
import { tableToIPC } from 'apache-arrow';
import { readAvroCells } from './core/avro-row';
import { AVRO_COLUMNS } from './core/column-spec';
import { RowBatch } from './core/row-mapping';
import { encodeParquetIpc } from './parquet-encoder';
import type { FromColumnThread, ToColumnThread } from './column-threads';

/** A roller column thread (see column-threads.ts): a closed file's records -> Arrow columns -> Parquet. */

const port = parentPort!;
/** One file at a time: its buffers, once grown, hold every next file. */
const batch = new RowBatch();
const cells = new Float64Array(AVRO_COLUMNS.length * 2);

function encode(m: ToColumnThread): Uint8Array {
  batch.reset();
  for (const piece of m.pieces) {
    const values = Buffer.from(piece.values);
    let start = 0;
    for (let i = 0; i < piece.ends.length; i++) {
      const end = piece.ends[i]!;
      readAvroCells(values, start, end, cells);
      batch.addCells(values, cells, m.partition, piece.offsets[i]!);
      start = end;
    }
  }
  // The IPC bytes are a copy: the batch's buffers can be reused right after.
  const ipc = tableToIPC(batch.toTable(), 'stream');
  batch.reset();
  return encodeParquetIpc(ipc, new Map(m.metadata));
}

port.on('message', (m: ToColumnThread) => {
  let reply: FromColumnThread;
  try {
    reply = { id: m.id, body: encode(m) };
  } catch (err) {
    reply = { id: m.id, error: (err as Error).message };
  }
  port.postMessage(reply, reply.error === undefined ? [reply.body.buffer as ArrayBuffer] : []);
});
