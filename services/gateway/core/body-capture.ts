/**
 * Keeps at most `maxBytes` of a body for the event, remembering whether more
 * came. Holds references to the chunks, never copies them on the hot path.
 */
export class BoundedCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private seen = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.seen += chunk.length;
    if (this.kept >= this.maxBytes) return;
    const room = this.maxBytes - this.kept;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }

  get truncated(): boolean {
    return this.seen > this.kept;
  }

  get totalBytes(): number {
    return this.seen;
  }

  /** UTF-8 text; a character cut by truncation is dropped rather than mangled. */
  text(): string {
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept);
    if (!this.truncated) return buf.toString('utf8');
    return buf.subarray(0, utf8SafeEnd(buf)).toString('utf8');
  }
}

/** Largest length <= buf.length that does not end inside a multi-byte UTF-8 sequence. */
export function utf8SafeEnd(buf: Buffer): number {
  let i = buf.length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (buf[i]! & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return buf.length;
  const lead = buf[i]!;
  const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return need > continuation ? i : buf.length;
}
