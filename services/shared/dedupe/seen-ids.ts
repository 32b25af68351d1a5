/**
 * The event ids of ingested events one log partition has seen, so a copy
 * (an SDK posting a batch again after a timeout) is counted once. Pure: the
 * ingest times come with the records, nothing here reads a clock.
 *
 * Ids are remembered in chunks that the caller seals (the aggregator at each
 * commit, the roller with each file), and forgotten a whole chunk at a time,
 * only when a chunk is sealed:
 * - by time: a chunk whose newest ingest time is more than `windowMs` older
 *   than the newest ingest time admitted so far (the window's clock);
 * - by count: the oldest chunks, while more than `maxIds` ids are remembered.
 * The chunk sealed last is never forgotten (it carries the clock).
 *
 * Every decision depends only on the sealed chunks, in seal order, so
 * replaying the persisted chunks (`restore`) rebuilds exactly the state of
 * the moment the last of them was sealed. A persisted chunk may be deleted
 * once it is forgotten, provided every older one is (deletions go oldest
 * first): time decisions are per chunk, and a count decision evicts the
 * oldest first, so the chunks after a deleted prefix are decided the same
 * with or without it.
 */

export interface SeenIdsLimits {
  /** Ids stay remembered at least while the clock is less than this far past their ingest time. */
  windowMs: number;
  /** Most ids remembered (plus those of the chunk sealed last and of the open one). */
  maxIds: number;
}

/** A sealed chunk, as persisted. */
export interface IdChunk {
  /** Its place in seal order (the caller's numbering: a counter, a file's first offset). */
  seq: number;
  /** Newest ingest time among its ids. */
  newest: number;
  /** The window's clock when it was sealed: the newest ingest time admitted up to then. */
  clock: number;
  ids: string[];
}

export interface SealOutcome {
  /** The chunk to persist, null when nothing was admitted since the last seal. */
  chunk: IdChunk | null;
  /** Seqs of chunks forgotten by this seal (their persisted copies may go). */
  forgotten: number[];
  /** Ids forgotten by the count bound before their window was over. */
  forgottenEarly: number;
}

export class SeenIds {
  private readonly ids = new Set<string>();
  /** Sealed and remembered, in seal order. */
  private chunks: IdChunk[] = [];
  private sealedIds = 0;
  private open: string[] = [];
  private openNewest = -Infinity;
  private clock = -Infinity;

  constructor(private readonly limits: SeenIdsLimits) {}

  /** Ids remembered, the open chunk's included. */
  get size(): number {
    return this.ids.size;
  }

  /** Ids admitted since the last seal. */
  get openCount(): number {
    return this.open.length;
  }

  /** Seq of the chunk sealed last, or null. */
  get lastSeq(): number | null {
    return this.chunks.length > 0 ? this.chunks[this.chunks.length - 1]!.seq : null;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers an id not seen (the caller asked `has`), into the open chunk. */
  admit(id: string, ingestedAt: number): void {
    this.ids.add(id);
    this.open.push(id);
    if (ingestedAt > this.openNewest) this.openNewest = ingestedAt;
    if (ingestedAt > this.clock) this.clock = ingestedAt;
  }

  /** Closes the open chunk under `seq` (greater than every seq before) and forgets what the limits say. */
  seal(seq: number): SealOutcome {
    if (this.open.length === 0) return { chunk: null, forgotten: [], forgottenEarly: 0 };
    const last = this.lastSeq;
    if (last !== null && seq <= last) throw new RangeError(`chunk seq ${seq} is not after ${last}`);
    const chunk: IdChunk = { seq, newest: this.openNewest, clock: this.clock, ids: this.open };
    this.open = [];
    this.openNewest = -Infinity;
    return { chunk, ...this.push(chunk) };
  }

  /**
   * Rebuilds the state from persisted chunks (any order; sorted by seq here),
   * replaying their seals. Call on a fresh instance. Returns the chunks
   * forgotten on the way: stale copies the caller may delete.
   */
  restore(chunks: readonly IdChunk[]): { forgotten: number[] } {
    if (this.ids.size > 0 || this.chunks.length > 0) throw new Error('restore needs an empty SeenIds');
    const forgotten: number[] = [];
    for (const chunk of [...chunks].sort((a, b) => a.seq - b.seq)) {
      for (const id of chunk.ids) this.ids.add(id);
      if (chunk.clock > this.clock) this.clock = chunk.clock;
      forgotten.push(...this.push(chunk).forgotten);
    }
    return { forgotten };
  }

  private push(chunk: IdChunk): Omit<SealOutcome, 'chunk'> {
    this.chunks.push(chunk);
    this.sealedIds += chunk.ids.length;
    const forgotten: number[] = [];
    let forgottenEarly = 0;
    const horizon = this.clock - this.limits.windowMs;
    const newestChunk = this.chunks.length - 1;
    if (this.chunks.some((c, i) => i < newestChunk && c.newest < horizon)) {
      this.chunks = this.chunks.filter((c, i) => {
        if (i === newestChunk || c.newest >= horizon) return true;
        this.forget(c);
        forgotten.push(c.seq);
        return false;
      });
    }
    let drop = 0;
    while (this.sealedIds > this.limits.maxIds && drop < this.chunks.length - 1) {
      const c = this.chunks[drop++]!;
      this.forget(c);
      forgotten.push(c.seq);
      forgottenEarly += c.ids.length;
    }
    if (drop > 0) this.chunks = this.chunks.slice(drop);
    return { forgotten, forgottenEarly };
  }

  private forget(chunk: IdChunk): void {
    for (const id of chunk.ids) this.ids.delete(id);
    this.sealedIds -= chunk.ids.length;
  }
}
