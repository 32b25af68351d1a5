import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConsole } from '../../services/console/run-console';
import { runIndexer } from '../../services/indexer/run-indexer';
import { openSearchIndex } from '../../services/indexer/open-search-index';
import type { SearchIndex } from '../../services/indexer/search-index';
import { runGateway, type RunningRole } from '../../services/gateway/run-gateway';
import { loadConfig, type Config } from '../../services/shared/config/config';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import type { EventLog } from '../../services/shared/log/event-log';
import { runAggregator } from '../../services/aggregator/run-aggregator';

export interface Pipeline {
  gatewayUrl: string;
  /** The console's address (a restart gives it a new port). */
  readonly consoleUrl: string;
  /** Its /metrics listener when LLM_LOGGER_CONSOLE_METRICS_PORT is set. */
  readonly consoleMetricsUrl: string | null;
  dataDir: string;
  log: EventLog;
  config: Config;
  /** Polls the console until the event is visible (it arrives through the log); `headers` authenticate the polls. */
  waitForEvent(eventId: string, timeoutMs?: number, headers?: Record<string, string>): Promise<InferenceEvent>;
  /** Stops the console and starts it again on the same log and data directory, with these variables on top of the first ones. */
  restartConsole(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded pipeline (gateway + console on one embedded log) in this
 * process, on free ports and a fresh data directory, with every built-in
 * upstream pointed at `upstreamUrl`.
 */
export async function startPipeline(
  upstreamUrl: string,
  env: Record<string, string> = {},
  // On the shared broker, an aggregator in the pipeline would first chew through every other test's backlog in this process.
  options: {
    aggregator?: boolean;
    /** Run the indexer too, on the audit index the console searches. */
    indexer?: boolean;
    /** See runConsole: the access-log view's group, unique per test on a shared broker. */
    accessGroupId?: string;
  } = {},
): Promise<Pipeline> {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-test-'));
  const baseEnv = {
    LLM_LOGGER_DATA_DIR: dataDir,
    LLM_LOGGER_GATEWAY_PORT: '0',
    LLM_LOGGER_CONSOLE_PORT: '0',
    LLM_LOGGER_LOG_LEVEL: 'silent',
    // On a shared broker an explicit instance id is a static group member (the console's groups are named after
    // it too): unique per run, or parallel runs would fence each other.
    LLM_LOGGER_INSTANCE: env.LLM_LOGGER_KAFKA_BROKERS ? `test-gateway-${randomUUID().slice(0, 8)}` : 'test-gateway',
    LLM_LOGGER_UPSTREAM_OPENAI_URL: upstreamUrl,
    LLM_LOGGER_UPSTREAM_ANTHROPIC_URL: upstreamUrl,
    LLM_LOGGER_UPSTREAM_AZURE_URL: upstreamUrl,
    LLM_LOGGER_SHUTDOWN_GRACE_MS: '2000',
    ...env,
  };
  const config = loadConfig(baseEnv);
  const logger = createLogger(config.logLevel, 'test');
  const registry = createMetricsRegistry();
  const log = openEventLog(config, logger);
  const roles: RunningRole[] = [];
  const gateway = await runGateway(config, log, registry, logger);
  roles.push(gateway);
  if (options.aggregator ?? !config.log.kafkaBrokers) roles.push(await runAggregator(config, log, registry, logger, { serveHealth: false }));
  let search: SearchIndex | undefined;
  if (options.indexer) {
    search = openSearchIndex(config, logger);
    roles.push(await runIndexer(config, log, registry, logger, { serveHealth: false, shared: search }));
  }
  const consoleOptions = { accessGroupId: options.accessGroupId };
  let consoleRole = await runConsole(config, log, registry, logger, search, consoleOptions);
  const consoleUrl = (): string => `http://127.0.0.1:${consoleRole.port}`;
  return {
    gatewayUrl: `http://127.0.0.1:${gateway.port}`,
    get consoleUrl() {
      return consoleUrl();
    },
    get consoleMetricsUrl() {
      return consoleRole.metricsPort === null ? null : `http://127.0.0.1:${consoleRole.metricsPort}`;
    },
    dataDir,
    log,
    config,
    async restartConsole(more = {}) {
      await consoleRole.close();
      // A registry of its own: the new console registers its metrics again.
      consoleRole = await runConsole(loadConfig({ ...baseEnv, ...more }), log, createMetricsRegistry(), logger, search, consoleOptions);
    },
    async waitForEvent(eventId, timeoutMs = 5_000, headers = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await fetch(`${consoleUrl()}/api/requests/${eventId}`, { headers });
        if (res.status === 200) return (await res.json()) as InferenceEvent;
        if (Date.now() > deadline) throw new Error(`event ${eventId} not visible in the console after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await consoleRole.close();
      for (const r of roles) await r.close();
      await search?.close();
      await log.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
