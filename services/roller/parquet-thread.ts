import { Worker } from 'node:worker_threads';
import { tableToIPC, type Table } from 'apache-arrow';
import { workerScript } from '../shared/threads/worker-script';

/**
 * Parquet encoding (parquet-wasm) on a worker thread, so the roller's main
 * thread goes on reading the log and building the next files' columns while
 * one is encoded. The table crosses as one transferred Arrow IPC buffer and
 * the Parquet bytes come back the same way. A thread that dies fails the
 * files it had; the next file starts a new one.
 */

export interface EncodeRequest {
  id: number;
  ipc: ArrayBuffer;
  metadata: [string, string][];
}

export interface EncodeReply {
  id: number;
  body?: Uint8Array;
  error?: string;
}

export class ParquetThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (body: Uint8Array) => void; reject: (err: Error) => void }>();

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerScript(__dirname, 'parquet-worker'));
    worker.on('message', (m: EncodeReply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.body) p?.resolve(m.body);
      else p?.reject(new Error(`parquet encoding failed: ${m.error}`));
    });
    const fail = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`parquet encoding thread exited with code ${code}`)));
    worker.unref(); // never what keeps the process alive (after the listeners, which would ref it again)
    this.worker = worker;
    return worker;
  }

  encode(table: Table, metadata: Map<string, string>): Promise<Uint8Array> {
    const bytes = tableToIPC(table, 'stream');
    // Transfer needs the whole ArrayBuffer: copy only if the IPC bytes are a view into a larger one.
    const ipc = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      const request: EncodeRequest = { id, ipc: ipc as ArrayBuffer, metadata: [...metadata] };
      this.thread().postMessage(request, [request.ipc]);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}
