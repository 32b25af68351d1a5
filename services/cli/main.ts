import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../shared/config/config';
import { isLlmLoggerError } from '../shared/errors';
import { createLogger, type Logger } from '../shared/observability/logger';
import { createMetricsRegistry } from '../shared/observability/metrics';
import { openEventLog } from '../shared/log/open-log';
import type * as AggregatorModule from '../aggregator/run-aggregator';
import type * as ConsoleModule from '../console/run-console';
import type * as GatewayModule from '../gateway/run-gateway';
import type { RunningRole } from '../gateway/run-gateway';
import type * as QueryModule from '../roller/query';
import type * as RepriceModule from '../roller/reprice';
import type * as RollerModule from '../roller/run-roller';
import type * as IndexerModule from '../indexer/run-indexer';
import type * as SearchIndexModule from '../indexer/open-search-index';
import type * as SearchModule from './search';
import type { SearchIndex } from '../indexer/search-index';
import type * as SchemasModule from './schemas';
import type * as TailModule from './tail';
import { REPRICE_USAGE } from './reprice-usage';
import type * as EraseModule from './erase';
import type * as RetentionModule from './retention';
import { SEARCH_USAGE } from './search-usage';
import type * as TopologyModule from './topology';
import type * as KeysModule from './keys';

/*
 * Roles and heavy commands are loaded when used, not at start-up: a process
 * running only the gateway does not carry Arrow, Parquet, DuckDB or the
 * Elasticsearch client in memory (tens of MB of RSS).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- lazy loading, typed by the imports above */
