import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Counter } from 'prom-client';
import { ElasticsearchIndex } from '../services/indexer/adapters/elasticsearch-index';
import { toAuditDocument } from '../services/indexer/core/audit-document';
import { runIndexer } from '../services/indexer/run-indexer';
import { loadConfig } from '../services/shared/config/config';
import { openEventLog } from '../services/shared/log/open-log';
import { createLogger } from '../services/shared/observability/logger';
import { createMetricsRegistry } from '../services/shared/observability/metrics';
import { appendToEmbeddedLog, auditEvents } from '../test/support/audit-events';

/**
 * `npm run bench:indexer`: the indexer role in this one process, on an
 * embedded log holding N ~2 KB events with prompts and responses, into
 * (1) the Elasticsearch node of `npm run infra:up` and (2) the embedded
 * SQLite FTS5 index. Reports documents per second from start to the last
 * document indexed (redaction, Avro decode and bulk requests included),
 * and the cost of mapping + redaction alone.
 */

const ROOT = join(__dirname, '..', '..');
const N = Number(process.env.BENCH_EVENTS ?? 50_000);

function elasticsearchUrl(): string | null {
  if (process.env.LLM_LOGGER_ELASTICSEARCH_URL) return process.env.LLM_LOGGER_ELASTICSEARCH_URL;
  const file = join(ROOT, 'infra', 'dev', '.run', 'env');
  const m = existsSync(file) ? /^LLM_LOGGER_ELASTICSEARCH_URL=(.+)$/m.exec(readFileSync(file, 'utf8')) : null;
  return m ? m[1]!.trim() : null;
}

const PARAGRAPH =
  'Summarise the quarterly report for the board. Revenue grew in every region except the north, where two large customers ' +
  'delayed renewals; support tickets fell by a fifth after the new onboarding flow shipped. Mention the hiring plan and the ' +
  'budget for the data platform, and keep it under two hundred words. ';

function events(): ReturnType<typeof auditEvents> {
  return auditEvents(N, Date.now() - N * 10, (i) => ({
    request_body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a helpful assistant for finance teams.' },
        { role: 'user', content: `${PARAGRAPH}Request ${i}: contact ops${i % 97}@example.com or +1 415 555 ${String(1000 + (i % 9000))}.` },
      ],
    }),
    response_text: `${PARAGRAPH.slice(0, 600)} (answer ${i})`,
    user: `user-${i % 50}`,
    app: i % 2 ? 'finance' : 'support',
  }));
}

async function runOnce(label: string, env: Record<string, string>, dataDir: string): Promise<number> {
  const config = loadConfig({ LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_LOG_LEVEL: 'warn', ...env });
  const logger = createLogger(config.logLevel, 'bench');
  const registry = createMetricsRegistry();
  const log = openEventLog(config, logger);
  const t0 = performance.now();
  const indexer = await runIndexer(config, log, registry, logger, { serveHealth: false });
  const counter = registry.getSingleMetric('llm_logger_indexer_documents_total') as Counter;
  for (;;) {
    const done = (await counter.get()).values[0]?.value ?? 0;
    if (done >= N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  await indexer.close();
  await log.close();
  const rate = N / seconds;
  process.stdout.write(`${label}: ${N} documents in ${seconds.toFixed(2)} s = ${Math.round(rate)} docs/s\n`);
  return rate;
}

async function main(): Promise<void> {
  // The embedded log's writer thread does not keep the process alive on its own.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const evs = events();
  const bytes = evs.reduce((n, e) => n + (e.request_body?.length ?? 0) + (e.response_text?.length ?? 0), 0) / N;
  process.stdout.write(`events: ${N}, ~${Math.round(bytes)} bytes of prompt + response text each\n`);

  const redactor = loadConfig({}).index.redactor;
  let t = performance.now();
  for (const e of evs) toAuditDocument(e, redactor);
  process.stdout.write(`map + redact alone: ${Math.round(N / ((performance.now() - t) / 1000))} docs/s\n`);

  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-bench-indexer-'));
  const dataDir2 = mkdtempSync(join(tmpdir(), 'llm-logger-bench-indexer-'));
  try {
    t = performance.now();
    await appendToEmbeddedLog(dataDir, evs);
    process.stdout.write(`(appended to the embedded log in ${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
    await appendToEmbeddedLog(dataDir2, evs); // the embedded run starts from a fresh consumer group

    const url = elasticsearchUrl();
    if (url) {
      const prefix = `bench-${Date.now().toString(36)}`;
      try {
        await runOnce(`elasticsearch ${url}`, { LLM_LOGGER_ELASTICSEARCH_URL: url, LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: prefix }, dataDir);
      } finally {
        const es = new ElasticsearchIndex({ url, prefix, retentionDays: 30, logger: createLogger('silent', 'bench') });
        await es.refresh();
        process.stdout.write(`  (documents in the index: ${await es.count()})\n`);
        await es.deleteAll();
        await es.close();
      }
    } else {
      process.stdout.write('elasticsearch: skipped (no LLM_LOGGER_ELASTICSEARCH_URL; npm run infra:up)\n');
    }
    await runOnce('embedded SQLite FTS5', {}, dataDir2);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(dataDir2, { recursive: true, force: true });
    clearInterval(keepAlive);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
