import { isLlmLoggerError, LlmLoggerError } from '../errors';
import { BatchHandoff, type HandoffOptions, type HandoffSink } from './batch-handoff';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * An in-memory sink: records the batches it accepted. `failNext` makes the
 * next writes fail; `gate` holds writes until released.
 */
class MemorySink implements HandoffSink<number> {
  readonly batches: number[][] = [];
  failNext = 0;
  failForever = false;
  attempts = 0;
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise((r) => (this.release = r));
  }

  open(): void {
    this.release?.();
    this.gate = null;
  }

  get items(): number[] {
    return this.batches.flat();
  }

  async write(items: number[]): Promise<void> {
    this.attempts++;
    if (this.gate) await this.gate;
    if (this.failForever || this.failNext > 0) {
      this.failNext--;
      throw new LlmLoggerError('LOG_UNAVAILABLE', 'sink down', { retriable: true });
    }
    this.batches.push([...items]);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 1_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

function handoff(sink: MemorySink, options: Partial<HandoffOptions<number>> = {}): BatchHandoff<number> {
  return new BatchHandoff(sink, { maxQueue: 100, maxBatch: 10, lingerMs: 5, maxBackoffMs: 20, ...options });
}

describe('BatchHandoff', () => {
  it('writes a full batch at once and the rest after the linger', async () => {
    const sink = new MemorySink();
    const h = handoff(sink, { maxBatch: 3, lingerMs: 30 });
    for (let i = 0; i < 4; i++) expect(h.offer(i)).toBe(true);
    await until(() => sink.items.length === 4);
    expect(sink.batches).toEqual([[0, 1, 2], [3]]);
    expect(h.depth).toBe(0);
    await h.shutdown();
  });

  it('never writes more than maxBatch items at once and keeps the order', async () => {
    const sink = new MemorySink();
    const h = handoff(sink, { maxBatch: 4, lingerMs: 1 });
    for (let i = 0; i < 23; i++) h.offer(i);
    await until(() => sink.items.length === 23);
    expect(sink.items).toEqual([...Array(23).keys()]);
    expect(Math.max(...sink.batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    await h.shutdown();
  });

  it('holds a lone item for the linger time before writing', async () => {
    const sink = new MemorySink();
    const h = handoff(sink, { lingerMs: 150 });
    const started = Date.now();
    h.offer(1);
    await sleep(20);
    expect(sink.items).toEqual([]);
    await until(() => sink.items.length === 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await h.shutdown();
  });

  it('writes immediately with a zero linger', async () => {
    const sink = new MemorySink();
    const h = handoff(sink, { lingerMs: 0 });
    await h.offerDurable(7);
    expect(sink.items).toEqual([7]);
    await h.shutdown();
  });

  it('drops an offer when the queue is full and counts it', async () => {
    const sink = new MemorySink();
    sink.hold();
    const dropped: number[] = [];
    const letGo: number[] = [];
    const h = handoff(sink, { maxQueue: 3, maxBatch: 2, onDrop: (n) => dropped.push(n), onDropped: (items) => letGo.push(...items) });
    expect([h.offer(1), h.offer(2), h.offer(3)]).toEqual([true, true, true]);
    expect(h.full).toBe(true);
    expect(h.offer(4)).toBe(false);
    expect(dropped).toEqual([1]);
    const durable = h.offerDurable(5);
    await expect(durable).rejects.toMatchObject({ code: 'LOG_QUEUE_FULL', retriable: true });
    expect(letGo).toEqual([4, 5]); // the items themselves, for whoever owns their memory
    sink.open();
    await h.shutdown();
    expect(sink.items).toEqual([1, 2, 3]);
  });

  it('resolves offerDurable only once its item is in the sink', async () => {
    const sink = new MemorySink();
    sink.hold();
    const h = handoff(sink, { lingerMs: 0 });
    let resolved = false;
    const durable = h.offerDurable(42).then(() => (resolved = true));
    await sleep(20);
    expect(resolved).toBe(false);
    expect(sink.items).toEqual([]);
    sink.open();
    await durable;
    expect(sink.items).toEqual([42]);
    await h.shutdown();
  });

  it('retries a failing sink with backoff until it accepts, losing nothing', async () => {
    const sink = new MemorySink();
    sink.failNext = 2;
    const errors: number[] = [];
    const h = handoff(sink, { lingerMs: 0, onError: (_err, attempt) => errors.push(attempt) });
    const durable = h.offerDurable(1);
    h.offer(2);
    await until(() => h.degraded);
    await durable;
    expect(errors).toEqual([1, 2]);
    expect(h.degraded).toBe(false);
    await h.shutdown();
    expect(sink.items).toEqual([1, 2]);
  });

  it('flushes everything queued at shutdown, then refuses new items', async () => {
    const sink = new MemorySink();
    const dropped: number[] = [];
    const letGo: number[] = [];
    const h = handoff(sink, { maxBatch: 4, lingerMs: 10_000, onDrop: (n) => dropped.push(n), onDropped: (items) => letGo.push(...items) });
    for (let i = 0; i < 10; i++) h.offer(i);
    await h.shutdown();
    expect(sink.items).toEqual([...Array(10).keys()]);
    expect(h.depth).toBe(0);
    expect(h.offer(99)).toBe(false);
    await expect(h.offerDurable(100)).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    expect(dropped).toEqual([1]);
    expect(letGo).toEqual([99, 100]);
  });

  it('flushes items queued behind a write in flight at shutdown', async () => {
    const sink = new MemorySink();
    sink.hold();
    const h = handoff(sink, { maxBatch: 2, lingerMs: 10_000 });
    h.offer(1);
    h.offer(2); // a full batch: the write starts and waits on the sink
    h.offer(3);
    const done = h.shutdown();
    sink.open();
    await done;
    expect(sink.items).toEqual([1, 2, 3]);
  });

  it('is idempotent: a second shutdown is the same flush', async () => {
    const sink = new MemorySink();
    const h = handoff(sink, { lingerMs: 10_000 });
    h.offer(1);
    const first = h.shutdown();
    const second = h.shutdown();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    await h.shutdown();
    expect(sink.batches).toEqual([[1]]);
  });

  it('gives up after graceMs on a sink that never recovers, rejecting waiters and counting drops', async () => {
    const sink = new MemorySink();
    sink.failForever = true;
    const dropped: number[] = [];
    const letGo: number[] = [];
    const h = handoff(sink, { lingerMs: 0, maxBackoffMs: 10, onDrop: (n) => dropped.push(n), onDropped: (items) => letGo.push(...items) });
    const waiter = h.offerDurable(1);
    const waiterOutcome = waiter.then(
      () => 'resolved',
      (err: unknown) => err,
    );
    h.offer(2);
    const started = Date.now();
    await h.shutdown(100);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(600);
    const outcome = await waiterOutcome;
    expect(isLlmLoggerError(outcome, 'LOG_UNAVAILABLE')).toBe(true);
    expect(dropped).toEqual([2]);
    expect(letGo.sort()).toEqual([1, 2]);
    expect(sink.items).toEqual([]);
    expect(h.depth).toBe(0);
  });
  // Only retriable failures are retried: a non-retriable one fails its batch
  // and must not block the items queued behind it.
  test('fails the waiters of a batch the sink refuses as non-retriable, and goes on', async () => {
    let refuse = true;
    const written: number[] = [];
    const letGo: number[] = [];
    const h = new BatchHandoff<number>(
      {
        write: async (items) => {
          if (refuse && items.includes(1)) throw new LlmLoggerError('EVENT_INVALID', 'cannot encode', { retriable: false });
          written.push(...items);
        },
      },
      { maxQueue: 100, maxBatch: 1, lingerMs: 0, maxBackoffMs: 10, onDropped: (items) => letGo.push(...items) },
    );
    const poisoned = h.offerDurable(1).then(
      () => 'resolved',
      (err: unknown) => (isLlmLoggerError(err, 'EVENT_INVALID') ? 'rejected' : 'other error'),
    );
    const next = h.offerDurable(2).then(() => 'resolved');
    const timeout = sleep(300).then(() => 'still waiting');
    try {
      expect(await Promise.race([poisoned, timeout])).toBe('rejected');
      expect(await Promise.race([next, timeout])).toBe('resolved');
      expect(written).toEqual([2]);
      expect(letGo).toEqual([1]);
    } finally {
      refuse = false;
      await h.shutdown(20);
    }
  });
});

test('written items are not held by the queue: they can be collected at once', async () => {
  // Under load, written items kept in the queue's prefix lived long enough to reach V8's old generation.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const written: number[] = [];
  const handoff = new BatchHandoff<{ n: number }>({ write: async (items) => void written.push(...items.map((i) => i.n)) }, { maxQueue: 100, maxBatch: 10, lingerMs: 0 });
  const refs: WeakRef<{ n: number }>[] = [];
  const offer = (n: number): void => {
    const item = { n }; // referenced from here only by the hand-off
    refs.push(new WeakRef(item));
    handoff.offer(item);
  };
  for (let n = 0; n < 5; n++) offer(n);
  await handoff.shutdown(1_000);
  expect(written).toEqual([0, 1, 2, 3, 4]);
  await sleep(0); // let the write's own references go
  gc();
  expect(refs.map((r) => r.deref()?.n).filter((n) => n !== undefined)).toEqual([]);
});
