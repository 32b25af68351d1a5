import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import type { ErasureReport } from '../../services/erasure/erasure-report';
import { fileKey, hourBucket } from '../../services/roller/core/file-layout';
import { RowBatch } from '../../services/roller/core/row-mapping';
import { JOURNAL_PREFIX } from '../../services/roller/archive-erase';
import { LocalDirStore } from '../../services/roller/object-store/local-dir-store';
import { encodeParquet } from '../../services/roller/parquet-encoder';
import { stripParquet } from '../../services/roller/parquet-erase';
import { consumeIntoArchive, ROLLER_GROUP, runRoller } from '../../services/roller/run-roller';
import { loadConfig } from '../../services/shared/config/config';
import { ERASED_FIELDS } from '../../services/shared/erasure/erasure';
import { followErasures } from '../../services/shared/erasure/erasure-follower';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import type { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { readArchiveWithDuckDb } from '../support/archive-reader';
import { call, eraseCli, marker, poll } from '../support/erase-helpers';
import { startPipeline } from '../support/pipeline';
import { readInferenceEvents } from '../support/read-log';
import { sampleEvent } from '../support/sample-event';
import { startStandIn } from '../support/stand-in-upstream';

/**
 * Erasure while the roles run: records a running roller holds in open files
 * when `llm-logger erase` runs in another process, the admin API inside the
 * console process (behind its token), and an erase interrupted half way.
 */

const dirs: string[] = [];
const tempDir = (label: string): string => {
  const d = mkdtempSync(join(tmpdir(), `llm-logger-${label}-`));
  dirs.push(d);
  return d;
};
const logger = createLogger('silent', 'test');

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Events of two users, ended a few seconds ago (the current hour: the roller keeps their file open). */
function events(users: string[], secret: string): InferenceEvent[] {
  const now = Date.now();
  return users.map((user, i) =>
    sampleEvent({
      event_id: `0193aaaa-0000-7000-8000-${String(i).padStart(12, '0')}`,
      user,
      started_at: now - 5_000 + i,
      ended_at: now - 4_000 + i,
      request_body: `{"messages":[{"role":"user","content":"${secret} ${i}"}]}`,
      response_text: `answer about ${secret}`,
    }),
  );
}

test("records a running roller holds when another process erases the user are archived without the user's bodies", async () => {
  const dir = tempDir('erase-roller');
  const log = openEventLog(loadConfig({ LLM_LOGGER_DATA_DIR: dir }), logger) as SqliteEventLog;
  const secret = marker('held');
  const [a, b] = [marker('heldA'), marker('heldB')];
  const sent = events([a, b, a, b, a], secret);
  const serde = await inferenceEventSerde(log.schemaRegistry);
  await log.append(TOPICS.inference, sent.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })));
  const root = join(dir, 'parquet');
  const consumer = await consumeIntoArchive({
    log,
    store: new LocalDirStore(root),
    limits: { maxRecords: 1_000, maxBytes: 1 << 30, idleFlushMs: 600_000 }, // nothing is written before the stop
    dedupe: { windowMs: 24 * 3_600_000, maxIds: 50_000 },
    groupId: ROLLER_GROUP,
    registry: new Registry(),
    logger,
  });
  try {
    await poll('the roller holds every record', async () => consumer.roller.bufferedRows() === sent.length);

    const { run, report } = await eraseCli(a, { LLM_LOGGER_DATA_DIR: dir });
    expect(run.status).toBe(0);
    expect(report.stores.log).toMatchObject({ status: 'done', records: { [TOPICS.inference]: 3 }, pending: { [ROLLER_GROUP]: 3 } });
    expect(report.stores.archive).toMatchObject({ status: 'done', files_scanned: 0 }); // nothing stored yet
    // The roller learns of the erasure from the log (another process recorded it).
    const follower = followErasures(log, 'roller', new Registry(), logger);
    await poll('the roller knows the erasure', async () => follower.list.erasedAt(a) !== null);
    await follower.release();
  } finally {
    await consumer.close(); // writes the open files
    await log.close();
  }
  const rows = await readArchiveWithDuckDb(root);
  expect(rows).toHaveLength(sent.length);
  for (const r of rows) {
    const original = sent.find((e) => e.event_id === r.event_id)!;
    if (r.user === a) for (const f of ERASED_FIELDS) expect(r[f]).toBeNull();
    else expect([r.request_body, r.response_text]).toEqual([original.request_body, original.response_text]);
  }
  expect(rows.filter((r) => JSON.stringify(r).includes(secret)).map((r) => r.user)).toEqual([b, b]);
}, 60_000);

