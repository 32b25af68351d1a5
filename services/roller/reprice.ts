import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Table, TimestampMillisecond, Int64, Utf8, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Config } from '../shared/config/config';
import { describePriceSource, loadPrices, priceSourceOf } from '../shared/config/price-file';
import { isLlmLoggerError } from '../shared/errors';
import { parseTimestamp, TIMESTAMP_FORMATS } from '../shared/time';
import { FILE_SUFFIX, REPRICED_DIR } from './core/file-layout';
import {
  emptySummary,
  formatSummary,
  reprice,
  repriceCause,
  REPRICED_COLUMNS,
  type ArchivedCall,
  type RepricedRow,
  type RepriceSummary,
} from './core/reprice';
import { openObjectStore } from './object-store/open-object-store';
import { encodeParquet } from './parquet-encoder';
import { attachArchive, DUCKDB_TYPES } from './query';

/** The columns reprice reads, with their types for files of layouts that lack them. */
const READ: readonly [keyof ArchivedCall, keyof typeof DUCKDB_TYPES][] = [
  ['event_id', 'utf8'],
  ['provider', 'utf8'],
  ['request_model', 'utf8'],
  ['response_model', 'utf8'],
  ['service_tier', 'utf8'],
  ['cost_micro_usd', 'int64'],
  ['price_version', 'utf8'],
  ['input_tokens', 'int64'],
  ['output_tokens', 'int64'],
  ['cached_input_tokens', 'int64'],
  ['cache_write_tokens', 'int64'],
  ['reasoning_tokens', 'int64'],
  ['cache_write_1h_tokens', 'int64'],
  ['input_audio_tokens', 'int64'],
  ['input_image_tokens', 'int64'],
  ['output_audio_tokens', 'int64'],
  ['output_image_tokens', 'int64'],
  ['usage_source', 'utf8'],
  ['usage_note', 'utf8'],
];

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

class UsageError extends Error {}

interface Options {
  dryRun: boolean;
  json: boolean;
  from: number | null;
  to: number | null;
}

