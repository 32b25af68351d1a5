import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { TOPICS } from '../../topology/topics';
import { fileKey, hourBucket } from '../../services/roller/core/file-layout';
import { RowBatch } from '../../services/roller/core/row-mapping';
import { LocalDirStore } from '../../services/roller/object-store/local-dir-store';
import type { ObjectStore } from '../../services/roller/object-store/object-store';
import { S3Store } from '../../services/roller/object-store/s3-store';
import { encodeParquet } from '../../services/roller/parquet-encoder';
import { runCli } from '../support/erase-helpers';
import { describeWithS3 } from '../support/infra';
import { killRollers, queryCli, startRoller, waitFor } from '../support/roller-process';
import { sampleEvent } from '../support/sample-event';

/**
 * The archive's retention (LLM_LOGGER_ARCHIVE_RETENTION_DAYS, `llm-logger
 * retention`) deletes exactly the hours past it, whole, on a local directory
 * and on S3Proxy. The archive is built from the clock: hours 0-23 and 26-50
 * before the current one (and one a month back) hold files, hours 24 and 25
 * none, so with a 1-day retention the expired ones are 26 and older even if
 * an hour boundary passes while the test runs.
 */

const HOUR = 3_600_000;
const KEPT = [0, 1, 12, 23];
const EXPIRED = [26, 27, 30, 47, 50, 24 * 30];
const PARTITIONS = [0, 7];

interface Seeded {
  kept: string[];
  expired: string[];
  /** `dt=…/hour=…` of the expired hours, oldest first. */
  expiredHours: string[];
}

/** Two one-row files (partitions 0 and 7) in each hour, hours counted back from the current one. */
async function seed(store: ObjectStore): Promise<Seeded> {
  const current = Math.floor(Date.now() / HOUR) * HOUR;
  const keysOf = async (hoursBack: number[]): Promise<string[]> => {
    const keys: string[] = [];
    for (const back of hoursBack) {
      const bucket = hourBucket(current - back * HOUR);
      for (const partition of PARTITIONS) {
        const batch = new RowBatch();
        const endedAt = bucket.startMs + 60_000;
        batch.add({ event: sampleEvent({ event_id: randomUUID(), started_at: endedAt - 500, ended_at: endedAt }), partition, offset: back });
        const key = fileKey(TOPICS.inference, partition, back, bucket);
        await store.put(key, encodeParquet(batch.toTable(), new Map([['llm_logger.rows', '1']])));
        keys.push(key);
      }
    }
    return keys;
  };
  const expiredHours = [...EXPIRED].sort((a, b) => b - a).map((back) => hourBucket(current - back * HOUR).path);
  return { kept: await keysOf(KEPT), expired: await keysOf(EXPIRED), expiredHours };
}

const keys = async (store: ObjectStore): Promise<string[]> => (await store.list('')).map((o) => o.key).sort();

