import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { topicSpec, TOPICS } from '../../topology/topics';
import { RequestsStore } from '../../services/console/requests-store';
import { JOURNAL_PREFIX } from '../../services/roller/archive-erase';
import { fileKey, hourBucket } from '../../services/roller/core/file-layout';
import { RowBatch } from '../../services/roller/core/row-mapping';
import { S3Store } from '../../services/roller/object-store/s3-store';
import { encodeParquet } from '../../services/roller/parquet-encoder';
import { queryCacheDir } from '../../services/roller/query-cache';
import { createKafkaClient } from '../../services/shared/log/kafka/kafka-client';
import { deleteTestIndices, describeWithElasticsearch, uniquePrefix } from '../support/elasticsearch';
import { call, eraseCli, marker, poll, runCli } from '../support/erase-helpers';
import { describeWithInfra, describeWithS3 } from '../support/infra';
import { ensureTopics } from '../support/kafka-topics';
import { startCli, type RunningCli } from '../support/processes';
import { queryCli } from '../support/roller-process';
import { sampleEvent } from '../support/sample-event';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * Erasure against the real backends: the audit index on the dev
 * Elasticsearch node (`llm-logger start` indexing into it), the Parquet
 * archive on S3Proxy, and the report on Kafka, whose records cannot be
 * edited: it names the topics that still hold the bodies, with their
 * retention from topology/, and until when.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (label: string): string => {
  const d = mkdtempSync(join(tmpdir(), `llm-logger-${label}-`));
  dirs.push(d);
  return d;
};

interface EsHit {
  _id: string;
  _source: Record<string, unknown>;
}

