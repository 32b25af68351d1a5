import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConsole } from '../../services/console/run-console';
import { runGateway, type RunningRole } from '../../services/gateway/run-gateway';
import { loadConfig } from '../../services/shared/config/config';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import type { EventLog } from '../../services/shared/log/event-log';
import { runAggregator } from '../../services/aggregator/run-aggregator';

export interface Pipeline {
  gatewayUrl: string;
  consoleUrl: string;
  dataDir: string;
  log: EventLog;
  /** Polls the console until the event is visible (it arrives through the log). */
  waitForEvent(eventId: string, timeoutMs?: number): Promise<InferenceEvent>;
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
  options: { aggregator?: boolean } = {},
): Promise<Pipeline> {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-test-'));
  const config = loadConfig({
    LLM_LOGGER_DATA_DIR: dataDir,
    LLM_LOGGER_GATEWAY_PORT: '0',
    LLM_LOGGER_CONSOLE_PORT: '0',
    LLM_LOGGER_LOG_LEVEL: 'silent',
    LLM_LOGGER_INSTANCE: 'test-gateway',
    LLM_LOGGER_UPSTREAM_OPENAI_URL: upstreamUrl,
    LLM_LOGGER_UPSTREAM_ANTHROPIC_URL: upstreamUrl,
    LLM_LOGGER_UPSTREAM_AZURE_URL: upstreamUrl,
    LLM_LOGGER_SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const logger = createLogger(config.logLevel, 'test');
  const registry = createMetricsRegistry();
  const log = openEventLog(config, logger);
  const roles: RunningRole[] = [];
  const gateway = await runGateway(config, log, registry, logger);
  roles.push(gateway);
  if (options.aggregator ?? !config.log.kafkaBrokers) roles.push(await runAggregator(config, log, registry, logger, { serveHealth: false }));
  const consoleRole = await runConsole(config, log, registry, logger);
  roles.push(consoleRole);
  const consoleUrl = `http://127.0.0.1:${consoleRole.port}`;
  return {
    gatewayUrl: `http://127.0.0.1:${gateway.port}`,
    consoleUrl,
    dataDir,
    log,
    async waitForEvent(eventId, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await fetch(`${consoleUrl}/api/requests/${eventId}`);
        if (res.status === 200) return (await res.json()) as InferenceEvent;
        if (Date.now() > deadline) throw new Error(`event ${eventId} not visible in the console after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const r of roles) await r.close();
      await log.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