describe('on a local directory', () => {
  let dir: string;
  let store: LocalDirStore;
  let env: Record<string, string>;
  let seeded: Seeded;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-retention-'));
    store = new LocalDirStore(join(dir, 'parquet'));
    env = { LLM_LOGGER_DATA_DIR: dir };
    seeded = await seed(store);
    await store.put('llm_inference/README.txt', Buffer.from('not a data file: left alone'));
  });

  afterAll(() => {
    killRollers();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the roller deletes exactly the hours past LLM_LOGGER_ARCHIVE_RETENTION_DAYS when it starts, directories included', async () => {
    const roller = startRoller({ ...env, LLM_LOGGER_ARCHIVE_RETENTION_DAYS: '1' });
    await roller.started;
    await waitFor(() => roller.output().includes('archive hours past the retention deleted'), 30_000, () => roller.output());
    roller.child.kill('SIGTERM');
    expect(await roller.exited).toBe(0);
    const line = JSON.parse(roller.output().split('\n').find((l) => l.includes('archive hours past the retention deleted'))!) as Record<string, number>;
    expect(line).toMatchObject({ hours: EXPIRED.length, files: EXPIRED.length * PARTITIONS.length, retentionDays: 1 });
    expect(await keys(store)).toEqual([...seeded.kept, 'llm_inference/README.txt'].sort());
    // An expired hour leaves no directory behind, nor does a day with no hour left.
    const dirs = readdirSync(join(dir, 'parquet', 'llm_inference'), { recursive: true }).map(String).filter((p) => !p.endsWith('.parquet'));
    for (const hour of seeded.expiredHours) expect(dirs).not.toContain(hour);
    expect(dirs.filter((d) => /^dt=[^/]+$/.test(d)).length).toBeLessThanOrEqual(2); // today and yesterday at most
  }, 60_000);

  test('llm-logger retention is idempotent, and finishes a run that was interrupted', async () => {
    const again = await runCli(['retention', '--days', '1', '--json'], env);
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ retention_days: 1, dry_run: false, hours: [], files: 0 });
    // As if a run had stopped after deleting only part of an expired hour.
    const leftover = seeded.expired[0]!;
    await store.put(leftover, Buffer.from('left by an interrupted run'));
    const dry = await runCli(['retention', '--days', '1', '--dry-run', '--json'], env);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, files: 1, hours: [leftover.split('/').slice(1, 3).join('/')] });
    expect(await keys(store)).toContain(leftover);
    const run = await runCli(['retention', '--days', '1'], env);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('deleted 1 hours, 1 files');
    expect(await keys(store)).toEqual([...seeded.kept, 'llm_inference/README.txt'].sort());
    expect(Number(queryCli(env, 'SELECT count(*) AS n FROM llm_inference')[0]!.n)).toBe(seeded.kept.length);
  }, 60_000);

  test('a bad retention is refused naming the option or variable, and deletes nothing', async () => {
    const before = await keys(store);
    const cases: [string[], Record<string, string>, string][] = [
      [['retention', '--days', '0'], {}, '--days'],
      [['retention', '--days', 'week'], {}, '--days'],
      [['retention'], {}, 'LLM_LOGGER_ARCHIVE_RETENTION_DAYS'],
      [['retention', '--weeks', '1'], {}, '--weeks'],
      [['retention'], { LLM_LOGGER_ARCHIVE_RETENTION_DAYS: '0' }, 'LLM_LOGGER_ARCHIVE_RETENTION_DAYS'],
      [['roller'], { LLM_LOGGER_ARCHIVE_RETENTION_DAYS: '1.5' }, 'LLM_LOGGER_ARCHIVE_RETENTION_DAYS'],
    ];
    for (const [args, extra, named] of cases) {
      const r = await runCli(args, { ...env, ...extra });
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toContain(named);
    }
    expect(await keys(store)).toEqual(before);
  }, 60_000);
});

describeWithS3('on S3', (s3) => {
  test('llm-logger retention deletes exactly the expired hours; query no longer sees them', async () => {
    const { endpoint, bucket, accessKeyId, secretAccessKey } = s3();
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    const prefix = `retention-test/${randomUUID()}`;
    const store = new S3Store({ bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    const dir = mkdtempSync(join(tmpdir(), 'llm-logger-retention-s3-'));
    try {
      const seeded = await seed(store);
      const env = {
        LLM_LOGGER_DATA_DIR: dir,
        LLM_LOGGER_ARCHIVE_URL: `s3://${bucket}/${prefix}`,
        LLM_LOGGER_S3_ENDPOINT: endpoint,
        LLM_LOGGER_S3_FORCE_PATH_STYLE: 'true',
        LLM_LOGGER_S3_ACCESS_KEY_ID: accessKeyId,
        LLM_LOGGER_S3_SECRET_ACCESS_KEY: secretAccessKey,
        LLM_LOGGER_ARCHIVE_RETENTION_DAYS: '1',
      };
      const all = seeded.kept.length + seeded.expired.length;
      expect(Number(queryCli(env, 'SELECT count(*) AS n FROM llm_inference')[0]!.n)).toBe(all); // (a local mirror, without httpfs)
      const run = await runCli(['retention', '--json'], env);
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ retention_days: 1, hours: seeded.expiredHours, files: seeded.expired.length });
      expect(await keys(store)).toEqual([...seeded.kept].sort());
      expect(JSON.parse((await runCli(['retention', '--json'], env)).stdout)).toMatchObject({ hours: [], files: 0 });
      expect(Number(queryCli(env, 'SELECT count(*) AS n FROM llm_inference')[0]!.n)).toBe(seeded.kept.length);
    } finally {
      for (const k of await keys(store)) await store.delete(k);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
