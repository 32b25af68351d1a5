import type { ConsumedRecord, StateEntry } from '../shared/log/event-log';
import { ingestedAt } from '../shared/event/ingest-origin';
import { decodeIdChunk, encodeIdChunk } from '../shared/dedupe/id-chunk-codec';
import type { DedupeMetrics } from '../shared/dedupe/dedupe-metrics';
import { SeenIds, type IdChunk, type SealOutcome, type SeenIdsLimits } from '../shared/dedupe/seen-ids';

/** State-store keys of the persisted chunks of ids: `__ids__|<seq>`, beside the windows of the same input partition. */
export const IDS_KEY_PREFIX = '__ids__|';

/** Ids per chunk at most: a changelog record stays far below Kafka's default 1 MB message limit (~40 bytes an id). */
const CHUNK_MAX_IDS = 8_192;

interface PartitionIds {
  seen: SeenIds;
  nextSeq: number;
}

/**
 * The aggregator's memory of ingested event ids, per input partition, kept in
 * the same state store as its windows: the chunks sealed at a commit, and the
 * tombstones of the chunks forgotten, go into the transaction that commits
 * the input they cover. So after a crash the restored memory is exactly the
 * one of the committed input: a copy is never counted twice, and an id is
 * never remembered for input that will be read again.
 */
export class AggregatorDedupe {
  private readonly partitions = new Map<number, PartitionIds>();
  /** State changes for the next transaction, by `<partition>|<key>`. */
  private pending = new Map<string, StateEntry>();

  constructor(
    private readonly limits: SeenIdsLimits,
    private readonly metrics: DedupeMetrics,
  ) {}

  static isIdsKey(key: string): boolean {
    return key.startsWith(IDS_KEY_PREFIX);
  }

  /**
   * A partition's memory from its state entries (the `__ids__|` ones). Returns
   * the chunks that could not be read (they are left out, and named).
   */
  restore(partition: number, entries: Iterable<[string, Buffer]>): string[] {
    const chunks: IdChunk[] = [];
    const bad: string[] = [];
    for (const [key, value] of entries) {
      const seq = Number(key.slice(IDS_KEY_PREFIX.length));
      try {
        if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`bad state key ${key}`);
        chunks.push(decodeIdChunk(seq, value));
      } catch (err) {
        bad.push((err as Error).message);
      }
    }
    const seen = new SeenIds(this.limits);
    const { forgotten } = seen.restore(chunks);
    // Only when the limits were lowered since: those chunks go with the next commit.
    for (const seq of forgotten) this.pending.set(`${partition}|${IDS_KEY_PREFIX}${seq}`, { partition, key: `${IDS_KEY_PREFIX}${seq}`, value: null });
    this.partitions.set(partition, { seen, nextSeq: (seen.lastSeq ?? -1) + 1 });
    return bad;
  }

  /** These partitions are no longer ours, or their uncommitted work is void. */
  drop(partitions: readonly number[]): void {
    for (const p of partitions) this.partitions.delete(p);
    for (const [k, e] of this.pending) if (partitions.includes(e.partition)) this.pending.delete(k);
  }

  /** The batch without the copies of ingested events seen before (the same array when there are none). */
  filter(batch: ConsumedRecord[]): ConsumedRecord[] {
    let kept: ConsumedRecord[] | null = null;
    let dropped = 0;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const at = r.key === null ? null : ingestedAt(r.headers);
      if (at !== null) {
        const ids = this.of(r.partition);
        if (ids.seen.has(r.key!)) {
          kept ??= batch.slice(0, i);
          dropped++;
          continue;
        }
        ids.seen.admit(r.key!, at);
        if (ids.seen.openCount >= CHUNK_MAX_IDS) this.seal(r.partition, ids);
      }
      kept?.push(r);
    }
    if (dropped > 0) this.metrics.dropped.inc({ role: 'aggregator' }, dropped);
    return kept ?? batch;
  }

  /** State changes covering every batch filtered so far: call when the flush starts, before anything is awaited. */
  takeState(): StateEntry[] {
    let remembered = 0;
    for (const [p, ids] of this.partitions) {
      this.seal(p, ids);
      remembered += ids.seen.size;
    }
    this.metrics.remembered.set({ role: 'aggregator' }, remembered);
    const out = [...this.pending.values()];
    this.pending = new Map();
    return out;
  }

  private of(partition: number): PartitionIds {
    let ids = this.partitions.get(partition);
    if (!ids) this.partitions.set(partition, (ids = { seen: new SeenIds(this.limits), nextSeq: 0 }));
    return ids;
  }

  private seal(partition: number, ids: PartitionIds): void {
    if (ids.seen.openCount === 0) return;
    const out: SealOutcome = ids.seen.seal(ids.nextSeq++);
    const key = `${IDS_KEY_PREFIX}${out.chunk!.seq}`;
    this.pending.set(`${partition}|${key}`, { partition, key, value: encodeIdChunk(out.chunk!) });
    for (const seq of out.forgotten) {
      const gone = `${IDS_KEY_PREFIX}${seq}`;
      // Sealed since the last commit: never written, nothing to delete.
      if (this.pending.get(`${partition}|${gone}`)?.value) this.pending.delete(`${partition}|${gone}`);
      else this.pending.set(`${partition}|${gone}`, { partition, key: gone, value: null });
    }
    if (out.forgottenEarly > 0) this.metrics.forgottenEarly.inc({ role: 'aggregator' }, out.forgottenEarly);
  }
}
