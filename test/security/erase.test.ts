import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import type { ErasureReport } from '../../services/erasure/erasure-report';
import { ERASED_FIELDS } from '../../services/shared/erasure/erasure';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { readArchiveWithDuckDb, pyarrowPython, type ArchivedRow } from '../support/archive-reader';
import { call, eraseCli, filesContain, marker, poll, pyarrowRowsMentioning, runCli, withWal } from '../support/erase-helpers';
import { startCli, type RunningCli } from '../support/processes';
import { readInferenceEvents, readRecords } from '../support/read-log';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * `llm-logger erase --user A` after real calls for users A and B through
 * `llm-logger start` (gateway, indexer, roller, console on the embedded log,
 * each event archived in its own file): nothing of A's bodies is findable in
 * the log (read from the SQLite file, and not even in its raw bytes), the
 * console API, the search index or the Parquet archive (DuckDB, pyarrow);
 * A's metadata and every byte of B's data stay as they were.
 */

const A = marker('alice');
const B = marker('bob');
const SECRET_A = marker('asecret'); // in each of A's prompts
const SECRET_B = marker('bsecret');
const METADATA = ['event_id', 'started_at', 'ended_at', 'user', 'app', 'request_model', 'response_model', 'http_status', 'usage', 'cost_micro_usd', 'tags'] as const;

let upstream: StandIn;
let app: RunningCli;
let dataDir: string;
let env: Record<string, string>;
const ids = { a: [] as string[], b: [] as string[] };
/** What the stores held before the erase. */
let before: { log: InferenceEvent[]; archive: ArchivedRow[]; console: Map<string, InferenceEvent> };
let first: ErasureReport;

const consoleGet = async <T>(path: string): Promise<T> => (await (await fetch(`${app.consoleUrl}${path}`)).json()) as T;
const archiveRows = (): Promise<ArchivedRow[]> => readArchiveWithDuckDb(join(dataDir, 'parquet'));
const logPath = (): string => join(dataDir, 'log', 'events.db');
const byId = <T extends { event_id: string }>(rows: T[]): Map<string, T> => new Map(rows.map((r) => [r.event_id, r]));
const pick = (e: InferenceEvent): Record<string, unknown> => Object.fromEntries(METADATA.map((k) => [k, e[k]]));

beforeAll(async () => {
  upstream = await startStandIn();
  dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-erase-'));
  env = { LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_LOG_LEVEL: 'warn' };
  app = await startCli({
    ...env,
    LLM_LOGGER_LOG_LEVEL: 'info',
    LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url,
    LLM_LOGGER_UPSTREAM_ANTHROPIC_URL: upstream.url,
    LLM_LOGGER_ROLLER_MAX_FILE_RECORDS: '1', // every event in a file of its own, written at once
  });
  const gw = app.gatewayUrl;
  for (const kind of ['chat', 'stream', 'anthropic', 'tool', 'error'] as const) {
    ids.a.push(await call(gw, { user: A, kind, content: `A asks about ${SECRET_A} (${kind})` }));
  }
  for (const kind of ['chat', 'stream'] as const) ids.b.push(await call(gw, { user: B, kind, content: `B asks about ${SECRET_B} (${kind})` }));
  const all = [...ids.a, ...ids.b];
  // Everything recorded, indexed and archived before the erase.
  await poll('the console shows every call', async () => {
    const seen = await Promise.all(all.map((id) => fetch(`${app.consoleUrl}/api/requests/${id}`).then((r) => r.status === 200)));
    return seen.every(Boolean);
  });
  await poll('every call is searchable', async () => {
    // Not by A's secret: the access log keeps what was searched for (the record of who looked at what,
    // which an erase leaves alone), and the raw-bytes checks below must find the secret nowhere else.
    const r = await consoleGet<{ total: number }>(`/api/search?q=asks&user=${A}`);
    const s = await consoleGet<{ total: number }>(`/api/search?q=${SECRET_B}`);
    return r.total === ids.a.length && s.total === ids.b.length;
  });
  await poll('every call is archived', async () => (await archiveRows()).length === all.length, 60_000);
  before = {
    log: await readInferenceEvents(dataDir),
    archive: await archiveRows(),
    console: new Map(await Promise.all(all.map(async (id) => [id, await consoleGet<InferenceEvent>(`/api/requests/${id}`)] as const))),
  };
  expect(before.log.filter((e) => e.user === A && e.request_body?.includes(SECRET_A))).toHaveLength(ids.a.length);
  expect(readRecords(dataDir, TOPICS.inferenceLive).some((r) => r.value.includes(SECRET_A))).toBe(true); // the streamed call's live records

  const erased = await eraseCli(A, env);
  expect(erased.run.status).toBe(0);
  first = erased.report;
}, 180_000);

