import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { TOPICS } from '../../topology/topics';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath } from '../../services/shared/log/open-log';
import { IDS_DIR, parseFileKey } from '../../services/roller/core/file-layout';
import { ingestedHeaders } from '../../services/shared/event/ingest-origin';
import { S3Store } from '../../services/roller/object-store/s3-store';
import { archiveEvent } from '../support/archive-events';
import { describeWithS3 } from '../support/infra';
import { CLI, REPO_ROOT } from '../support/processes';
import { killRollers, queryCli, rollerCaughtUp, startRoller, waitFor } from '../support/roller-process';

/** The roller on a real S3-compatible server (S3Proxy from infra/dev), and `llm-logger query` over it. */

const TOTAL = 6_000;

describeWithS3('roller on S3', (s3) => {
  let dir: string;
  let log: SqliteEventLog;
  let env: Record<string, string>;
  let store: S3Store;
  const prefix = `roller-test/${randomUUID()}`;

  beforeAll(async () => {
    const { endpoint, bucket, accessKeyId, secretAccessKey } = s3();
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-roller-s3-'));
    log = new SqliteEventLog({ path: embeddedLogPath(dir), sync: 'normal' });
    env = {
      LLM_LOGGER_DATA_DIR: dir,
      LLM_LOGGER_ARCHIVE_URL: `s3://${bucket}/${prefix}`,
      LLM_LOGGER_S3_ENDPOINT: endpoint,
      LLM_LOGGER_S3_FORCE_PATH_STYLE: 'true',
      LLM_LOGGER_S3_ACCESS_KEY_ID: accessKeyId,
      LLM_LOGGER_S3_SECRET_ACCESS_KEY: secretAccessKey,
      LLM_LOGGER_ROLLER_MAX_FILE_RECORDS: '1000',
      LLM_LOGGER_ROLLER_IDLE_FLUSH_MS: '200',
    };
    store = new S3Store({ bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  });

  afterAll(async () => {
    killRollers();
    await store?.close();
    await log?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('files land under the Hive layout, once each, across a kill -9; query reads them', async () => {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const events = Array.from({ length: TOTAL }, (_, i) => archiveEvent(i, TOTAL, 3));
    await log.append(TOPICS.inference, events.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })));

    const first = startRoller(env);
    await first.started;
    await new Promise((r) => setTimeout(r, 400));
    first.child.kill('SIGKILL');
    await first.exited;
    const second = startRoller(env);
    await second.started;
    await waitFor(() => rollerCaughtUp(log), 60_000, () => `the roller did not catch up:\n${second.output().slice(-3000)}`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const objects = await store.list('');
    expect(objects.length).toBeGreaterThanOrEqual(TOTAL / 1000);
    for (const o of objects) expect(parseFileKey(o.key)).not.toBeNull(); // nothing but finished data files

    const [counts] = queryCli(env, 'SELECT count(*) AS n, count(DISTINCT event_id) AS ids, sum(input_tokens) AS tokens FROM llm_inference');
    const tokens = events.reduce((s, e) => s + (e.usage.input_tokens ?? 0), 0);
    expect([counts!.n, counts!.ids, counts!.tokens].map(Number)).toEqual([TOTAL, TOTAL, tokens]);
    const perUser = queryCli(env, 'SELECT "user", sum(cost_micro_usd) AS cost FROM llm_inference WHERE "user" IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 3');
    expect(perUser).toHaveLength(3);
  }, 120_000);

  test('ingested events posted three times are archived once; their ids go beside the files on S3 and can be deleted', async () => {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    const events = Array.from({ length: 1_000 }, (_, i) => archiveEvent(TOTAL + i, 1_000, 1));
    // As the gateway's ingest API appends them: marked with the time accepted, placed by id.
    const copy = (at: number) =>
      events.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at, headers: ingestedHeaders(at), partitionByKey: true }));
    await log.append(TOPICS.inference, copy(Date.now()));
    const first = startRoller(env);
    await first.started;
    await log.append(TOPICS.inference, copy(Date.now()));
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill('SIGKILL');
    await first.exited;
    await log.append(TOPICS.inference, copy(Date.now()));
    const second = startRoller(env);
    await second.started;
    await waitFor(() => rollerCaughtUp(log), 60_000, () => `the roller did not catch up:\n${second.output().slice(-3000)}`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const ids = events.map((e) => `'${e.event_id}'`).join(',');
    const [counts] = queryCli(env, `SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM llm_inference WHERE event_id IN (${ids})`);
    expect([counts!.n, counts!.ids].map(Number)).toEqual([1_000, 1_000]);
    const chunks = await store.list(`${IDS_DIR}/`);
    expect(chunks.length).toBeGreaterThan(0);
    await store.delete(chunks[0]!.key);
    await store.delete(chunks[0]!.key); // gone already: no error
    expect((await store.list(`${IDS_DIR}/`)).map((o) => o.key)).not.toContain(chunks[0]!.key);
  }, 120_000);

  test('a bad archive URL stops the roller at start-up, naming the variable', () => {
    const r = spawnSync(process.execPath, [CLI, 'roller'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', LLM_LOGGER_DATA_DIR: dir, LLM_LOGGER_ARCHIVE_URL: 's3://Bad_Bucket' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('LLM_LOGGER_ARCHIVE_URL');
  });
});
