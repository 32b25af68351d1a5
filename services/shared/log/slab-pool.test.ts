import { SlabPool } from './slab-pool';

describe('SlabPool', () => {
  it('packs records back to back in a slab, and reuses the slab once all of them are released', () => {
    const pool = new SlabPool(100, 4);
    const a = pool.take(20);
    const b = pool.take(20);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset - a.byteOffset).toBe(20);
    a.fill(1);
    b.fill(2);
    expect([...a]).toEqual(Array(20).fill(1)); // no overlap

    const c = pool.take(25); // 40 + 25 > 100? no: same slab
    expect(c.buffer).toBe(a.buffer);
    const d = pool.take(25);
    expect(d.buffer).toBe(a.buffer);
    const e = pool.take(20); // 90 + 20 > 100: a new slab; the first is retired with records pending
    expect(e.buffer).not.toBe(a.buffer);
    expect(pool.freeSlabs).toBe(0);
    for (const x of [a, b, c]) pool.release(x);
    expect(pool.freeSlabs).toBe(0); // d is still pending
    pool.release(d);
    expect(pool.freeSlabs).toBe(1);
    const f = pool.take(20);
    expect(f.buffer).toBe(e.buffer); // the current slab is filled first
  });

  it('never reuses a slab that holds a record not yet released', () => {
    const pool = new SlabPool(64, 4);
    const kept = pool.take(16).fill(7);
    for (let i = 0; i < 100; i++) pool.release(pool.take(16).fill(i));
    expect([...kept]).toEqual(Array(16).fill(7));
  });

  it('gives large records a buffer of their own, and ignores buffers it did not give', () => {
    const pool = new SlabPool(100, 4);
    const big = pool.take(26);
    expect(big.length).toBe(26);
    pool.release(big);
    pool.release(Buffer.alloc(8));
    expect(pool.freeSlabs).toBe(0);
  });

  it('keeps at most maxFree slabs for reuse', () => {
    const pool = new SlabPool(64, 2);
    const taken = Array.from({ length: 5 * 4 }, () => pool.take(16)); // five full slabs
    for (const t of taken) pool.release(t);
    expect(pool.freeSlabs).toBe(2);
  });
});