afterAll(async () => {
  app?.child.kill('SIGTERM');
  await app?.exited;
  await upstream?.close();
  if (dataDir && !process.env.KEEP_DIR) rmSync(dataDir, { recursive: true, force: true });
});

test('the report says what was erased where, and that the embedded log leaves nothing to Kafka', () => {
  expect(first).toMatchObject({ user: A, complete: true, erased_fields: [...ERASED_FIELDS], tombstone: { topic: TOPICS.erasures, recorded: true }, kafka: null });
  const { log, console_view: view, search_index: search, archive } = first.stores;
  expect(log).toMatchObject({ status: 'done', backend: 'embedded', wal_checkpointed: true, unreadable_dlq: 0 });
  if (log.status !== 'done') throw new Error('unreachable');
  expect(log.records[TOPICS.inference]).toBe(ids.a.length);
  expect(log.records[TOPICS.inferenceLive]).toBeGreaterThanOrEqual(1); // the streamed call's started record (and progress with text)
  expect(view).toMatchObject({ status: 'done', rows: ids.a.length, remaining: 0 });
  expect(search).toMatchObject({ status: 'done', backend: 'embedded', documents: ids.a.length, remaining: 0 });
  expect(archive).toMatchObject({ status: 'done', files_scanned: ids.a.length + ids.b.length, files_rewritten: ids.a.length, rows: ids.a.length });
});

test("the embedded log holds none of A's bodies (records, live records, raw file bytes), and A's metadata as it was", async () => {
  const after = byId(await readInferenceEvents(dataDir));
  for (const e of before.log.filter((x) => x.user === A)) {
    const now = after.get(e.event_id)!;
    for (const f of ERASED_FIELDS) expect(now[f]).toBeNull();
    expect(pick(now)).toEqual(pick(e));
  }
  for (const topic of [TOPICS.inference, TOPICS.inferenceLive, TOPICS.dlq]) {
    expect(readRecords(dataDir, topic).filter((r) => r.value.includes(SECRET_A))).toEqual([]);
  }
  expect(filesContain(withWal(logPath()), SECRET_A)).toEqual([]);
});

test("the console API shows none of A's bodies, in the list, the detail or its database file", async () => {
  const list = await consoleGet<{ requests: { event_id: string; response_preview: string | null }[] }>(`/api/requests?user=${A}`);
  expect(list.requests.map((r) => r.event_id).sort()).toEqual([...ids.a].sort());
  expect(list.requests.every((r) => r.response_preview === null)).toBe(true);
  for (const id of ids.a) {
    const text = await (await fetch(`${app.consoleUrl}/api/requests/${id}`)).text();
    expect(text).not.toContain(SECRET_A);
    const e = JSON.parse(text) as InferenceEvent;
    for (const f of ERASED_FIELDS) expect(e[f]).toBeNull();
    expect(pick(e)).toEqual(pick(before.console.get(id)!));
  }
  expect(filesContain(withWal(join(dataDir, 'console', 'requests.db')), SECRET_A)).toEqual([]);
});

test('search finds nothing of A (console API, llm-logger search, the index file), yet still lists the calls by metadata', async () => {
  expect((await consoleGet<{ total: number }>(`/api/search?q=${SECRET_A}`)).total).toBe(0);
  expect((await consoleGet<{ total: number }>(`/api/search?q=asks&user=${A}`)).total).toBe(0);
  const meta = await consoleGet<{ total: number; hits: { highlights: Record<string, string[]> }[] }>(`/api/search?user=${A}`);
  expect(meta.total).toBe(ids.a.length);
  expect(JSON.stringify(meta.hits)).not.toContain(SECRET_A);
  expect((await runCli(['search', SECRET_A], env)).status).toBe(1);
  expect(filesContain(withWal(join(dataDir, 'index', 'audit.db')), SECRET_A)).toEqual([]);
});

