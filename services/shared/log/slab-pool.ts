/**
 * Memory for encoded records on their way to the log, reused once they are
 * written. Records are copied back to back into fixed-size slabs; a slab goes
 * back to the pool when every record in it has been released and it is no
 * longer being filled.
 *
 * Why not one buffer per record: a record waits for its batch's write (a few
 * to tens of ms at saturation, behind the write in flight), so its buffer
 * outlives two young-generation collections, gets promoted, and its memory is
 * freed only at the next full collection. With captured bodies (~10 KB per
 * streamed call) that let the gateway's external memory climb from ~5 to
 * ~20 MB between full collections. Slabs are reused instead of freed.
 */
interface Slab {
  readonly bytes: Buffer;
  used: number;
  /** Records taken from the slab and not released yet. */
  pending: number;
}

export class SlabPool {
  private current: Slab | null = null;
  private readonly free: Slab[] = [];
  /** The slab each taken buffer lives in, by the buffer's memory. */
  private readonly slabs = new WeakMap<ArrayBufferLike, Slab>();

  /**
   * @param slabBytes size of a slab; records larger than a quarter of it get a buffer of their own
   * @param maxFree slabs kept for reuse at most (the rest are left to the garbage collector)
   */
  constructor(
    private readonly slabBytes = 256 * 1024,
    private readonly maxFree = 16,
  ) {}

  /** `size` bytes to write a record into; `release` them once the record is written (or dropped). */
  take(size: number): Buffer {
    if (size > this.slabBytes / 4) return Buffer.allocUnsafe(size);
    let slab = this.current;
    if (slab === null || slab.used + size > this.slabBytes) {
      if (slab !== null) this.retire(slab);
      slab = this.free.pop() ?? this.newSlab();
      this.current = slab;
    }
    const out = slab.bytes.subarray(slab.used, slab.used + size);
    slab.used += size;
    slab.pending++;
    return out;
  }

  /** The record in `taken` is written: its bytes may be reused. Once per taken buffer; buffers not from `take` are ignored. */
  release(taken: Buffer): void {
    const slab = this.slabs.get(taken.buffer);
    if (slab === undefined || slab.pending === 0) return;
    slab.pending--;
    if (slab.pending === 0 && slab !== this.current) this.recycle(slab);
  }

  /** Slabs waiting for reuse (for tests). */
  get freeSlabs(): number {
    return this.free.length;
  }

  private newSlab(): Slab {
    // Not from Buffer's pool: the slab's memory is its own.
    const slab: Slab = { bytes: Buffer.allocUnsafeSlow(this.slabBytes), used: 0, pending: 0 };
    this.slabs.set(slab.bytes.buffer, slab);
    return slab;
  }

  /** The slab is full: it is reused once its records are released. */
  private retire(slab: Slab): void {
    this.current = null;
    if (slab.pending === 0) this.recycle(slab);
  }

  private recycle(slab: Slab): void {
    slab.used = 0;
    if (this.free.length < this.maxFree) this.free.push(slab);
    else this.slabs.delete(slab.bytes.buffer);
  }
}
