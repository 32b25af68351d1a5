import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath } from '../../services/shared/log/open-log';
import { hourBucket } from '../../services/roller/core/file-layout';
import { archiveEvent } from '../support/archive-events';
import { pyarrowPython, readArchiveWithDuckDb, summaryWithPyarrow } from '../support/archive-reader';
import { killRollers, queryCli, rollerCaughtUp, startRoller, waitFor } from '../support/roller-process';

/**
 * Exactly once by construction: 100,000 events over several hours and all
 * partitions, the roller killed with -9 at random points while they are
 * produced, then an independent reader finds every event once, equal to what
 * was produced, and no temporary file.
 */

const TOTAL = 100_000;
const HOURS = 5;
const KILLS = 5;

let dir: string;
let log: SqliteEventLog;
let env: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-roller-chaos-'));
  log = new SqliteEventLog({ path: embeddedLogPath(dir), sync: 'normal' });
  env = { LLM_LOGGER_DATA_DIR: dir, LLM_LOGGER_ROLLER_MAX_FILE_RECORDS: '3000', LLM_LOGGER_ROLLER_IDLE_FLUSH_MS: '300' };
});

afterAll(async () => {
  killRollers();
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

test(`${TOTAL.toLocaleString('en')} events, roller killed -9 ${KILLS} times: every event in Parquet exactly once`, async () => {
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const produced = new Map<string, InferenceEvent>();
  const CHUNK = 2_500;
  const produce = async (from: number): Promise<void> => {
    const chunk = Array.from({ length: Math.min(CHUNK, TOTAL - from) }, (_, k) => archiveEvent(from + k, TOTAL, HOURS));
    await log.append(
      TOPICS.inference,
      chunk.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })),
    );
    for (const e of chunk) produced.set(e.event_id, e);
  };
  // Produce in the background, in chunks, while the roller is killed and restarted.
  // The last chunk waits for the last roller, so that it has files of its own to close.
  const producing = (async () => {
    for (let i = 0; i < TOTAL - CHUNK; i += CHUNK) {
      await produce(i);
      await sleep(40);
    }
  })();

  for (let k = 0; k < KILLS; k++) {
    const r = startRoller(env);
    await r.started;
    await sleep(150 + Math.floor(Math.random() * 900));
    r.child.kill('SIGKILL');
    await r.exited;
  }
  await producing;
  const last = startRoller(env);
  await last.started;
  await produce(TOTAL - CHUNK);
  await waitFor(() => rollerCaughtUp(log), 120_000, () => `the roller did not catch up in 120 s:\n${last.output().slice(-3000)}`);
  // Alone, the roller serves its health and metrics (LLM_LOGGER_METRICS_PORT, 0 in tests).
  const port = /"port":(\d+)[^\n]*roller health and metrics listening/.exec(last.output())![1];
  expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/llm_logger_roller_files_total\{reason="(hour|records|idle)"\} [1-9]\d*/);
  last.child.kill('SIGTERM');
  expect(await last.exited).toBe(0);

  const root = join(dir, 'parquet');
  const files = filesUnder(root);
  expect(files.filter((f) => !f.endsWith('.parquet'))).toEqual([]); // no temporary files left behind
  expect(files.length).toBeGreaterThan(TOTAL / 3000);

  const rows = await readArchiveWithDuckDb(root);
  expect(rows.length).toBe(TOTAL);
  expect(new Set(rows.map((r) => r.event_id)).size).toBe(TOTAL);
  for (const row of rows) {
    const { dt, hour, file, ...event } = row;
    const sent = produced.get(event.event_id);
    expect(event).toEqual(sent);
    // In the directory of its event hour.
    expect(`dt=${dt}/hour=${String(hour).padStart(2, '0')}`).toBe(hourBucket(event.ended_at).path);
    expect(file).toContain(`/${hourBucket(event.ended_at).path}/`);
  }

  const python = pyarrowPython();
  if (python) {
    const summary = summaryWithPyarrow(python, root);
    const inputTokens = [...produced.values()].reduce((s, e) => s + (e.usage.input_tokens ?? 0), 0);
    expect(summary).toEqual({ rows: TOTAL, distinct: TOTAL, inputTokens });
  } else {
    process.stderr.write('roller chaos test: no Python with pyarrow found (set PYARROW_PYTHON); checked with DuckDB only\n');
  }

  // What users run: llm-logger query over the same archive.
  const [counts] = queryCli(env, 'SELECT count(*) AS n, count(DISTINCT event_id) AS ids, count(DISTINCT (dt, hour)) AS hours FROM llm_inference');
  const hours = new Set([...produced.values()].map((e) => hourBucket(e.ended_at).path)).size;
  expect(hours).toBeGreaterThan(HOURS);
  expect([counts!.n, counts!.ids, counts!.hours].map(Number)).toEqual([TOTAL, TOTAL, hours]);
}, 240_000);