const load = {
  gateway: () => require('../gateway/run-gateway') as typeof GatewayModule,
  aggregator: () => require('../aggregator/run-aggregator') as typeof AggregatorModule,
  console: () => require('../console/run-console') as typeof ConsoleModule,
  roller: () => require('../roller/run-roller') as typeof RollerModule,
  indexer: () => require('../indexer/run-indexer') as typeof IndexerModule,
  searchIndex: () => require('../indexer/open-search-index') as typeof SearchIndexModule,
  search: () => require('./search') as typeof SearchModule,
  // The Kafka admin client (kafkajs, ~140 modules) only for the commands that use it.
  topology: () => require('./topology') as typeof TopologyModule,
  schemas: () => require('./schemas') as typeof SchemasModule,
  tail: () => require('./tail') as typeof TailModule,
  erase: () => require('./erase') as typeof EraseModule,
  retention: () => require('./retention') as typeof RetentionModule,
  keys: () => require('./keys') as typeof KeysModule,
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface Command {
  summary: string;
  usage: string;
  /** The command parses its own options (the rest of the command line is passed as is). */
  ownOptions?: boolean;
  /** Set for commands that are part of the contract but not built yet. */
  comingWith?: string;
  run?: (args: string[], configPath: string | undefined) => Promise<number>;
}

/** Every command of the CLI, by name (the k8s manifests test checks their Deployments against it). */
export const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run every role in one process on the embedded log (the quick start)',
    usage: 'llm-logger start [--config file.yaml]',
    run: (_args, configPath) => runRoles(['gateway', 'aggregator', 'indexer', 'roller', 'console'], configPath),
  },
  gateway: {
    summary: 'run the gateway: forwards LLM calls and records one event per call',
    usage: 'llm-logger gateway [--config file.yaml]',
    run: (_args, configPath) => runRoles(['gateway'], configPath),
  },
  console: {
    summary: 'run the console: HTTP API (and dashboard) over the recorded calls',
    usage: 'llm-logger console [--config file.yaml]',
    run: (_args, configPath) => runRoles(['console'], configPath),
  },
  aggregator: {
    summary: 'exactly-once windowed aggregates (1 min, 1 h) onto llm.aggregates.v1',
    usage: 'llm-logger aggregator [--config file.yaml]\n\n  Serves /healthz, /readyz and /metrics on LLM_LOGGER_METRICS_PORT (default 9464).',
    run: (_args, configPath) => runRoles(['aggregator'], configPath),
  },
  indexer: {
    summary: 'index prompts and responses (redacted) for audit search',
    usage:
      'llm-logger indexer [--config file.yaml]\n\n' +
      '  Consumes llm.inference.v1 (group llm-logger-indexer) into Elasticsearch (LLM_LOGGER_ELASTICSEARCH_URL)\n' +
      '  or the embedded index under LLM_LOGGER_DATA_DIR; redaction rules: `redaction:` in the config file.\n' +
      '  Serves /healthz, /readyz and /metrics on LLM_LOGGER_METRICS_PORT (default 9464).',
    run: (_args, configPath) => runRoles(['indexer'], configPath),
  },
  roller: {
    summary: 'roll raw events into Parquet files (local directory or S3)',
    usage: 'llm-logger roller [--config file.yaml]',
    run: (_args, configPath) => runRoles(['roller'], configPath),
  },
  topology: {
    summary: 'apply topics to Kafka or render Strimzi resources',
    usage:
      'llm-logger topology apply | render [--out dir] [--config file.yaml]\n\n' +
      '  apply          create topics, add partitions and set configs so Kafka matches topology/\n' +
      '                 (needs LLM_LOGGER_KAFKA_BROKERS; changes nothing if any change is impossible)\n' +
      '  render         print Strimzi KafkaTopic and KafkaUser resources\n' +
      '  --out dir      write them to dir/topics.yaml and dir/users.yaml instead',
    run: (args, configPath) => load.topology().runTopology(args, loadConfigOrExit(configPath)),
  },
  schemas: {
    summary: 'register schemas/ with the schema registry',
    usage:
      'llm-logger schemas register [--config file.yaml]\n\n' +
      '  register       every schemas/*.avsc version under its topic\'s subject (<topic>-value), oldest first,\n' +
      '                 with BACKWARD compatibility (needs LLM_LOGGER_SCHEMA_REGISTRY_URL)',
    run: (args, configPath) => load.schemas().runSchemas(args, loadConfigOrExit(configPath)),
  },
  tail: {
    summary: 'print calls as they are recorded',
    usage: 'llm-logger tail [--json] [--from-beginning] [--config file.yaml]',
    run: (args, configPath) => load.tail().runTail(args, loadConfigOrExit(configPath)),
  },
  search: {
    summary: 'full-text search over prompts and responses',
    usage: SEARCH_USAGE,
    ownOptions: true,
    run: (args, configPath) => load.search().runSearch(args, loadConfigOrExit(configPath)),
  },
  erase: {
    summary: "remove a user's prompts and answers from every store (log, console, search index, archive)",
    usage:
      'llm-logger erase --user <id> [--json] [--config file.yaml]\n\n' +
      "  --user id      the user whose bodies (request and response bodies, answer text, tool calls, error\n" +
      '                 messages) are removed from the calls that started before now: from the embedded log,\n' +
      '                 the console view, the search index and the Parquet archive; metadata is kept\n' +
      '  --json         print the report as JSON\n\n' +
      '  Exit 0 when complete, 1 when a store could not be erased (run it again), 2 on a bad argument.\n' +
      '  On Kafka the report lists the topics that still hold the bodies, and until when.',
    ownOptions: true,
    run: (args, configPath) => load.erase().runErase(args, loadConfigOrExit(configPath)),
  },
  retention: {
    summary: "delete the Parquet archive's hours past its retention (the roller does it hourly)",
    usage:
      'llm-logger retention [--days N] [--dry-run] [--json] [--config file.yaml]\n\n' +
      "  Deletes the archive's hour directories (dt=.../hour=...) that ended more than N days ago.\n" +
      '  --days N       the retention in days (1-36500); default LLM_LOGGER_ARCHIVE_RETENTION_DAYS\n' +
      '  --dry-run      print what would be deleted, delete nothing\n' +
      '  --json         print the result as JSON',
    ownOptions: true,
    run: (args, configPath) => load.retention().runRetention(args, loadConfigOrExit(configPath)),
  },
  keys: {
    summary: 'make gateway keys and hash them for LLM_LOGGER_GATEWAY_KEYS_FILE',
    usage:
      'llm-logger keys hash [key]\n' +
      '       llm-logger keys add --id <name> [--user u] [--app a] [--team t] [--upstreams a,b] [--allow-user-header]\n' +
      '                           [--budget-usd N --budget-period day|month] [--file keys.yaml] [--config file.yaml]\n\n' +
      '  hash           print the SHA-256 of a key (read from stdin when not given, so it stays out of shell history)\n' +
      '  add            make a random key, print it once and its entry for LLM_LOGGER_GATEWAY_KEYS_FILE;\n' +
      '                 with --file, add the entry to that file (a running gateway picks it up within seconds)',
    ownOptions: true,
    run: (args, configPath) => Promise.resolve(load.keys().runKeys(args, () => loadConfigOrExit(configPath))),
  },
  query: {
    summary: 'SQL over the Parquet archive (DuckDB; the files are the view llm_inference)',
    usage:
      'llm-logger query "SQL" [--json] [--config file.yaml]\n\n' +
      '  e.g.           llm-logger query "SELECT user, sum(cost_micro_usd) / 1e6 AS usd FROM llm_inference\n' +
      '                   WHERE started_at > now() - INTERVAL 7 DAY GROUP BY user ORDER BY usd DESC"\n' +
      '  --json         print the rows as a JSON array of objects',
    run: (args, configPath) => {
      // DuckDB's native library is loaded for this command only.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runQuery } = require('../roller/query') as typeof QueryModule;
      return runQuery(args, loadConfigOrExit(configPath));
    },
  },
  reprice: {
    summary: 'recompute the cost of archived events priced with older prices or none, into a corrections dataset',
    usage: REPRICE_USAGE,
    ownOptions: true,
    run: (args, configPath) => {
      // DuckDB, Arrow and Parquet are loaded for this command only.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runReprice } = require('../roller/reprice') as typeof RepriceModule;
      return runReprice(args, loadConfigOrExit(configPath));
    },
  },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, c]) => `  ${name.padEnd(width)}  ${c.summary}${c.comingWith ? ' (not available yet)' : ''}`,
  );
  return `Usage: llm-logger <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "llm-logger <command> --help" for a command's options.\nConfiguration: LLM_LOGGER_* environment variables and --config file.yaml (see README).`;
}

