import type { CommitPositions } from '../shared/log/event-log';
import type { Logger } from '../shared/observability/logger';
import { decodeIdChunk, encodeIdChunk } from '../shared/dedupe/id-chunk-codec';
import type { DedupeMetrics } from '../shared/dedupe/dedupe-metrics';
import { SeenIds, type IdChunk, type SeenIdsLimits } from '../shared/dedupe/seen-ids';
import { idsKey, idsPrefix, parseIdsKey } from './core/file-layout';
import type { ObjectStore } from './object-store/object-store';

interface PersistedChunk {
  /** The first offset of the file it was sealed with. */
  seq: number;
  /** The seq of the seal that forgot it; null while remembered. */
  forgottenAt: number | null;
}

interface PartitionIds {
  seen: SeenIds;
  /** Chunks stored (or being stored with their file), in seal order. */
  persisted: PersistedChunk[];
}

/** An object to store before the file it describes. */
export interface IdsObject {
  key: string;
  body: Buffer;
}

/**
 * The roller's memory of ingested event ids, per log partition. Each file
 * seals the ids of the ingested events it holds into a chunk, stored beside
 * it (file-layout.ts, `idsKey`) before the file itself, so before the offsets
 * it covers are committed. A partition taken up at its committed offset C
 * (a start, a restart after kill -9, a rebalance) replays the chunks of the
 * files before C (SeenIds.restore) and has exactly the memory it had when it
 * first read C: files written again after a crash are the same files, with
 * no id twice, and a copy in a later file is dropped as it was the first
 * time. A chunk is deleted once it is forgotten as of a committed offset,
 * oldest first (the order SeenIds allows).
 */
export class RollerDedupe {
  private readonly partitions = new Map<number, PartitionIds>();
  /** Deletions run one at a time, in commit order. */
  private collecting: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ObjectStore,
    private readonly topic: string,
    private readonly limits: SeenIdsLimits,
    private readonly metrics: DedupeMetrics,
    private readonly logger: Logger,
  ) {}

  /**
   * The partition's memory as of offset `from`, where it is read from (its
   * committed offset). A store that does not answer rejects (the batch is
   * read again); a chunk that cannot be decoded is skipped and logged.
   */
  async restore(partition: number, from: number): Promise<void> {
    const chunks: IdChunk[] = [];
    for (const o of await this.store.list(idsPrefix(this.topic, partition))) {
      const seq = parseIdsKey(this.topic, partition, o.key);
      // Chunks at or after `from` belong to files not committed: they are written again as they were.
      if (seq === null || seq >= from) continue;
      const body = await this.store.get(o.key);
      try {
        chunks.push(decodeIdChunk(seq, body));
      } catch (err) {
        this.logger.error({ err, key: o.key }, 'ingested ids unreadable: skipped (copies of them would be kept)');
      }
    }
    const seen = new SeenIds(this.limits);
    const forgotten = new Set(seen.restore(chunks).forgotten);
    const persisted = chunks.map((c) => c.seq).sort((a, b) => a - b).map((seq) => ({ seq, forgottenAt: forgotten.has(seq) ? -1 : null }));
    this.partitions.set(partition, { seen, persisted });
    if (chunks.length > 0) this.logger.info({ partition, chunks: chunks.length, ids: seen.size, from }, 'ingested ids restored');
    // Forgotten as of `from`, which is committed.
    void this.collect(new Map([[partition, from]]));
  }

  drop(partition: number): void {
    this.partitions.delete(partition);
  }

  /** A copy of an ingested event this partition has seen (within the limits)? Counts the copies. */
  isCopy(partition: number, id: string): boolean {
    if (!this.of(partition).seen.has(id)) return false;
    this.metrics.dropped.inc({ role: 'roller' });
    return true;
  }

  /** Remembers an ingested event's id, in the chunk of the file it goes to. */
  admit(partition: number, id: string, ingestedAt: number): void {
    this.of(partition).seen.admit(id, ingestedAt);
  }

  /** A file closes: the chunk of its ingested ids, to store with it (null when it holds none). */
  seal(partition: number, firstOffset: number): IdsObject | null {
    const ids = this.of(partition);
    const out = ids.seen.seal(firstOffset);
    if (!out.chunk) return null;
    ids.persisted.push({ seq: out.chunk.seq, forgottenAt: null });
    if (out.forgotten.length > 0) {
      const gone = new Set(out.forgotten);
      for (const c of ids.persisted) if (gone.has(c.seq)) c.forgottenAt = firstOffset;
    }
    if (out.forgottenEarly > 0) this.metrics.forgottenEarly.inc({ role: 'roller' }, out.forgottenEarly);
    let remembered = 0;
    for (const p of this.partitions.values()) remembered += p.seen.size;
    this.metrics.remembered.set({ role: 'roller' }, remembered);
    return { key: idsKey(this.topic, partition, firstOffset), body: encodeIdChunk(out.chunk) };
  }

  /**
   * Offsets were committed: deletes the chunks forgotten by a seal before
   * them, oldest first, stopping at the first still needed (or that fails to go).
   */
  collect(positions: CommitPositions): Promise<void> {
    const due = [...positions];
    this.collecting = this.collecting.then(async () => {
      for (const [partition, committed] of due) {
        const ids = this.partitions.get(partition);
        while (ids && ids.persisted.length > 0) {
          const head = ids.persisted[0]!;
          if (head.forgottenAt === null || head.forgottenAt >= committed) break;
          try {
            await this.store.delete(idsKey(this.topic, partition, head.seq));
          } catch (err) {
            this.logger.warn({ err, partition, seq: head.seq }, 'forgotten ingested ids not deleted; will try again');
            break;
          }
          // Still the head: a revocation meanwhile replaced the partition's state, not this list.
          if (ids.persisted[0] === head) ids.persisted.shift();
        }
      }
    });
    return this.collecting;
  }

  /** Waits for the deletions under way. */
  settled(): Promise<void> {
    return this.collecting;
  }

  private of(partition: number): PartitionIds {
    let ids = this.partitions.get(partition);
    if (!ids) this.partitions.set(partition, (ids = { seen: new SeenIds(this.limits), persisted: [] }));
    return ids;
  }
}
