import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runAggregator } from '../../services/aggregator/run-aggregator';
import { runConsole } from '../../services/console/run-console';
import { runGateway, type RunningRole } from '../../services/gateway/run-gateway';
import { runIndexer } from '../../services/indexer/run-indexer';
import { runRoller } from '../../services/roller/run-roller';
import { loadConfig, type Config } from '../../services/shared/config/config';
import type { EventLog } from '../../services/shared/log/event-log';
import { openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';

/**
 * Every role of `npm start` in this process (gateway, aggregator, indexer,
 * roller, console) on one embedded log and a fresh data directory, with
 * every built-in upstream pointed at `upstreamUrl`, logging at debug level
 * into memory: what a test must find in no store and no log line, it can
 * look for in all of them.
 */
export interface FullPipeline {
  config: Config;
  gatewayUrl: string;
  consoleUrl: string;
  dataDir: string;
  log: EventLog;
  /** Every line the roles logged so far. */
  logOutput(): string;
  close(): Promise<void>;
}

export async function startFullPipeline(upstreamUrl: string, env: Record<string, string> = {}): Promise<FullPipeline> {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-full-'));
  const config = loadConfig({
    LLM_LOGGER_DATA_DIR: dataDir,
    LLM_LOGGER_GATEWAY_PORT: '0',
    LLM_LOGGER_CONSOLE_PORT: '0',
    LLM_LOGGER_LOG_LEVEL: 'debug',
    LLM_LOGGER_INSTANCE: 'test-gateway',
    LLM_LOGGER_UPSTREAM_OPENAI_URL: upstreamUrl,
    LLM_LOGGER_UPSTREAM_ANTHROPIC_URL: upstreamUrl,
    LLM_LOGGER_UPSTREAM_AZURE_URL: upstreamUrl,
    LLM_LOGGER_SHUTDOWN_GRACE_MS: '2000',
    LLM_LOGGER_ROLLER_MAX_FILE_RECORDS: '1', // every event in a file of its own at once: the archive is readable right away
    ...env,
  });
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString('utf8');
      done();
    },
  });
  const logger = createLogger(config.logLevel, 'test', sink);
  const registry = createMetricsRegistry();
  const log = openEventLog(config, logger);
  const roles: RunningRole[] = [];
  const gateway = await runGateway(config, log, registry, logger);
  roles.push(gateway);
  roles.push(await runAggregator(config, log, registry, logger, { serveHealth: false }));
  const indexer = await runIndexer(config, log, registry, logger, { serveHealth: false });
  roles.push(indexer);
  roles.push(await runRoller(config, log, registry, logger, { serveHealth: false }));
  const consoleRole = await runConsole(config, log, registry, logger, indexer.index);
  roles.push(consoleRole);
  return {
    config,
    gatewayUrl: `http://127.0.0.1:${gateway.port}`,
    consoleUrl: `http://127.0.0.1:${consoleRole.port}`,
    dataDir,
    log,
    logOutput: () => output,
    async close() {
      // The console first (it reads the shared index), the indexer (which closes it) after.
      for (const r of [...roles].reverse()) await r.close();
      await log.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir`, with its bytes. */
export function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, bytes: readFileSync(path) });
  }
  return out;
}

export async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
