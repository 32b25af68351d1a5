import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { TOPICS } from '../../topology/topics';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath } from '../../services/shared/log/open-log';
import { loadPriceTable } from '../../services/shared/pricing';
import { CLI, REPO_ROOT } from '../support/processes';
import { killRollers, queryCli, rollerCaughtUp, startRoller, waitFor } from '../support/roller-process';
import { sampleEvent } from '../support/sample-event';

/**
 * `llm-logger reprice` end to end on an archive the roller wrote (plus one
 * file in the layout from before this version's columns): the events whose
 * price was unknown or older than the prices in force get a row in the
 * corrections dataset with their old and new cost and version, the archive's
 * files stay byte for byte as they were, a second run finds nothing to do,
 * and `query` shows each event with its latest cost.
 */

const CURRENT = loadPriceTable().version;
const OLD = '2026-11-27';
const HOUR = 3_600_000;

let dir: string;
let env: Record<string, string>;
let archive: string;

/** One event per case, ids that say what each is about. */
function events(base: number): InferenceEvent[] {
  const usage = (u: Partial<InferenceEvent['usage']>): InferenceEvent['usage'] => ({
    ...sampleEvent().usage,
    cached_input_tokens: null,
    input_audio_tokens: null,
    output_audio_tokens: null,
    reasoning_tokens: null,
    ...u,
  });
  const at = (i: number, e: Partial<InferenceEvent>): InferenceEvent =>
    sampleEvent({ started_at: base + i * 1_000, first_token_at: null, ttft_ms: null, ended_at: base + i * 1_000 + 500, latency_ms: 500, service_tier: null, ...e });
  const anthropic = { upstream: 'anthropic', provider: 'anthropic', wire_format: 'anthropic', endpoint: 'messages', path: '/v1/messages' };
  return [
    at(1, {
      ...anthropic,
      event_id: 'e0000001-0000-7000-8000-0000000001a1', // priced with an older table, 1-hour writes as 5-minute ones
      request_model: 'claude-sonnet-4-5',
      response_model: 'claude-sonnet-4-5-20250929',
      usage: usage({ input_tokens: 5_421, output_tokens: 38, cached_input_tokens: 0, cache_write_tokens: 5_400, cache_write_1h_tokens: 4_200 }),
      cost_micro_usd: 20_883,
      price_version: OLD,
    }),
    at(2, {
      event_id: 'e0000002-0000-7000-8000-0000000002a2', // no price then for an audio model
      request_model: 'gpt-4o-audio-preview',
      response_model: 'gpt-4o-audio-preview-2025-06-03',
      usage: usage({ input_tokens: 71, output_tokens: 142, input_audio_tokens: 56, output_audio_tokens: 118 }),
      cost_micro_usd: null,
      price_version: null,
      cost_note: 'no price for openai/gpt-4o-audio-preview-2025-06-03 in prices 2026-11-27',
    }),
    at(3, { event_id: 'e0000003-0000-7000-8000-0000000003c3', cost_micro_usd: 4, price_version: CURRENT }), // current: left alone
    at(4, {
      event_id: 'e0000004-0000-7000-8000-0000000004e4', // an error: no usage, nothing to price
      http_status: 429,
      error_class: 'rate_limited',
      usage: usage({ input_tokens: null, output_tokens: null, source: 'none' }),
      cost_micro_usd: null,
      price_version: null,
    }),
    at(5, {
      event_id: 'e0000005-0000-7000-8000-0000000005b5', // a model no table prices
      upstream: 'vllm',
      provider: 'vllm',
      request_model: 'llama-3.1-8b',
      response_model: 'llama-3.1-8b',
      cost_micro_usd: null,
      price_version: null,
    }),
    at(6, {
      event_id: 'e0000006-0000-7000-8000-0000000006b6', // the upstream's counts were refused
      usage: usage({ input_tokens: null, output_tokens: 5, note: 'prompt_tokens: -3 is negative' }),
      cost_micro_usd: null,
      price_version: null,
    }),
    at(7, {
      event_id: 'e0000007-0000-7000-8000-0000000007a7', // flex, when the table did not know flex
      request_model: 'gpt-5',
      response_model: 'gpt-5-2025-08-07',
      service_tier: 'flex',
      usage: usage({ input_tokens: 1_000_000, output_tokens: 100_000, cached_input_tokens: 200_000 }),
      cost_micro_usd: 2_025_000,
      price_version: OLD,
    }),
    at(8, { event_id: 'e0000008-0000-7000-8000-0000000008c8', cost_micro_usd: 100, price_version: 'acme-v3' }), // an ingested event's own label
    at(9, { event_id: 'e0000009-0000-7000-8000-0000000009c9', cost_micro_usd: 5, price_version: '2099-01-01' }), // a newer table than ours
    at(10, {
      ...anthropic,
      event_id: 'e0000010-0000-7000-8000-0000000010a0', // a long prompt, priced at base rates by the older table
      request_model: 'claude-sonnet-4-5',
      response_model: 'claude-sonnet-4-5-20250929',
      usage: usage({ input_tokens: 300_000, output_tokens: 1_000, cached_input_tokens: 0, cache_write_tokens: 0 }),
      cost_micro_usd: 915_000,
      price_version: `${OLD}+custom:acme`,
    }),
  ];
}