test("the Parquet archive holds none of A's bodies (DuckDB, and pyarrow when it is installed), every file still in place", async () => {
  const rows = await archiveRows();
  expect(rows).toHaveLength(before.archive.length);
  const was = byId(before.archive);
  for (const r of rows.filter((x) => x.user === A)) {
    for (const f of ERASED_FIELDS) expect(r[f]).toBeNull();
    expect(pick(r)).toEqual(pick(was.get(r.event_id)!));
    expect(r.file).toBe(was.get(r.event_id)!.file);
  }
  expect(JSON.stringify(rows)).not.toContain(SECRET_A);
  const python = pyarrowPython();
  if (python) expect(pyarrowRowsMentioning(python, join(dataDir, 'parquet'), SECRET_A)).toBe(0);
  // No journal or temporary file left behind.
  const leftovers = readdirSync(join(dataDir, 'parquet'), { recursive: true }).map(String).filter((p) => /erase-journal\/.|\.tmp$/.test(p));
  expect(leftovers).toEqual([]);
});

test("B's data is unchanged in every store", async () => {
  const logNow = byId(await readInferenceEvents(dataDir));
  for (const e of before.log.filter((x) => x.user === B)) expect(logNow.get(e.event_id)).toEqual(e);
  const archiveNow = byId(await archiveRows());
  for (const r of before.archive.filter((x) => x.user === B)) expect(archiveNow.get(r.event_id)).toEqual(r);
  for (const id of ids.b) expect(await consoleGet<InferenceEvent>(`/api/requests/${id}`)).toEqual(before.console.get(id));
  const hits = await consoleGet<{ hits: { event_id: string }[] }>(`/api/search?q=${SECRET_B}`);
  expect(hits.hits.map((h) => h.event_id).sort()).toEqual([...ids.b].sort());
  expect(readRecords(dataDir, TOPICS.inferenceLive).some((r) => r.value.includes(SECRET_B))).toBe(true);
});

test('erasing again changes nothing and says so', async () => {
  const files = (): Map<string, string> =>
    new Map(before.archive.map((r) => [r.file, readFileSync(r.file).toString('base64')]));
  const archived = files();
  const log = await readInferenceEvents(dataDir);
  const { run, report } = await eraseCli(A, env);
  expect(run.status).toBe(0);
  expect(report.complete).toBe(true);
  expect(report.stores).toMatchObject({
    log: { status: 'done', records: { [TOPICS.inference]: 0, [TOPICS.inferenceLive]: 0, [TOPICS.dlq]: 0 } },
    console_view: { status: 'done', rows: 0, remaining: 0 },
    search_index: { status: 'done', documents: 0, remaining: 0 },
    archive: { status: 'done', files_rewritten: 0, rows: 0 },
  });
  expect(files()).toEqual(archived);
  expect(await readInferenceEvents(dataDir)).toEqual(log);
  // The readable report, too.
  const text = await runCli(['erase', '--user', A], env);
  expect(text.status).toBe(0);
  expect(text.stdout).toContain(`erased user "${A}"`);
  expect(text.stdout).toContain('0 of 7 files rewritten');
});

test('a bad argument is refused naming it, and nothing is recorded or erased', async () => {
  const tombstones = (): number => readRecords(dataDir, TOPICS.erasures).length;
  const recorded = tombstones();
  const cases: [string[], string][] = [
    [['erase'], '--user'],
    [['erase', '--user', ''], '--user'],
    [['erase', '--user'], '--user'],
    [['erase', '--usr', B], '--usr'],
    [['erase', B], `'${B}'`],
    [['erase', '--user', 'x'.repeat(1025)], '--user'],
  ];
  for (const [args, named] of cases) {
    const r = await runCli(args, env);
    expect({ args, status: r.status }).toEqual({ args, status: 2 });
    expect(r.stderr).toContain(named);
    expect(r.stdout).toBe('');
  }
  const post = (body: string, type = 'application/json'): Promise<Response> =>
    fetch(`${app.consoleUrl}/api/admin/erase`, { method: 'POST', headers: { 'content-type': type }, body });
  const refusals: [Promise<Response>, number, string][] = [
    [post('{}'), 400, 'user'],
    [post('{"user": 42}'), 400, 'user'],
    [post('{"user": ""}'), 400, 'user'],
    [post(`{"user": "${B}", "everything": true}`), 400, 'everything'],
    [post('{"user": '), 400, 'body'],
    [post(`{"user": "${B}"}`, 'text/plain'), 415, ''],
  ];
  for (const [res, status, parameter] of refusals) {
    const r = await res;
    const body = (await r.json()) as { error: { parameter?: string } };
    expect({ status: r.status, parameter: body.error.parameter ?? '' }).toEqual({ status, parameter });
  }
  expect((await fetch(`${app.consoleUrl}/api/admin/erase`)).status).toBe(405);
  expect(tombstones()).toBe(recorded);
  for (const id of ids.b) expect(await consoleGet<InferenceEvent>(`/api/requests/${id}`)).toEqual(before.console.get(id));
});
