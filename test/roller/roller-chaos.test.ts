import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath } from '../../services/shared/log/open-log';
import { hourBucket } from '../../services/roller/core/file-layout';
import { archiveEvent, ARCHIVE_BASE_MS } from '../support/archive-events';
import { runGateway } from '../../services/gateway/run-gateway';
import { loadConfig } from '../../services/shared/config/config';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import { IDS_DIR } from '../../services/roller/core/file-layout';
import { pyarrowPython, readArchiveWithDuckDb, summaryWithPyarrow } from '../support/archive-reader';
import { killRollers, queryCli, rollerCaughtUp, startRoller, waitFor } from '../support/roller-process';

/**
 * Exactly once by construction: 100,000 events over several hours and all
 * partitions, the roller killed with -9 at random points while they are
 * produced, then an independent reader finds every event once, equal to what
 * was produced, and no temporary file. Then 10,000 events each posted three
 * times to the ingest API (an SDK retrying) across the kills: each once.
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

const INGESTED = 10_000;
const HOUR_MS = 3_600_000;

test(`${INGESTED.toLocaleString('en')} events posted three times to the ingest API, roller killed -9 ${KILLS} times: each in Parquet once`, async () => {
  const home = mkdtempSync(join(tmpdir(), 'llm-logger-roller-ingest-'));
  const ingestLog = new SqliteEventLog({ path: embeddedLogPath(home), sync: 'normal' });
  const rollerEnv = { LLM_LOGGER_DATA_DIR: home, LLM_LOGGER_ROLLER_MAX_FILE_RECORDS: '400', LLM_LOGGER_ROLLER_IDLE_FLUSH_MS: '300' };
  const config = loadConfig({ ...rollerEnv, LLM_LOGGER_GATEWAY_PORT: '0', LLM_LOGGER_GATEWAY_LIVE_INTERVAL_MS: '0', LLM_LOGGER_LOG_LEVEL: 'silent' });
  const gateway = await runGateway(config, ingestLog, createMetricsRegistry(), createLogger('silent', 'test'));
  try {
    // Five hours of calls that ended at least an hour ago (the ingest API takes nothing from the future).
    const shift = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS - ARCHIVE_BASE_MS;
    const events = Array.from({ length: INGESTED }, (_, i) => {
      const e = archiveEvent(i, INGESTED, HOURS);
      return { ...e, started_at: e.started_at + shift, first_token_at: e.first_token_at === null ? null : e.first_token_at + shift, ended_at: e.ended_at + shift };
    });
    const byId = new Map(events.map((e) => [e.event_id, e]));
    const batches: InferenceEvent[][] = [];
    for (let i = 0; i < INGESTED; i += 500) batches.push(events.slice(i, i + 500));
    const post = async (batch: InferenceEvent[]): Promise<void> => {
      const res = await fetch(`http://127.0.0.1:${gateway.port}/ingest/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
      expect([res.status, ((await res.json()) as { accepted: number }).accepted]).toEqual([200, batch.length]);
    };
    // The first two copies while the roller is killed and restarted (the second in reverse order) ...
    const firstTwo = (async () => {
      for (const batch of [...batches, ...[...batches].reverse()]) {
        await post(batch);
        await sleep(40);
      }
    })();
    for (let k = 0; k < KILLS; k++) {
      const r = startRoller(rollerEnv);
      await r.started;
      await sleep(150 + Math.floor(Math.random() * 900));
      r.child.kill('SIGKILL');
      await r.exited;
    }
    await firstTwo;
    // ... and the third to the last roller, which has only what the killed ones stored to know the first two by.
    const last = startRoller(rollerEnv);
    await last.started;
    for (const batch of batches) await post(batch);
    await waitFor(() => rollerCaughtUp(ingestLog), 120_000, () => `the roller did not catch up in 120 s:\n${last.output().slice(-3000)}`);
    const port = /"port":(\d+)[^\n]*roller health and metrics listening/.exec(last.output())![1];
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const dropped = Number(/^llm_logger_duplicates_dropped_total\{role="roller"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    expect(dropped).toBeGreaterThanOrEqual(INGESTED); // every third copy at least
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const root = join(home, 'parquet');
    const files = filesUnder(root);
    // Parquet files, and beside them the ids of the ingested events each holds; nothing temporary.
    expect(files.filter((f) => !f.endsWith('.parquet') && !(f.startsWith(join(root, IDS_DIR)) && f.endsWith('.ids')))).toEqual([]);
    expect(files.some((f) => f.endsWith('.ids'))).toBe(true);
    const rows = await readArchiveWithDuckDb(root);
    expect(rows.length).toBe(INGESTED);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(INGESTED);
    for (const row of rows) {
      const { dt, hour, file, ...event } = row;
      // The ingest API stamps who wrote the event (no ingest token here): `ingest`, whatever the sender said.
      expect(event).toEqual({ ...byId.get(event.event_id), gateway_instance: 'ingest' });
      expect(`dt=${dt}/hour=${String(hour).padStart(2, '0')}`).toBe(hourBucket(event.ended_at).path);
      expect(file).toContain(`/${hourBucket(event.ended_at).path}/`);
    }
  } finally {
    await gateway.close();
    await ingestLog.close();
    rmSync(home, { recursive: true, force: true });
  }
}, 240_000);
