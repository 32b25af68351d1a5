import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElasticsearchIndex } from '../../services/indexer/adapters/elasticsearch-index';
import { createLogger } from '../../services/shared/observability/logger';
import { TOPICS } from '../../topology/topics';
import { appendToEmbeddedLog, auditEvents, describeWithElasticsearch, uniquePrefix } from '../support/elasticsearch';
import { CLI, REPO_ROOT } from '../support/processes';
import { readRecords } from '../support/read-log';

interface Indexer {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startIndexer(env: Record<string, string>): Promise<Indexer> {
  const child = spawn(process.execPath, [CLI, 'indexer'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('"msg":"indexer running"')) {
        clearInterval(timer);
        resolve({ child, output: () => out, exited });
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`indexer exited with ${code}:\n${out}`));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWithElasticsearch('indexer process on the embedded log into Elasticsearch', (url) => {
  let dataDir: string;
  let prefix: string;
  let es: ElasticsearchIndex;
  let env: Record<string, string>;
  // A shard that is still starting (the indexer just created the day's index) fails a count: not yet.
  const count = async (): Promise<number> => {
    try {
      await es.refresh();
      return await es.count();
    } catch {
      return 0;
    }
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-indexer-'));
    prefix = uniquePrefix('idx');
    es = new ElasticsearchIndex({ url: url(), prefix, retentionDays: 30, logger: createLogger('silent', 'test') });
    env = {
      LLM_LOGGER_DATA_DIR: dataDir,
      LLM_LOGGER_ELASTICSEARCH_URL: url(),
      LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: prefix,
      LLM_LOGGER_LOG_LEVEL: 'info',
      LLM_LOGGER_METRICS_PORT: '0',
    };
  });

  afterEach(async () => {
    await es.deleteAll().catch(() => undefined);
    await es?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('indexes 10,000 events exactly once across a kill -9 and a restart', async () => {
    await appendToEmbeddedLog(dataDir, auditEvents(10_000));
    // Documents indexed so far, refreshed or not (the indexer is fast enough to finish between two refreshes).
    const indexedTotal = async (): Promise<number> => {
      const res = await fetch(`${url()}/${prefix}-*/_stats/indexing`);
      return ((await res.json()) as { _all: { primaries: { indexing?: { index_total: number } } } })._all.primaries.indexing?.index_total ?? 0;
    };
    // Hold the indexer mid-way: once the first documents land, the cluster pushes back (429) on
    // everything else, so the kill hits batches that are in flight and uncommitted.
    const block = (on: boolean) =>
      fetch(`${url()}/${prefix}-*/_settings`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ 'index.blocks.read_only_allow_delete': on ? true : null }),
      });
    const first = await startIndexer(env);
    await waitFor('the first documents', async () => (await indexedTotal()) > 0);
    await block(true);
    await new Promise((r) => setTimeout(r, 500));
    // While the cluster pushes back the indexer says it is not ready (and waits).
    const port = /"port":(\d+)[^\n]*"msg":"indexer health and metrics listening"/.exec(first.output())![1];
    await waitFor('/readyz to turn 503', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503, 10_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const midway = await count();
    expect(midway).toBeGreaterThan(0);
    expect(midway).toBeLessThan(10_000);
    await block(false);

    const second = await startIndexer(env);
    try {
      await waitFor('all 10,000 documents', async () => (await count()) >= 10_000);
      await new Promise((r) => setTimeout(r, 1_000)); // anything redelivered after the kill has landed by now
      expect(await count()).toBe(10_000);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 120_000);

  it('sends a document Elasticsearch refuses to the DLQ with the reason, and indexes the rest', async () => {
    const events = auditEvents(50, undefined, (i) => (i === 17 ? { trace_id: 't'.repeat(40_000) } : {}));
    await appendToEmbeddedLog(dataDir, events);
    const indexer = await startIndexer(env);
    try {
      await waitFor('49 documents', async () => (await count()) >= 49);
      await waitFor('the DLQ record', () => Promise.resolve(readRecords(dataDir, TOPICS.dlq).length > 0));
      const port = /"port":(\d+)[^\n]*"msg":"indexer health and metrics listening"/.exec(indexer.output())![1];
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/llm_logger_indexer_documents_total 49/);
      expect(metrics).toMatch(/llm_logger_consumer_failures_total\{[^}]*reason="rejected_by_backend"[^}]*\} 1/);
      expect(metrics).toMatch(/llm_logger_consumer_dead_letters_total\{[^}]*reason="rejected_by_backend"[^}]*\} 1/);
    } finally {
      indexer.child.kill('SIGTERM');
      expect(await indexer.exited).toBe(0);
    }
    expect(await count()).toBe(49);
    // Alone, the indexer served its health and metrics (the numbers as they were before the stop).
    expect(indexer.output()).toMatch(/"msg":"indexer health and metrics listening"/);
    const dlq = readRecords(dataDir, TOPICS.dlq);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.key).toBe(events[17]!.event_id);
    expect(dlq[0]!.headers['x-dlq-reason']).toBe('rejected_by_backend');
    expect(dlq[0]!.headers['x-dlq-role']).toBe('indexer');
    expect(dlq[0]!.headers['x-dlq-error']).toMatch(/^400 /);
    expect(dlq[0]!.headers['x-dlq-attempts']).toBe('1'); // refused for good: never tried again
  }, 60_000);
});