/** What `llm-logger reprice` must write: event id → [cause, old cost, old version, new cost, note]. */
const EXPECTED: Record<string, [string, number | null, string | null, number, string | null]> = {
  'e0000001-0000-7000-8000-0000000001a1': ['older_version', 20_883, OLD, 63 + 4_500 + 25_200 + 570, null],
  'e0000002-0000-7000-8000-0000000002a2': ['unknown_price', null, null, 11_958, null], // 37.5 + 2,240 + 240 + 9,440
  'e0000007-0000-7000-8000-0000000007a7': ['older_version', 2_025_000, OLD, 1_012_500, 'service tier flex (×0.5)'],
  'e0000010-0000-7000-8000-0000000010a0': ['older_version', 915_000, `${OLD}+custom:acme`, 1_822_500, 'long context: input above 200000 tokens'],
  'legacy-layout-1': ['unknown_price', null, null, 1_598, null], // 71 × 2.5 + 142 × 10: a layout-1 file has no audio columns
};

function cli(args: string[], extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function files(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((f) => {
    const p = join(root, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function digests(root: string): Record<string, string> {
  return Object.fromEntries(files(root).map((f) => [relative(root, f), createHash('sha256').update(readFileSync(f)).digest('hex')]));
}

async function duck<T>(sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-reprice-'));
  archive = join(dir, 'parquet');
  env = { LLM_LOGGER_DATA_DIR: dir, LLM_LOGGER_ROLLER_IDLE_FLUSH_MS: '200' };
  const log = new SqliteEventLog({ path: embeddedLogPath(dir), sync: 'normal' });
  try {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    // A past hour, relative to now: its files are closed once the roller is idle.
    const base = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR + 60_000;
    const list = events(base);
    await log.append(TOPICS.inference, list.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })));
    const roller = startRoller(env);
    await roller.started;
    await waitFor(() => rollerCaughtUp(log), 60_000, () => `the roller did not catch up:\n${roller.output().slice(-3000)}`);
    roller.child.kill('SIGTERM');
    expect(await roller.exited).toBe(0);
  } finally {
    await log.close();
  }
  // A file as an archive from before schema v2 holds it: no usage breakdown, service_tier or cost_note columns.
  const [rolled] = files(join(archive, 'llm_inference'));
  const legacy = join(join(rolled!, '..'), 'legacy-layout-1.parquet');
  await duck(`COPY (SELECT * EXCLUDE (event_id, cache_write_1h_tokens, input_audio_tokens, input_image_tokens, output_audio_tokens, output_image_tokens,
      usage_note, service_tier, cost_note), 'legacy-layout-1' AS event_id
    FROM read_parquet('${rolled!.replace(/'/g, "''")}') WHERE event_id = 'e0000002-0000-7000-8000-0000000002a2') TO '${legacy.replace(/'/g, "''")}' (FORMAT parquet)`);
}, 120_000);

afterAll(() => {
  killRollers();
  rmSync(dir, { recursive: true, force: true });
});

test('bad options and bad prices are refused, naming the option or the variable, and nothing is written', () => {
  const unknown = cli(['reprice', '--frm', 'x']);
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/llm-logger reprice: .*'--frm'.* \(options: --dry-run, --json, --from, --to, --config\)/);
  const badTime = cli(['reprice', '--from', 'yesterday']);
  expect(badTime).toMatchObject({ status: 2, stderr: expect.stringContaining('llm-logger reprice: --from: expected epoch milliseconds or ISO-8601') });
  const backwards = cli(['reprice', '--from', '2026-12-02T00:00:00Z', '--to', '2026-12-01T00:00:00Z']);
  expect(backwards).toMatchObject({ status: 2, stderr: expect.stringContaining('--to: must be after --from') });
  const pricesFile = join(dir, 'bad-prices.yaml');
  writeFileSync(pricesFile, 'models:\n  - { provider: openai, model: gpt-4o, input: -1, output: 1 }\n');
  const badPrices = cli(['reprice'], { LLM_LOGGER_PRICES_FILE: pricesFile });
  expect(badPrices).toMatchObject({ status: 2, stderr: expect.stringContaining(`LLM_LOGGER_PRICES_FILE=${pricesFile}: file.models[0].input`) });
  const help = cli(['reprice', '--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('--dry-run');
  expect(existsSync(join(archive, 'repriced'))).toBe(false);
});

test('a dry run counts and prices, and writes nothing', () => {
  const r = cli(['reprice', '--dry-run', '--json']);
  expect(r.status).toBe(0);
  const summary = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(summary).toEqual({
    priceVersion: CURRENT,
    scanned: 11,
    candidates: { unknown_price: 4, older_version: 3 },
    alreadyRepriced: 0,
    repriced: 5,
    stillUnpriced: { unknown_model: 1, invalid_usage: 1 },
    oldCostMicroUsd: 20_883 + 2_025_000 + 915_000,
    newCostMicroUsd: Object.values(EXPECTED).reduce((sum, [, , , cost]) => sum + cost, 0),
    dryRun: true,
    written: null,
  });
  expect(existsSync(join(archive, 'repriced'))).toBe(false);
});

test('reprice writes the corrections beside the archive, never changes the archive, and is not repeated', async () => {
  const before = digests(join(archive, 'llm_inference'));
  const r = cli(['reprice']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`prices ${CURRENT}`);
  expect(r.stdout).toContain('to reprice: 7 (price unknown: 4, older price version: 3); already repriced at this version: 0');
  expect(r.stdout).toContain('still without a price: 2 (unknown_model 1, invalid_usage 1)');
  expect(r.stdout).toMatch(/written: file:\/\/.*\/repriced\/\d{8}T\d{6}\d{3}Z-[0-9a-f]{8}\.parquet \(5 rows; the archived events are unchanged\)/);
  expect(digests(join(archive, 'llm_inference'))).toEqual(before);

  // Read back with DuckDB directly, not through the code that wrote it.
  const rows = await duck<Record<string, unknown>>(
    `SELECT event_id, cause, old_cost_micro_usd, old_price_version, new_cost_micro_usd, new_price_version, cost_note, provider, model
     FROM read_parquet('${join(archive, 'repriced', '*.parquet').replace(/'/g, "''")}') ORDER BY event_id`,
  );
  expect(rows.map((row) => [row.event_id, [row.cause, row.old_cost_micro_usd === null ? null : Number(row.old_cost_micro_usd), row.old_price_version, Number(row.new_cost_micro_usd), row.cost_note]])).toEqual(
    Object.entries(EXPECTED).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  for (const row of rows) expect(row.new_price_version).toBe(CURRENT);

  // A second run: nothing left to do, nothing written.
  const again = cli(['reprice']);
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('to reprice: 2 (price unknown: 2, older price version: 0); already repriced at this version: 5');
  expect(again.stdout).toContain('nothing to write');
  expect(files(join(archive, 'repriced'))).toHaveLength(1);
  expect(digests(join(archive, 'llm_inference'))).toEqual(before);
});

test('query shows the corrections and each event with its latest cost', () => {
  const priced = queryCli(env, 'SELECT event_id, cost_micro_usd, effective_cost_micro_usd, effective_price_version FROM llm_inference_priced ORDER BY event_id');
  expect(priced).toHaveLength(11);
  const byId = new Map(priced.map((r) => [r.event_id as string, r]));
  for (const [id, [, oldCost, , newCost]] of Object.entries(EXPECTED)) {
    expect(byId.get(id)).toMatchObject({ cost_micro_usd: oldCost === null ? null : String(oldCost), effective_cost_micro_usd: String(newCost), effective_price_version: CURRENT });
  }
  expect(byId.get('e0000003-0000-7000-8000-0000000003c3')).toMatchObject({ cost_micro_usd: '4', effective_cost_micro_usd: '4', effective_price_version: CURRENT });
  expect(byId.get('e0000008-0000-7000-8000-0000000008c8')).toMatchObject({ effective_cost_micro_usd: '100', effective_price_version: 'acme-v3' });
  const corrections = queryCli(env, 'SELECT count(*) AS n, sum(new_cost_micro_usd) AS total FROM llm_inference_repriced');
  expect(corrections).toEqual([{ n: '5', total: String(Object.values(EXPECTED).reduce((sum, [, , , cost]) => sum + cost, 0)) }]);
});
