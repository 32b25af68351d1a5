import { parentPort } from 'node:worker_threads';
import { encodeParquetIpc } from './parquet-encoder';
import type { EncodeReply, EncodeRequest } from './parquet-thread';

/** The Parquet encoding thread (see parquet-thread.ts). */

const port = parentPort!;
port.on('message', (m: EncodeRequest) => {
  let reply: EncodeReply;
  try {
    const body = encodeParquetIpc(new Uint8Array(m.ipc), new Map(m.metadata));
    reply = { id: m.id, body };
  } catch (err) {
    reply = { id: m.id, error: (err as Error).message };
  }
  port.postMessage(reply, reply.body ? [reply.body.buffer as ArrayBuffer] : []);
});
