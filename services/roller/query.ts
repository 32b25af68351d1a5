import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import type { Config } from '../shared/config/config';
import { COLUMNS, type ColumnKind } from './core/column-spec';
import { FILE_SUFFIX, REPRICED_DIR, TABLE_DIR } from './core/file-layout';
import { REPRICED_COLUMNS } from './core/reprice';
import { openObjectStore } from './object-store/open-object-store';
import { dropCachedCopy, queryCacheDir } from './query-cache';

/**
 * `llm-logger query "SQL"`: DuckDB over the Parquet archive, with the files
 * as the view `llm_inference` (Hive columns `dt` and `hour` included), the
 * corrections `llm-logger reprice` wrote as `llm_inference_repriced`, and the
 * two together as `llm_inference_priced` (each event with its latest cost).
 *
 * S3 archives are read by DuckDB's httpfs extension when it is installed;
 * DuckDB downloads extensions from its own site, which not every machine may
 * reach, so otherwise the files are mirrored (only new or changed ones) into
 * `<data dir>/query-cache/` with the project's S3 client and read from there.
 *
 * The statement sees the archive and nothing else: once the view is set up,
 * DuckDB's external access is turned off except for the archive's directory
 * (`allowed_directories`), and the configuration is locked, so a query
 * cannot read other files (`read_csv('/etc/passwd')`), fetch URLs, attach
 * databases or load extensions. Only one read-only statement runs (SELECT,
 * WITH, DESCRIBE, SUMMARIZE, EXPLAIN): COPY ... TO, which could write into
 * the archive, is refused.
 */

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The archive's root as DuckDB reads it: an s3:// URL (httpfs) or a local directory. */
async function tryHttpfs(conn: DuckDBConnection, config: Config): Promise<string | null> {
  if (config.archive.kind !== 's3') return null;
  try {
    await conn.run('LOAD httpfs');
  } catch {
    return null;
  }
  const a = config.archive;
  const parts = [`TYPE s3`, `REGION ${sqlString(a.region)}`, `URL_STYLE ${sqlString(a.forcePathStyle ? 'path' : 'vhost')}`];
  if (a.endpoint) {
    const url = new URL(a.endpoint);
    parts.push(`ENDPOINT ${sqlString(url.host)}`, `USE_SSL ${url.protocol === 'https:'}`);
  }
  if (a.credentials) parts.push(`KEY_ID ${sqlString(a.credentials.accessKeyId)}`, `SECRET ${sqlString(a.credentials.secretAccessKey)}`);
  else parts.push('PROVIDER credential_chain');
  await conn.run(`CREATE SECRET llm_logger_archive (${parts.join(', ')})`);
  return `s3://${a.bucket}/${a.prefix ? `${a.prefix}` : ''}`.replace(/\/$/, '');
}

/** Every file under a directory, as keys relative to it ('/'-separated). */
async function localKeys(dir: string, under = dir): Promise<string[]> {
  const entries = await readdir(under, { withFileTypes: true }).catch(() => []);
  const keys: string[] = [];
  for (const e of entries) {
    const p = join(under, e.name);
    if (e.isDirectory()) keys.push(...(await localKeys(dir, p)));
    else keys.push(relative(dir, p).split(sep).join('/'));
  }
  return keys;
}

/**
 * Copies the archive's files that are missing or changed into a local
 * mirror, and removes the copies of files no longer in the archive (past its
 * retention); returns the mirror's directory.
 */
async function mirror(config: Config): Promise<string> {
  const store = openObjectStore(config.archive);
  const dir = queryCacheDir(config.dataDir, store.url);
  try {
    // The events and the corrections `reprice` wrote.
    const objects = [...(await store.list(`${TABLE_DIR}/`)), ...(await store.list(`${REPRICED_DIR}/`))].filter((o) =>
      o.key.endsWith(FILE_SUFFIX),
    );
    const wanted = new Set(objects.map((o) => o.key));
    for (const key of await localKeys(dir)) if (!wanted.has(key)) await dropCachedCopy(dir, key);
    for (const o of objects) {
      const target = join(dir, ...o.key.split('/'));
      const have = await stat(target).catch(() => null);
      if (have?.size === o.size) continue;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, await store.get(o.key));
    }
  } finally {
    await store.close();
  }
  return dir;
}

export const DUCKDB_TYPES: Record<ColumnKind, string> = {
  utf8: 'VARCHAR',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  timestamp: 'TIMESTAMPTZ',
  bool: 'BOOLEAN',
  tags: 'MAP(VARCHAR, VARCHAR)',
};

function emptyColumns(): string {
  const cols = COLUMNS.map((c) => `NULL::${DUCKDB_TYPES[c.kind]} AS "${c.name}"`);
  return [...cols, 'NULL::VARCHAR AS dt', 'NULL::BIGINT AS hour'].join(', ');
}

async function hasFiles(conn: DuckDBConnection, glob: string): Promise<boolean> {
  const files = await conn.runAndReadAll(`SELECT count(*) FROM glob(${sqlString(glob)})`);
  return Number(files.getRows()[0]![0]) > 0;
}

export interface AttachedArchive {
  /** The archive's root as DuckDB reads it (a real path, or s3://bucket/prefix). */
  root: string;
  /** The directories the views read (events, corrections): all a query may reach. */
  dirs: string[];
}

