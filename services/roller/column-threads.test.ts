import type { Worker } from 'node:worker_threads';
import { tableFromIPC, type Table } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { archiveEvent } from '../../test/support/archive-events';
import { inferenceEventType } from '../shared/event/inference-event';
import { ColumnThreads, type FileColumns } from './column-threads';

/** Files built and encoded on the column threads hold the records sent, also when a thread dies or fails midway. */

const type = inferenceEventType();
const HEADER = Buffer.from([0, 0, 0, 0, 1]); // as records arrive from the log: the body after the wire-format header
const record = (i: number): Buffer => Buffer.concat([HEADER, type.toBuffer(archiveEvent(i, 5_000, 2))]);
const META = new Map([['llm_logger.test', 'yes']]);

function append(threads: ColumnThreads, file: FileColumns, from: number, count: number): void {
  for (let i = from; i < from + count; i++) threads.append(file, record(i), HEADER.length, 1_000 + i);
}

function read(parquet: Uint8Array): Table {
  return tableFromIPC(readParquet(parquet).intoIPCStream());
}

/** The live worker of the thread a file is on (to make it die). */
const workerOf = (file: FileColumns): Worker => (file as unknown as { thread: { worker: Worker } }).thread.worker;

describe('ColumnThreads', () => {
  let threads: ColumnThreads;
  beforeEach(() => {
    threads = new ColumnThreads(2);
  });
  afterEach(() => threads.close());

  it('builds each file from the records of several batches; files after the first reuse the buffers', async () => {
    const a = threads.open(0);
    const b = threads.open(1); // the other thread
    append(threads, a, 0, 300);
    append(threads, b, 300, 10);
    threads.flush();
    append(threads, a, 310, 200); // sent by encode, without a flush
    const [pa, pb] = await Promise.all([threads.encode(a, META), threads.encode(b, META)]);
    const ta = read(pa);
    expect(ta.numRows).toBe(500);
    expect(ta.getChild('log_offset')!.get(0)).toBe(1_000n);
    expect(ta.getChild('log_offset')!.get(499)).toBe(1_509n);
    expect(ta.getChild('event_id')!.get(499)).toBe(archiveEvent(509, 5_000, 2).event_id);
    expect(read(pb).getChild('log_partition')!.toArray()).toEqual(new Int32Array(10).fill(1));

    // Fewer rows on the same thread, into the first file's reset buffers: nothing of it is left over.
    const c = threads.open(2);
    append(threads, c, 600, 3);
    const tc = read(await threads.encode(c, META));
    expect(tc.numRows).toBe(3);
    for (let i = 0; i < 3; i++) {
      const e = archiveEvent(600 + i, 5_000, 2);
      expect(tc.get(i)!.toJSON()).toMatchObject({ event_id: e.event_id, http_status: e.http_status, ttft_ms: e.ttft_ms, log_offset: BigInt(1_600 + i) });
    }
  });

  it('a thread that dies fails the file being encoded; encoding again sends all its records to a new thread', async () => {
    const file = threads.open(0);
    append(threads, file, 0, 2_000);
    threads.flush();
    append(threads, file, 2_000, 500);
    const first = threads.encode(file, META);
    await workerOf(file).terminate();
    await expect(first).rejects.toThrow(/exited/);
    const table = read(await threads.encode(file, META));
    expect(table.numRows).toBe(2_500);
    expect(table.getChild('log_offset')!.get(2_499)).toBe(3_499n);
  });

  it('a thread that dies loses no open file: the files are on this side until they are encoded', async () => {
    const first = threads.open(1);
    const open = threads.open(3); // same thread
    append(threads, first, 0, 10);
    append(threads, open, 100, 100);
    threads.flush();
    expect(read(await threads.encode(first, META)).numRows).toBe(10);
    await workerOf(first).terminate();
    append(threads, open, 200, 50);
    const table = read(await threads.encode(open, META)); // on a new thread
    expect(table.numRows).toBe(150);
    expect([...table.getChild('log_offset')!.toArray()]).toEqual(Array.from({ length: 150 }, (_, i) => BigInt(1_100 + i)));
  });

  it('a thread that fails on a file is replaced; its other files are built again there', async () => {
    const good = threads.open(0);
    const bad = threads.open(2); // same thread
    append(threads, good, 0, 20);
    threads.append(bad, Buffer.from([0, 0, 0, 0, 1, 0xff, 0xff]), HEADER.length, 7); // not Avro (the roller validates before)
    await expect(threads.encode(bad, META)).rejects.toThrow(/failed on a file/);
    expect(read(await threads.encode(good, META)).numRows).toBe(20);
  });

  it('buffers of encoded or dropped files hold the next files\' records', async () => {
    const files = [0, 2, 4].map((p) => threads.open(p));
    files.forEach((f, k) => append(threads, f, 100 * k, 40));
    threads.flush();
    threads.drop(files[2]!);
    expect(read(await threads.encode(files[0]!, META)).numRows).toBe(40);
    // Pieces of the same size: into the spare buffers of the two files above.
    const next = [threads.open(0), threads.open(2)];
    next.forEach((f, k) => append(threads, f, 1_000 + 100 * k, 40));
    threads.flush();
    const [a, b, c] = await Promise.all([...next, files[1]!].map((f) => threads.encode(f, META)));
    expect([...read(a!).getChild('log_offset')!.toArray()]).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(2_000 + i)));
    expect([...read(b!).getChild('log_offset')!.toArray()]).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(2_100 + i)));
    expect([...read(c!).getChild('log_offset')!.toArray()]).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(1_100 + i)));
  });
});