function loadConfigOrExit(configPath: string | undefined): Config {
  try {
    return loadConfig(process.env, configPath);
  } catch (err) {
    process.stderr.write(`llm-logger: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

export type RoleName = 'gateway' | 'aggregator' | 'indexer' | 'roller' | 'console';

/** Benchmarks and tests on a shared broker: the indexer's and roller's groups (the console's are per instance already). */
export interface RoleOverrides {
  groups?: { indexer?: string; roller?: string };
}

/** Runs roles in this process until SIGTERM/SIGINT (then stops them cleanly: 0) or until a consumer is fenced (1). */
export async function runRoles(roles: RoleName[], configPath: string | undefined, overrides: RoleOverrides = {}): Promise<number> {
  const config = loadConfigOrExit(configPath);
  const logger = createLogger(config.logLevel, roles.join('+'));
  const registry = createMetricsRegistry();
  // A consumer fenced by another process under this instance's id stops for good: so does this process
  // (an orchestrator restarts it; a second process with the same LLM_LOGGER_INSTANCE is a mistake to see).
  let fenced!: (err: Error) => void;
  const fatal = new Promise<Error>((resolve) => (fenced = resolve));
  const log = openEventLog(config, logger, { onFatal: (err) => fenced(err) });
  const running: Pick<RunningRole, 'close'>[] = [];
  // One audit index for the indexer and the console's search when both run here.
  const search: SearchIndex | undefined =
    roles.includes('indexer') && roles.includes('console') ? load.searchIndex().openSearchIndex(config, logger.child({ component: 'search-index' })) : undefined;
  try {
    for (const role of roles) {
      if (role === 'gateway') running.push(await load.gateway().runGateway(config, log, registry, logger));
      // Alone, the aggregator serves its own health and metrics; in `start`, the gateway and console do.
      else if (role === 'aggregator') running.push(await load.aggregator().runAggregator(config, log, registry, logger, { serveHealth: roles.length === 1 }));
      else if (role === 'indexer')
        running.push(await load.indexer().runIndexer(config, log, registry, logger, { serveHealth: roles.length === 1, shared: search, groupId: overrides.groups?.indexer }));
      else if (role === 'roller') running.push(await load.roller().runRoller(config, log, registry, logger, { serveHealth: roles.length === 1, groupId: overrides.groups?.roller }));
      else running.push(await load.console().runConsole(config, log, registry, logger, search));
    }
  } catch (err) {
    await Promise.all(running.map((r) => r.close()));
    await search?.close();
    await log.close();
    throw err;
  }
  const stoppedBy = await Promise.race([waitForSignal(logger).then(() => null), fatal]);
  if (stoppedBy) logger.error({ err: stoppedBy }, 'shutting down: a consumer cannot go on');
  logger.info('shutting down: draining calls in flight, then flushing events');
  // Gateway first: its last events must reach the log before consumers stop.
  for (const r of running) await r.close();
  await search?.close();
  await log.close();
  logger.info('stopped');
  return stoppedBy ? 1 : 0;
}

function waitForSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    // A role with no server would otherwise exit once its loop only awaits the log.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      signalled = true;
      logger.info({ signal }, 'signal received');
      clearInterval(keepAlive);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`llm-logger: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: ${command.usage}\n\n${command.summary}${command.comingWith ? '\n(not available yet)' : ''}\n`);
    return 0;
  }
  if (command.comingWith || !command.run) {
    process.stderr.write(`llm-logger ${name}: not available yet (arrives with ${command.comingWith}).\n`);
    return 2;
  }
  if (command.ownOptions) {
    const at = rest.indexOf('--config');
    const configPath = at >= 0 ? rest[at + 1] : undefined;
    return command.run(at >= 0 ? [...rest.slice(0, at), ...rest.slice(at + 2)] : rest, configPath);
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      json: { type: 'boolean' },
      'from-beginning': { type: 'boolean' },
      out: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const args = [...positionals];
  if (values.json) args.push('--json');
  if (values['from-beginning']) args.push('--from-beginning');
  if (values.out !== undefined) args.push('--out', values.out);
  return command.run(args, values.config);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const message = isLlmLoggerError(err) ? err.message : (err as Error).stack;
      process.stderr.write(`llm-logger: ${message}\n`);
      process.exit(isLlmLoggerError(err, 'CONFIG_INVALID') ? 2 : 1);
    },
  );
}