/**
 * Creates the views `llm_inference`, `llm_inference_repriced` and
 * `llm_inference_priced` over the archive the configuration names. With no
 * file yet a view is empty but has every column, so a query still binds.
 * Files of older layouts are read by column name (`union_by_name`): a column
 * they lack reads as null.
 */
export async function attachArchive(conn: DuckDBConnection, config: Config): Promise<AttachedArchive> {
  let root = await tryHttpfs(conn, config);
  if (root === null) {
    // DuckDB compares the paths it opens with the allowed directories as written: no symlink in between.
    const given = resolve(config.archive.kind === 'local' ? config.archive.dir : await mirror(config));
    root = existsSync(given) ? realpathSync(given) : given;
  }
  const tableDir = `${root}/${TABLE_DIR}`;
  const repricedDir = `${root}/${REPRICED_DIR}`;
  const events = `${tableDir}/**/*${FILE_SUFFIX}`;
  if (await hasFiles(conn, events)) {
    await conn.run(`CREATE VIEW llm_inference AS SELECT * FROM read_parquet(${sqlString(events)}, hive_partitioning = true, union_by_name = true)`);
  } else {
    await conn.run(`CREATE VIEW llm_inference AS SELECT ${emptyColumns()} WHERE false`);
  }
  const repriced = `${repricedDir}/**/*${FILE_SUFFIX}`;
  if (await hasFiles(conn, repriced)) {
    await conn.run(`CREATE VIEW llm_inference_repriced AS SELECT * FROM read_parquet(${sqlString(repriced)}, union_by_name = true)`);
  } else {
    const cols = REPRICED_COLUMNS.map((c) => `NULL::${DUCKDB_TYPES[c.kind]} AS "${c.name}"`).join(', ');
    await conn.run(`CREATE VIEW llm_inference_repriced AS SELECT ${cols} WHERE false`);
  }
  // Each event with its latest correction, if any; the archive's own columns are never changed.
  await conn.run(`CREATE VIEW llm_inference_priced AS
    SELECT i.*, coalesce(r.new_cost_micro_usd, i.cost_micro_usd) AS effective_cost_micro_usd,
      coalesce(r.new_price_version, i.price_version) AS effective_price_version, r.repriced_at
    FROM llm_inference i LEFT JOIN (
      SELECT event_id, new_cost_micro_usd, new_price_version, repriced_at FROM llm_inference_repriced
      QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY repriced_at DESC) = 1
    ) r ON r.event_id = i.event_id`);
  return { root, dirs: [tableDir, repricedDir] };
}

/** Statement kinds `query` runs; DESCRIBE, SUMMARIZE, SHOW and PRAGMA info functions are SELECTs to DuckDB. */
const READ_ONLY = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

export class QueryRefused extends Error {}

/** Refuses anything but one read-only statement, before it runs. */
async function checkStatement(conn: DuckDBConnection, sql: string): Promise<void> {
  const statements = await conn.extractStatements(sql);
  if (statements.count !== 1) throw new QueryRefused(`give exactly one SQL statement (got ${statements.count})`);
  const prepared = await statements.prepare(0);
  const type = prepared.statementType;
  prepared.destroySync();
  if (!READ_ONLY.has(type)) {
    throw new QueryRefused(`only read-only statements run (SELECT, WITH, DESCRIBE, SUMMARIZE, EXPLAIN); this one is ${StatementType[type]}`);
  }
}

/** From here on the connection reaches the archive's files only, and cannot be given more. */
async function confine(conn: DuckDBConnection, archiveDirs: string[]): Promise<void> {
  const dirs = archiveDirs.map((d) => sqlString(d.endsWith('/') ? d : `${d}/`));
  await conn.run(`SET allowed_directories = [${dirs.join(', ')}]`);
  await conn.run('SET enable_external_access = false');
  await conn.run('SET lock_configuration = true');
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

/** Runs one SQL statement over the archive. */
export async function queryArchive(config: Config, sql: string): Promise<QueryResult> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const archive = await attachArchive(conn, config);
    await confine(conn, archive.dirs);
    let reader;
    try {
      await checkStatement(conn, sql);
      reader = await conn.runAndReadAll(sql);
    } catch (err) {
      const message = (err as Error).message;
      if (/^Permission Error/.test(message)) throw new QueryRefused(`${message} (llm-logger query reads only the archive, ${archive.root})`);
      throw err;
    }
    return { columns: reader.columnNames(), rows: reader.getRowsJson() };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function formatTable(result: QueryResult): string {
  const cells = result.rows.map((r) => r.map(cell));
  const widths = result.columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  const line = (r: string[]): string =>
    r.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(result.columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export async function runQuery(args: string[], config: Config): Promise<number> {
  const json = args.includes('--json');
  const sql = args.filter((a) => a !== '--json').join(' ').trim();
  if (!sql) {
    process.stderr.write('llm-logger query: give one SQL statement, e.g. llm-logger query "SELECT count(*) FROM llm_inference"\n');
    return 2;
  }
  let result: QueryResult;
  try {
    result = await queryArchive(config, sql);
  } catch (err) {
    process.stderr.write(`llm-logger query: ${(err as Error).message}\n`);
    return 1;
  }
  if (json) {
    const objects = result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])));
    process.stdout.write(`${JSON.stringify(objects)}\n`);
  } else {
    process.stdout.write(`${formatTable(result)}\n(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})\n`);
  }
  return 0;
}
