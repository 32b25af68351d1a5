import { parentPort } from 'node:worker_threads';
import { readAvroCells } from './core/avro-row';
import { AVRO_COLUMNS } from './core/column-spec';
import { RowBatch } from './core/row-mapping';
import { encodeParquetIpc } from './parquet-encoder';
import type { FromColumnThread, ToColumnThread } from './column-threads';
import { tableToIPC } from 'apache-arrow';

/** A roller column thread (see column-threads.ts): open files as Arrow columns, encoded to Parquet on close. */

const port = parentPort!;
const files = new Map<number, RowBatch>();
/**
 * Batches of files already written, buffers kept: the next files start
 * without growing and paging in new ones. At most as many as the files this
 * thread had open at once (files of all partitions tend to fill and close
 * together), so memory stays within the peak it already had.
 */
const spare: RowBatch[] = [];
let mostOpen = 0;
const cells = new Float64Array(AVRO_COLUMNS.length * 2);

function release(batch: RowBatch | undefined): void {
  if (!batch || spare.length >= mostOpen) return;
  batch.reset();
  spare.push(batch);
}

function handle(m: ToColumnThread): FromColumnThread | null {
  switch (m.t) {
    case 'append': {
      let batch = files.get(m.file);
      if (!batch) {
        batch = spare.pop() ?? new RowBatch();
        files.set(m.file, batch);
        mostOpen = Math.max(mostOpen, files.size);
      }
      const values = Buffer.from(m.values);
      const { ends, offsets } = m;
      let start = 0;
      for (let i = 0; i < ends.length; i++) {
        readAvroCells(values, start, ends[i]!, cells);
        batch.addCells(values, cells, m.partition, offsets[i]!);
        start = ends[i]!;
      }
      return null;
    }
    case 'close': {
      const batch = files.get(m.file) ?? new RowBatch();
      files.delete(m.file);
      // The IPC bytes are a copy: the batch's buffers can be reused right after.
      const ipc = tableToIPC(batch.toTable(), 'stream');
      release(batch);
      return { t: 'closed', file: m.file, body: encodeParquetIpc(ipc, new Map(m.metadata)) };
    }
    case 'drop':
      release(files.get(m.file));
      files.delete(m.file);
      return null;
  }
}

port.on('message', (m: ToColumnThread) => {
  let reply: FromColumnThread | null;
  try {
    reply = handle(m);
  } catch (err) {
    reply = { t: 'failed', file: m.file, error: (err as Error).message };
  }
  if (reply?.t === 'closed') port.postMessage(reply, [reply.body.buffer as ArrayBuffer]);
  else if (reply) port.postMessage(reply);
});