describeWithElasticsearch('erase on Elasticsearch', (esUrl) => {
  const prefix = uniquePrefix('erase');
  const [A, B] = [marker('esalice'), marker('esbob')];
  const [SECRET_A, SECRET_B] = [marker('essecreta'), marker('essecretb')];
  let upstream: StandIn;
  let app: RunningCli;
  let env: Record<string, string>;

  const search = async (query: unknown): Promise<EsHit[]> => {
    const res = await fetch(`${esUrl()}/${prefix}-*/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 100, query }),
    });
    return ((await res.json()) as { hits: { hits: EsHit[] } }).hits.hits.map((h) => ({ _id: h._id, _source: h._source })); // scores move with the index
  };

  beforeAll(async () => {
    upstream = await startStandIn();
    const dataDir = tempDir('erase-es');
    env = { LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_ELASTICSEARCH_URL: esUrl(), LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: prefix };
    app = await startCli({ ...env, LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url });
  });

  afterAll(async () => {
    app?.child.kill('SIGTERM');
    await app?.exited;
    await upstream?.close();
    await deleteTestIndices(esUrl(), prefix);
  });

  test("no document of A holds a body after the erase; A's metadata and B's documents stay", async () => {
    for (const kind of ['chat', 'stream', 'error'] as const) await call(app.gatewayUrl, { user: A, kind, content: `about ${SECRET_A}` });
    await call(app.gatewayUrl, { user: B, content: `about ${SECRET_B}` });
    // Through the console's /api/search, which reads the same indices (refreshed every 5 s).
    await poll(
      'the calls are searchable',
      async () => {
        const r = (await (await fetch(`${app.consoleUrl}/api/search?q=${SECRET_A}`)).json()) as { backend: string; total: number };
        // B's call too: it may reach the index in a later batch than A's.
        return r.backend === 'elasticsearch' && r.total === 3 && (await search({ term: { user: B } })).length === 1;
      },
      60_000,
    );
    const bBefore = await search({ term: { user: B } });
    expect(bBefore).toHaveLength(1);

    const { run, report } = await eraseCli(A, env);
    expect(run.status).toBe(0);
    expect(report.stores.search_index).toEqual({ status: 'done', backend: 'elasticsearch', documents: 3, remaining: 0 });

    expect(await search({ multi_match: { query: SECRET_A, fields: ['prompt', 'response', 'error_message'] } })).toEqual([]);
    const aDocs = await search({ term: { user: A } });
    expect(aDocs).toHaveLength(3);
    for (const d of aDocs) {
      expect([d._source.prompt, d._source.response, d._source.error_message]).toEqual([null, null, null]);
      expect(d._source).toMatchObject({ user: A, upstream: 'openai' });
    }
    expect(JSON.stringify(aDocs)).not.toContain(SECRET_A);
    expect(await search({ term: { user: B } })).toEqual(bBefore);
    const console = (await (await fetch(`${app.consoleUrl}/api/search?q=${SECRET_A}`)).json()) as { total: number };
    expect(console.total).toBe(0);
  }, 120_000);
});

describeWithInfra('erase on Kafka', (infra) => {
  test('the report names the topics that still hold the bodies, their retention, and until when', async () => {
    const { brokers, registryUrl } = infra();
    await ensureTopics(brokers);
    const admin = createKafkaClient(brokers.split(',')).admin();
    await admin.connect();
    const recorded = async (): Promise<number> =>
      (await admin.fetchTopicOffsets(TOPICS.erasures)).reduce((n, p) => n + Number(p.high), 0);
    try {
      const before = await recorded();
      const user = marker('kafkauser');
      const dataDir = tempDir('erase-kafka');
      // The user's newest call, two days ago, in a console view on this machine (a console on Kafka keeps one).
      const endedAt = Date.now() - 2 * 86_400_000;
      const view = new RequestsStore(join(dataDir, 'console', 'requests.db'));
      view.put([sampleEvent({ user, started_at: endedAt - 1_000, ended_at: endedAt })]);
      view.close();
      const env = { LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_KAFKA_BROKERS: brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl };
      const { run, report } = await eraseCli(user, env);
      expect(run.status).toBe(0);
      expect(report.complete).toBe(true);
      expect(report.tombstone).toEqual({ topic: TOPICS.erasures, recorded: true });
      expect(await recorded()).toBe(before + 1); // the erasure, for the consumers on Kafka
      expect(report.stores.log).toMatchObject({ status: 'skipped', reason: expect.stringContaining('Kafka records cannot be edited') });
      expect(report.stores.console_view).toMatchObject({ status: 'done', rows: 1, remaining: 0 });
      const erasedAt = Date.parse(report.erased_at);
      const at = (ms: number): string => new Date(ms).toISOString();
      const retention = (topic: (typeof TOPICS)[keyof typeof TOPICS]): number => topicSpec(topic).retentionMs;
      // A call's records are written when it ends; DLQ copies whenever a consumer sent them there, so only the erase bounds them.
      expect(report.kafka).toEqual([
        { topic: TOPICS.inference, retention_ms: 7 * 86_400_000, holds_until: at(endedAt + retention(TOPICS.inference)), at_the_latest: at(erasedAt + retention(TOPICS.inference)) },
        { topic: TOPICS.inferenceLive, retention_ms: 3_600_000, holds_until: at(endedAt + retention(TOPICS.inferenceLive)), at_the_latest: at(erasedAt + 3_600_000) },
        { topic: TOPICS.dlq, retention_ms: 30 * 86_400_000, holds_until: at(erasedAt + retention(TOPICS.dlq)), at_the_latest: at(erasedAt + retention(TOPICS.dlq)) },
      ]);

      const text = await runCli(['erase', '--user', user], env);
      expect(text.status).toBe(0);
      expect(text.stdout).toContain(`llm.inference.v1 (retention 7 d): until ${at(endedAt + retention(TOPICS.inference))}`);
      expect(text.stdout).toContain('llm.inference.live.v1 (retention 1 h): aged out already');
      expect(text.stdout).toMatch(/llm\.inference\.dlq\.v1 \(retention 30 d\): until \S+/);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);
});

describeWithS3('erase on S3', (s3) => {
  test("each file with the user's bodies is uploaded again under its key; query's local copies follow", async () => {
    const { endpoint, bucket, accessKeyId, secretAccessKey } = s3();
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    const prefix = `erase-test/${randomUUID()}`;
    const store = new S3Store({ bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    const dataDir = tempDir('erase-s3');
    const [A, B] = [marker('s3alice'), marker('s3bob')];
    const secret = marker('s3secret');
    try {
      const now = Date.now();
      const keys: string[] = [];
      for (const [i, user] of [A, B, A].entries()) {
        const batch = new RowBatch();
        const event = sampleEvent({ event_id: randomUUID(), user, started_at: now - 60_000, ended_at: now - 59_000, request_body: `{"q":"${secret} ${i}"}` });
        batch.add({ event, partition: i, offset: 0 });
        const key = fileKey(TOPICS.inference, i, 0, hourBucket(event.ended_at));
        await store.put(key, encodeParquet(batch.toTable(), new Map([['llm_logger.rows', '1']])));
        keys.push(key);
      }
      const env = {
        LLM_LOGGER_DATA_DIR: dataDir,
        LLM_LOGGER_ARCHIVE_URL: `s3://${bucket}/${prefix}`,
        LLM_LOGGER_S3_ENDPOINT: endpoint,
        LLM_LOGGER_S3_FORCE_PATH_STYLE: 'true',
        LLM_LOGGER_S3_ACCESS_KEY_ID: accessKeyId,
        LLM_LOGGER_S3_SECRET_ACCESS_KEY: secretAccessKey,
      };
      const withBodies = `SELECT "user", count(*) AS n FROM llm_inference WHERE request_body LIKE '%${secret}%' GROUP BY 1 ORDER BY 1`;
      const counts = (rows: Record<string, unknown>[]): Record<string, number> => Object.fromEntries(rows.map((r) => [r.user as string, Number(r.n)]));
      expect(counts(queryCli(env, withBodies))).toEqual({ [A]: 2, [B]: 1 }); // and query mirrors the files locally
      const mirror = queryCacheDir(dataDir, store.url);
      const copies = (): boolean[] => keys.map((k) => existsSync(join(mirror, ...k.split('/'))));

      const { run, report } = await eraseCli(A, env);
      expect(run.status).toBe(0);
      expect(report.stores.archive).toMatchObject({ status: 'done', url: store.url, files_scanned: 3, files_rewritten: 2, rows: 2 });
      expect(copies()).toEqual([false, true, false]); // the copies of the rewritten files are gone
      expect((await store.list('')).map((o) => o.key).sort()).toEqual([...keys].sort()); // same keys, no journal left
      expect(await store.list(JOURNAL_PREFIX)).toEqual([]);
      expect(counts(queryCli(env, withBodies))).toEqual({ [B]: 1 });
      expect(Number(queryCli(env, `SELECT count(*) AS n FROM llm_inference WHERE "user" = '${A}'`)[0]!.n)).toBe(2); // the rows stay
      const again = await eraseCli(A, env);
      expect(again.report.stores.archive).toMatchObject({ status: 'done', files_scanned: 3, files_rewritten: 0 });
    } finally {
      for (const o of await store.list('')) await store.delete(o.key);
      await store.close();
    }
  }, 120_000);
});
