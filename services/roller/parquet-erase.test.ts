import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { archiveEvent } from '../../test/support/archive-events';
import { RowBatch } from './core/row-mapping';
import { encodeParquet } from './parquet-encoder';
import { needsErasure, stripParquet } from './parquet-erase';
import { ERASED_FIELDS } from '../shared/erasure/erasure';

/** A file of `n` varied rows (several users, some without bodies), as the roller writes it. */
function file(n: number): { body: Uint8Array; metadata: Map<string, string> } {
  const batch = new RowBatch();
  for (let i = 0; i < n; i++) batch.add({ event: archiveEvent(i, n, 1), partition: 2, offset: 100 + i });
  const metadata = new Map([
    ['llm_logger.layout_version', '1'],
    ['llm_logger.rows', String(n)],
  ]);
  return { body: encodeParquet(batch.toTable(), metadata), metadata };
}

const rows = (body: Uint8Array): Record<string, unknown>[] =>
  tableFromIPC(readParquet(body).intoIPCStream())
    .toArray()
    .map((r: { toJSON(): Record<string, unknown> }) => r.toJSON());

test("only the covered rows lose their bodies; every other cell, the schema and the file metadata stay", () => {
  const { body, metadata } = file(3_000); // more rows than one read batch
  const covers = (user: string | null, startedAt: number): boolean => user === 'user-5' && startedAt < Number.MAX_SAFE_INTEGER;
  expect(needsErasure(body, covers)).toBe(true);
  const stripped = stripParquet(body, covers)!;
  const before = rows(body);
  const after = rows(stripped.body);
  expect(after).toHaveLength(before.length);
  let erased = 0;
  after.forEach((row, i) => {
    const was = before[i]!;
    if (was.user === 'user-5' && ERASED_FIELDS.some((f) => was[f] !== null)) {
      erased++;
      for (const f of ERASED_FIELDS) expect(row[f]).toBeNull();
      expect({ ...row, ...Object.fromEntries(ERASED_FIELDS.map((f) => [f, null])) }).toEqual({ ...was, ...Object.fromEntries(ERASED_FIELDS.map((f) => [f, null])) });
    } else {
      expect(row).toEqual(was);
    }
  });
  expect(erased).toBe(stripped.rows);
  expect(erased).toBeGreaterThan(50);
  const table = tableFromIPC(readParquet(stripped.body).intoIPCStream());
  const original = tableFromIPC(readParquet(body).intoIPCStream());
  expect(table.schema.fields.map(String)).toEqual(original.schema.fields.map(String));
  expect(new Map([...table.schema.metadata].filter(([k]) => k.startsWith('llm_logger.')))).toEqual(metadata);
});

test('a file with nothing to erase is left alone, and erasing twice changes nothing the second time', () => {
  const { body } = file(200);
  const nobody = (): boolean => false;
  expect(needsErasure(body, nobody)).toBe(false);
  expect(stripParquet(body, nobody)).toBeNull();
  const covers = (user: string | null): boolean => user === 'user-7';
  const once = stripParquet(body, covers)!;
  expect(stripParquet(once.body, covers)).toBeNull();
  expect(needsErasure(once.body, covers)).toBe(false);
});

test('the start time bounds an erasure: calls that started after it keep their bodies', () => {
  const { body } = file(400);
  const all = rows(body).filter((r) => r.user === 'user-3' && r.request_body !== null);
  const cut = Number(all[Math.floor(all.length / 2)]!.started_at);
  const stripped = stripParquet(body, (user, startedAt) => user === 'user-3' && startedAt <= cut)!;
  for (const r of rows(stripped.body).filter((x) => x.user === 'user-3')) {
    const original = all.find((a) => a.event_id === r.event_id);
    if (!original) continue;
    expect(r.request_body === null).toBe(Number(r.started_at) <= cut);
  }
});