function parseOptions(args: string[]): Options {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, from: { type: 'string' }, to: { type: 'string' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (options: --dry-run, --json, --from, --to, --config)`);
  }
  const time = (name: 'from' | 'to'): number | null => {
    const v = values[name];
    if (typeof v !== 'string') return null;
    const ms = parseTimestamp(v);
    if (ms === null) throw new UsageError(`--${name}: expected ${TIMESTAMP_FORMATS}, got ${JSON.stringify(v)}`);
    return ms;
  };
  const options = { dryRun: values['dry-run'] === true, json: values.json === true, from: time('from'), to: time('to') };
  if (options.from !== null && options.to !== null && options.to <= options.from) throw new UsageError('--to: must be after --from');
  return options;
}

const num = (v: DuckDBValue | undefined): number | null => (v === null || v === undefined ? null : Number(v as number | bigint));
const str = (v: DuckDBValue | undefined): string | null => (v === null || v === undefined ? null : String(v));

/** The SELECT list: each column reprice needs, or a typed null where the archive's files have none (older layouts). */
async function selectList(conn: DuckDBConnection): Promise<string> {
  const described = await conn.runAndReadAll('SELECT column_name FROM (DESCRIBE llm_inference)');
  const have = new Set(described.getRows().map((r) => String(r[0])));
  const cols = READ.map(([name, kind]) => (have.has(name) ? `"${name}"` : `NULL::${DUCKDB_TYPES[kind]} AS "${name}"`));
  return [...cols, 'epoch_ms(started_at) AS started_at'].join(', ');
}

function toCall(r: Record<string, DuckDBValue>): ArchivedCall {
  return {
    event_id: String(r.event_id),
    started_at: num(r.started_at)!,
    provider: String(r.provider),
    request_model: str(r.request_model),
    response_model: str(r.response_model),
    service_tier: str(r.service_tier),
    cost_micro_usd: num(r.cost_micro_usd),
    price_version: str(r.price_version),
    input_tokens: num(r.input_tokens),
    output_tokens: num(r.output_tokens),
    cached_input_tokens: num(r.cached_input_tokens),
    cache_write_tokens: num(r.cache_write_tokens),
    reasoning_tokens: num(r.reasoning_tokens),
    cache_write_1h_tokens: num(r.cache_write_1h_tokens),
    input_audio_tokens: num(r.input_audio_tokens),
    input_image_tokens: num(r.input_image_tokens),
    output_audio_tokens: num(r.output_audio_tokens),
    output_image_tokens: num(r.output_image_tokens),
    usage_source: str(r.usage_source) ?? 'none',
    usage_note: str(r.usage_note),
  };
}

/** The corrections as an Arrow table, typed as REPRICED_COLUMNS says. */
function toTable(rows: readonly RepricedRow[]): Table {
  const types: Record<string, () => DataType> = { utf8: () => new Utf8(), int64: () => new Int64(), timestamp: () => new TimestampMillisecond('UTC') };
  const columns: Record<string, Vector> = {};
  for (const c of REPRICED_COLUMNS) {
    const values = rows.map((r) => {
      const v = (r as unknown as Record<string, unknown>)[c.name];
      return c.kind === 'int64' && v !== null ? BigInt(v as number) : v;
    });
    columns[c.name] = vectorFromArray(values, types[c.kind]!());
  }
  return new Table(columns);
}

interface RepriceResult {
  summary: RepriceSummary;
  rows: RepricedRow[];
}

async function scan(conn: DuckDBConnection, config: Config, options: Options, table: ReturnType<typeof loadPrices>['table'], now: number): Promise<RepriceResult> {
  await attachArchive(conn, config);
  const summary = emptySummary(table.version);
  const done = new Set<string>();
  const previous = await conn.runAndReadAll(`SELECT DISTINCT event_id FROM llm_inference_repriced WHERE new_price_version = ${sqlString(table.version)}`);
  for (const [id] of previous.getRows()) done.add(String(id));
  const where: string[] = [];
  if (options.from !== null) where.push(`started_at >= epoch_ms(${options.from})`);
  if (options.to !== null) where.push(`started_at < epoch_ms(${options.to})`);
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  summary.scanned = Number((await conn.runAndReadAll(`SELECT count(*) FROM llm_inference ${filter}`)).getRows()[0]![0]);
  // Only rows that may need a price leave DuckDB; repriceCause decides.
  const maybe = `(cost_micro_usd IS NULL OR (price_version IS NOT NULL AND price_version <> ${sqlString(table.version)}))`;
  const result = await conn.stream(`SELECT ${await selectList(conn)} FROM llm_inference WHERE ${maybe}${where.length > 0 ? ` AND ${where.join(' AND ')}` : ''}`);
  const rows: RepricedRow[] = [];
  for await (const batch of result.yieldRowObjects()) {
    for (const r of batch) {
      const call = toCall(r);
      const cause = repriceCause(call, table.version);
      if (cause === null) continue;
      if (done.has(call.event_id)) {
        summary.alreadyRepriced += 1;
        continue;
      }
      summary.candidates[cause] += 1;
      const outcome = reprice(table, call, cause, now);
      if ('unpriced' in outcome) {
        summary.stillUnpriced[outcome.unpriced] = (summary.stillUnpriced[outcome.unpriced] ?? 0) + 1;
        continue;
      }
      rows.push(outcome.row);
      summary.repriced += 1;
      summary.oldCostMicroUsd += outcome.row.old_cost_micro_usd ?? 0;
      summary.newCostMicroUsd += outcome.row.new_cost_micro_usd;
    }
  }
  return { summary, rows };
}

/** `llm-logger reprice`: exit 0 done, 1 failed, 2 bad options or prices. */
export async function runReprice(args: string[], config: Config, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let options: Options;
  let prices: ReturnType<typeof loadPrices>;
  try {
    options = parseOptions(args);
    prices = loadPrices(priceSourceOf(config));
  } catch (e) {
    if (e instanceof UsageError || isLlmLoggerError(e, 'CONFIG_INVALID')) {
      err.write(`llm-logger reprice: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
  const now = Date.now();
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  let result: RepriceResult;
  try {
    result = await scan(conn, config, options, prices.table, now);
  } catch (e) {
    err.write(`llm-logger reprice: reading the archive failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  const { summary, rows } = result;
  let written: { url: string; key: string; rows: number } | null = null;
  if (!options.dryRun && rows.length > 0) {
    const run = `${new Date(now).toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
    const key = `${REPRICED_DIR}/${run}${FILE_SUFFIX}`;
    const metadata = new Map([
      ['llm_logger.reprice.price_version', prices.table.version],
      ['llm_logger.reprice.prices', describePriceSource(priceSourceOf(config))],
      ['llm_logger.reprice.rows', String(rows.length)],
    ]);
    const store = openObjectStore(config.archive);
    try {
      await store.put(key, encodeParquet(toTable(rows), metadata));
      written = { url: store.url, key, rows: rows.length };
    } catch (e) {
      err.write(`llm-logger reprice: writing ${key} to ${store.url} failed: ${(e as Error).message}\n`);
      return 1;
    } finally {
      await store.close();
    }
  }
  const outcome = options.dryRun
    ? 'dry run: nothing written'
    : written
      ? `written: ${written.url}/${written.key} (${written.rows} rows; the archived events are unchanged)`
      : 'nothing to write';
  out.write(options.json ? `${JSON.stringify({ ...summary, dryRun: options.dryRun, written })}\n` : `${formatSummary(summary, outcome)}\n`);
  return 0;
}
