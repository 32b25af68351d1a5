/**
 * Shared memory for data handed to worker threads, reused once no thread
 * reads it any more.
 *
 * Why not a buffer of its own per message, moved to the worker: its memory is
 * then freed only when the worker's garbage collector gets to it, and a
 * worker that allocates little collects rarely. The embedded log's writer
 * thread let ~30 MB of written batches pile up that way at saturation. A
 * SharedArrayBuffer is read by the worker without a copy while the sender
 * keeps it, so the sender decides when its memory serves again.
 */
export class SharedBufferPool {
  /** Smallest first. */
  private readonly spare: SharedArrayBuffer[] = [];
  private spareBytes = 0;

  /**
   * @param maxSpareBytes spare buffers kept, in bytes at most (the rest are left to the garbage collector)
   * @param roundUp size a new buffer to the next power of two (up to maxSpareBytes), so that it serves batches of varying sizes
   */
  constructor(
    private readonly maxSpareBytes: number,
    private readonly roundUp = false,
  ) {}

  /** `bytes` at the start of a spare buffer at most about twice as large, else of a new one. */
  readonly take = (bytes: number): Buffer => {
    const at = this.spare.findIndex((b) => b.byteLength >= bytes);
    if (at >= 0 && this.spare[at]!.byteLength <= 2 * bytes + 65_536) {
      const [b] = this.spare.splice(at, 1);
      this.spareBytes -= b!.byteLength;
      return Buffer.from(b!, 0, bytes);
    }
    // Rounded up only if it could be kept: a larger one is used once, at its size.
    const size = this.roundUp && bytes <= this.maxSpareBytes ? 2 ** Math.ceil(Math.log2(Math.max(bytes, 65_536))) : bytes;
    return Buffer.from(new SharedArrayBuffer(size), 0, bytes);
  };

  /** No thread reads `buffer` any more: it serves again, if the spare buffers have room. */
  give(buffer: SharedArrayBuffer): void {
    if (this.spareBytes + buffer.byteLength > this.maxSpareBytes || this.spare.includes(buffer)) return;
    const at = this.spare.findIndex((b) => b.byteLength >= buffer.byteLength);
    this.spare.splice(at < 0 ? this.spare.length : at, 0, buffer);
    this.spareBytes += buffer.byteLength;
  }

  /** Spare buffers (for tests). */
  get spares(): number {
    return this.spare.length;
  }
}
