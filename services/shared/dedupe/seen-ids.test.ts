import { decodeIdChunk, encodeIdChunk } from './id-chunk-codec';
import { SeenIds, type IdChunk } from './seen-ids';

const MIN = 60_000;
const T0 = 1_000_000_000_000; // any ingest time: nothing here reads a clock

/** Admits the ids that are new, like the roles do; returns the copies. */
function offer(seen: SeenIds, ids: string[], at: number): string[] {
  const copies: string[] = [];
  for (const id of ids) {
    if (seen.has(id)) copies.push(id);
    else seen.admit(id, at);
  }
  return copies;
}

const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('SeenIds', () => {
  it('drops copies of an id, in the open chunk and in sealed ones', () => {
    const seen = new SeenIds({ windowMs: 60 * MIN, maxIds: 1_000 });
    expect(offer(seen, ['a', 'b', 'a'], T0)).toEqual(['a']);
    seen.seal(1);
    expect(offer(seen, ['b', 'c', 'a'], T0 + MIN)).toEqual(['b', 'a']);
    expect(seen.size).toBe(3);
    expect(seen.openCount).toBe(1);
  });

  it('seals what was admitted since the last seal, and nothing when nothing was', () => {
    const seen = new SeenIds({ windowMs: 60 * MIN, maxIds: 1_000 });
    offer(seen, ['a', 'b'], T0);
    offer(seen, ['c'], T0 + 5);
    expect(seen.seal(7).chunk).toEqual({ seq: 7, newest: T0 + 5, clock: T0 + 5, ids: ['a', 'b', 'c'] });
    expect(seen.seal(8)).toEqual({ chunk: null, forgotten: [], forgottenEarly: 0 });
    offer(seen, ['d'], T0 + 1);
    // The clock is the newest ingest time admitted so far, the chunk's newest its own.
    expect(seen.seal(9).chunk).toMatchObject({ seq: 9, newest: T0 + 1, clock: T0 + 5 });
    expect(() => (offer(seen, ['e'], T0), seen.seal(9))).toThrow(/seq 9 is not after 9/);
  });

  it('forgets a chunk once the clock is more than the window past its newest id, not before', () => {
    const seen = new SeenIds({ windowMs: 10 * MIN, maxIds: 1_000 });
    offer(seen, ['old'], T0);
    seen.seal(1);
    offer(seen, ['x'], T0 + 10 * MIN); // exactly the window: still remembered
    expect(seen.seal(2).forgotten).toEqual([]);
    expect(offer(seen, ['old'], T0 + 10 * MIN)).toEqual(['old']);
    offer(seen, ['y'], T0 + 10 * MIN + 1);
    const out = seen.seal(3);
    expect(out.forgotten).toEqual([1]);
    expect(out.forgottenEarly).toBe(0);
    // Past the window an id counts as new again.
    expect(offer(seen, ['old'], T0 + 11 * MIN)).toEqual([]);
    expect(seen.size).toBe(3);
  });

  it('never forgets the chunk sealed last, even when its ids are past the window', () => {
    const seen = new SeenIds({ windowMs: MIN, maxIds: 1_000 });
    offer(seen, ['ahead'], T0 + 60 * MIN); // a gateway whose clock ran an hour ahead
    seen.seal(1);
    offer(seen, ['late'], T0);
    expect(seen.seal(2).forgotten).toEqual([]);
    expect(seen.has('late')).toBe(true);
    offer(seen, ['later'], T0 + 1);
    // Chunk 2 is past the window of the clock (set by chunk 1); chunk 1 is not.
    expect(seen.seal(3).forgotten).toEqual([2]);
    expect(seen.has('ahead') && !seen.has('late') && seen.has('later')).toBe(true);
  });

  it('keeps at most maxIds, forgetting the oldest chunks first and counting the ids forgotten early', () => {
    const seen = new SeenIds({ windowMs: 24 * 60 * MIN, maxIds: 250 });
    for (let k = 1; k <= 5; k++) {
      offer(seen, range(`c${k}-`, 100), T0 + k);
      const out = seen.seal(k);
      if (k <= 2) expect(out.forgotten).toEqual([]);
      else {
        expect(out.forgotten).toEqual([k - 2]);
        expect(out.forgottenEarly).toBe(100);
      }
    }
    expect(seen.size).toBe(200);
    expect(seen.has('c4-0') && !seen.has('c3-99')).toBe(true);
    // One chunk larger than the bound alone is kept whole (it is the one sealed last).
    offer(seen, range('big-', 400), T0 + 6);
    expect(seen.seal(6).forgotten).toEqual([4, 5]);
    expect(seen.size).toBe(400);
  });

  it('restores from persisted chunks exactly the state of the last seal, through the codec', () => {
    const limits = { windowMs: 10 * MIN, maxIds: 300 };
    const live = new SeenIds(limits);
    const persisted = new Map<number, IdChunk>();
    let ingest = T0;
    const decisions: string[][] = [];
    for (let k = 1; k <= 40; k++) {
      // Some new ids, some copies of recent ones, the clock moving a minute per chunk, a skewed id now and then.
      const ids = [...range(`k${k}-`, 20 + (k % 7) * 10), `k${k - 1}-3`, `k${Math.max(1, k - 12)}-0`];
      ingest += MIN;
      decisions.push(offer(live, ids, k % 9 === 0 ? ingest - 30 * MIN : ingest));
      const out = live.seal(k * 10);
      if (out.chunk) persisted.set(out.chunk.seq, decodeIdChunk(out.chunk.seq, encodeIdChunk(out.chunk)));
      for (const seq of out.forgotten) persisted.delete(seq);
    }
    const restored = new SeenIds(limits);
    // Any order in; seal order is the seq.
    expect(restored.restore([...persisted.values()].reverse()).forgotten).toEqual([]);
    expect(restored.size).toBe(live.size);
    expect(restored.lastSeq).toBe(400);
    for (let k = 1; k <= 41; k++) for (const id of [`k${k}-0`, `k${k}-19`, `k${k}-25`]) expect(`${id}:${restored.has(id)}`).toBe(`${id}:${live.has(id)}`);
    // And both go on deciding alike.
    const next = [...range('k40-', 5), ...range('n-', 5)];
    expect(offer(restored, next, ingest + MIN)).toEqual(offer(live, next, ingest + MIN));
    expect(restored.seal(410)).toEqual(live.seal(410));
    expect(decisions.flat().length).toBeGreaterThan(40);
  });

  it('restores the same state when forgotten chunks were left behind, and names them', () => {
    const limits = { windowMs: 5 * MIN, maxIds: 1_000 };
    const live = new SeenIds(limits);
    const all: IdChunk[] = [];
    for (let k = 1; k <= 10; k++) {
      offer(live, range(`k${k}-`, 3), T0 + k * MIN);
      all.push(live.seal(k).chunk!);
    }
    // Nothing was deleted (say the deletes failed): the replay forgets them again.
    const restored = new SeenIds(limits);
    expect(restored.restore(all).forgotten).toEqual([1, 2, 3, 4]);
    expect(restored.size).toBe(live.size);
    // Or only an oldest prefix of them was deleted.
    const partly = new SeenIds(limits);
    expect(partly.restore(all.slice(2)).forgotten).toEqual([3, 4]);
    expect(partly.size).toBe(live.size);
    expect(() => partly.restore(all)).toThrow(/empty/);
  });
});

describe('id chunk codec', () => {
  it('round-trips ids of any UTF-8 and refuses what it did not write', () => {
    const chunk: IdChunk = { seq: 3, newest: T0 + 0.5, clock: T0 + 9, ids: ['0190c1e2-7f3a-7abc-8def-0123456789ab', 'é✓', ''] };
    const bytes = encodeIdChunk(chunk);
    expect(decodeIdChunk(3, bytes)).toEqual(chunk);
    expect(decodeIdChunk(3, new Uint8Array(bytes))).toEqual(chunk);
    expect(() => decodeIdChunk(3, bytes.subarray(0, bytes.length - 1))).toThrow(/id chunk 3: truncated at id 2 of 3/);
    expect(() => decodeIdChunk(3, Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/1 bytes after its last id/);
    expect(() => decodeIdChunk(3, Buffer.from([2, ...bytes.subarray(1)]))).toThrow(/unknown version 2/);
    expect(() => decodeIdChunk(3, Buffer.alloc(4))).toThrow(/shorter than its header/);
  });
});
