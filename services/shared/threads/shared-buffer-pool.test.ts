import { SharedBufferPool } from './shared-buffer-pool';

describe('SharedBufferPool', () => {
  test('a buffer given back serves the next take of a size it fits, at most about twice as large', () => {
    const pool = new SharedBufferPool(1 << 20);
    const first = pool.take(100_000);
    expect(first.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(first.length).toBe(100_000);
    pool.give(first.buffer as SharedArrayBuffer);
    expect(pool.take(10_000).buffer).not.toBe(first.buffer); // ten times too large: a new one
    const again = pool.take(90_000);
    expect(again.buffer).toBe(first.buffer);
    expect(again.length).toBe(90_000);
    expect(pool.spares).toBe(0);
  });

  test('keeps spare buffers up to its byte limit, and each once', () => {
    const pool = new SharedBufferPool(150_000);
    const a = pool.take(100_000).buffer as SharedArrayBuffer;
    const b = pool.take(100_000).buffer as SharedArrayBuffer;
    pool.give(a);
    pool.give(a);
    pool.give(b);
    expect(pool.spares).toBe(1);
  });

  test('rounds new buffers up to a power of two (64 KiB at least) when asked', () => {
    const pool = new SharedBufferPool(1 << 20, true);
    expect(pool.take(10).buffer.byteLength).toBe(65_536);
    const big = pool.take(300_000);
    expect(big.buffer.byteLength).toBe(524_288);
    expect(big.length).toBe(300_000);
    pool.give(big.buffer as SharedArrayBuffer);
    expect(pool.take(400_000).buffer).toBe(big.buffer);
    // Larger than the pool keeps: exactly its size.
    expect(pool.take(1_500_000).buffer.byteLength).toBe(1_500_000);
  });
});