test('POST /api/admin/erase erases in the console process, behind the console token', async () => {
  const TOKEN = 'erase-admin-token-for-tests-01';
  const upstream = await startStandIn();
  const pipeline = await startPipeline(upstream.url, { LLM_LOGGER_CONSOLE_TOKEN: TOKEN });
  try {
    const [c, d] = [marker('carol'), marker('dave')];
    const secret = marker('csecret');
    const ids = [await call(pipeline.gatewayUrl, { user: c, content: `${secret} one` }), await call(pipeline.gatewayUrl, { user: c, kind: 'stream', content: `${secret} two` })];
    const other = await call(pipeline.gatewayUrl, { user: d, content: 'nothing secret' });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const get = async (id: string): Promise<InferenceEvent | null> => {
      const res = await fetch(`${pipeline.consoleUrl}/api/requests/${id}`, { headers: auth });
      return res.status === 200 ? ((await res.json()) as InferenceEvent) : null;
    };
    await poll('the console shows the calls', async () => (await Promise.all([...ids, other].map(get))).every(Boolean));
    const dBefore = await get(other);
    const erase = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${pipeline.consoleUrl}/api/admin/erase`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ user: c }) });

    const refused = await erase({});
    expect(refused.status).toBe(401);
    expect((await get(ids[0]!))!.request_body).toContain(secret);

    const res = await erase(auth);
    expect(res.status).toBe(200);
    const report = (await res.json()) as ErasureReport;
    expect(report).toMatchObject({ user: c, complete: true, kafka: null });
    expect(report.stores.log).toMatchObject({ status: 'done', records: { [TOPICS.inference]: 2 } });
    expect(report.stores.console_view).toMatchObject({ status: 'done', rows: 2, remaining: 0 });
    for (const id of ids) {
      const e = (await get(id))!;
      for (const f of ERASED_FIELDS) expect(e[f]).toBeNull();
    }
    expect(await get(other)).toEqual(dBefore);
    const logged = await readInferenceEvents(pipeline.dataDir);
    expect(logged.filter((e) => JSON.stringify(e).includes(secret))).toEqual([]);
    expect(logged.filter((e) => e.user === c)).toHaveLength(2);
  } finally {
    await pipeline.close();
    await upstream.close();
  }
}, 60_000);

describe('an erase interrupted half way', () => {
  /** An archive of two files holding the user's bodies, and the journal an erase wrote before it stopped after the first. */
  async function interrupted(dir: string, user: string, secret: string): Promise<{ store: LocalDirStore; keys: string[]; firstBytes: Uint8Array }> {
    const store = new LocalDirStore(join(dir, 'parquet'));
    const keys: string[] = [];
    for (const [i, e] of events([user, 'someone-else', user], secret).entries()) {
      const batch = new RowBatch();
      batch.add({ event: e, partition: i, offset: 0 });
      const key = fileKey(TOPICS.inference, i, 0, hourBucket(e.ended_at));
      await store.put(key, encodeParquet(batch.toTable(), new Map([['llm_logger.rows', '1']])));
      keys.push(key);
    }
    const erasedAt = Date.now();
    const covers = (u: string | null, t: number): boolean => u === user && t <= erasedAt;
    const firstBytes = stripParquet(await store.get(keys[0]!), covers)!.body;
    await store.put(keys[0]!, firstBytes); // the file the erase rewrote before it stopped
    const journal = { user, erased_at: erasedAt, files: [keys[0], keys[2]] };
    await store.put(`${JOURNAL_PREFIX}${erasedAt}-interrupted.json`, Buffer.from(JSON.stringify(journal)));
    return { store, keys, firstBytes };
  }

  async function check(store: LocalDirStore, keys: string[], firstBytes: Uint8Array, user: string, secret: string): Promise<void> {
    expect(await store.list(JOURNAL_PREFIX)).toEqual([]);
    expect(Buffer.from(await store.get(keys[0]!)).equals(Buffer.from(firstBytes))).toBe(true); // not rewritten a second time
    const rows = await readArchiveWithDuckDb(store.url.replace('file://', ''));
    expect(rows.filter((r) => r.user === user && r.request_body !== null)).toEqual([]);
    expect(rows.filter((r) => r.user !== user && r.request_body?.includes(secret))).toHaveLength(1);
  }

  test('the next erase finishes it first, each file rewritten once, and says so', async () => {
    const dir = tempDir('erase-journal');
    const [user, secret] = [marker('eve'), marker('esecret')];
    const { store, keys, firstBytes } = await interrupted(dir, user, secret);
    const { run, report } = await eraseCli(marker('nobody'), { LLM_LOGGER_DATA_DIR: dir });
    expect(run.status).toBe(0);
    expect(report.stores.archive).toMatchObject({ status: 'done', journals_resumed: 1, resumed_files_rewritten: 1, files_rewritten: 0 });
    await check(store, keys, firstBytes, user, secret);
  }, 60_000);

  test('the roller finishes it when it starts', async () => {
    const dir = tempDir('erase-journal-roller');
    const [user, secret] = [marker('frank'), marker('fsecret')];
    const { store, keys, firstBytes } = await interrupted(dir, user, secret);
    const config = loadConfig({ LLM_LOGGER_DATA_DIR: dir, LLM_LOGGER_LOG_LEVEL: 'silent' });
    const log = openEventLog(config, logger);
    const roller = await runRoller(config, log, new Registry(), logger, { serveHealth: false });
    try {
      await poll('the journal is finished', async () => (await store.list(JOURNAL_PREFIX)).length === 0);
    } finally {
      await roller.close();
      await log.close();
    }
    await check(store, keys, firstBytes, user, secret);
  }, 60_000);
});
