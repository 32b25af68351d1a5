import { tableFromIPC, tableToIPC, Utf8, vectorFromArray, type Table, type Vector } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { ERASED_FIELDS } from '../shared/erasure/erasure';
import { encodeParquetIpc } from './parquet-encoder';

/**
 * Erasing rows' bodies in one Parquet file of the archive: the file is read
 * whole (parquet-wasm into Arrow), the body columns of the covered rows set
 * to null, and the file encoded again with the roller's own settings and
 * file metadata, so it stays what the roller would have written (same
 * columns, types, row order, `llm_logger.*` metadata). Callers store it
 * under the same key (an atomic replace on both stores).
 */

/** Whether an erasure covers a row: its user, and its start (epoch ms). */
export type Covers = (user: string | null, startedAtMs: number) => boolean;

export interface StrippedFile {
  body: Uint8Array;
  /** Rows whose bodies were removed. */
  rows: number;
  /** Newest `ended_at` among them (epoch ms): when their log records were written. */
  newestEndedAt: number;
}

/** Reads every row in one batch: the whole file is in memory anyway, and one batch makes columns easy to replace. */
const ONE_BATCH = { batchSize: 1 << 30 };

function read(body: Uint8Array, columns?: string[]): Table {
  return tableFromIPC(readParquet(body, columns ? { ...ONE_BATCH, columns } : ONE_BATCH).intoIPCStream());
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/** Rows (indexes) that an erasure covers and that still hold a body. */
function coveredRows(table: Table, covers: Covers): number[] {
  const users = table.getChild('user');
  const started = table.getChild('started_at');
  if (!users || !started) return [];
  const bodies = ERASED_FIELDS.map((f) => table.getChild(f)).filter((v): v is Vector => v !== null);
  const rows: number[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const user = users.get(i) as string | null;
    if (user === null || !covers(user, num(started.get(i)))) continue;
    if (bodies.some((b) => b.get(i) !== null)) rows.push(i);
  }
  return rows;
}

/** How many rows of the file hold bodies an erasure covers (reads the user and start columns first, the bodies only if needed). */
export function rowsToErase(body: Uint8Array, covers: Covers): number {
  const owners = read(body, ['user', 'started_at']);
  const users = owners.getChild('user');
  const started = owners.getChild('started_at');
  if (!users || !started) return 0;
  let any = false;
  for (let i = 0; i < owners.numRows && !any; i++) {
    const user = users.get(i) as string | null;
    any = user !== null && covers(user, num(started.get(i)));
  }
  return any ? coveredRows(read(body, ['user', 'started_at', ...ERASED_FIELDS]), covers).length : 0;
}

export function needsErasure(body: Uint8Array, covers: Covers): boolean {
  return rowsToErase(body, covers) > 0;
}

/** The file without the covered rows' bodies, or null when it has none to remove. */
export function stripParquet(body: Uint8Array, covers: Covers): StrippedFile | null {
  if (!needsErasure(body, covers)) return null;
  let table = read(body);
  const rows = coveredRows(table, covers);
  if (rows.length === 0) return null;
  const erase = new Set(rows);
  for (const field of ERASED_FIELDS) {
    const column = table.getChild(field);
    if (!column) continue;
    const values = (column.toArray() as (string | null)[]).map((v, i) => (erase.has(i) ? null : v));
    table = table.setChild(field, vectorFromArray(values, new Utf8()));
  }
  const ended = table.getChild('ended_at');
  const newestEndedAt = ended ? rows.reduce((max, i) => Math.max(max, num(ended.get(i))), 0) : 0;
  const metadata = new Map([...table.schema.metadata].filter(([k]) => !k.startsWith('ARROW:')));
  return { body: encodeParquetIpc(tableToIPC(table, 'stream'), metadata), rows: rows.length, newestEndedAt };
}
