import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { LlmLoggerError } from '../errors';
import { buildUpstreams, upstreamFileSchema, type Upstream } from './upstreams';
import {
  AZURE_RESOURCES_PATTERN,
  gatewaySecuritySettings,
  GATEWAY_AUTH_MODES,
  INGEST_AUTH_MODES,
  INGEST_TOKENS_MESSAGE,
  INGEST_TOKENS_PATTERN,
  type GatewaySecuritySettings,
} from './gateway-security';
import { alertsFileSchema, defaultAlertsConfig, type AlertsConfig } from './alert-rules';
import {
  buildRedactor,
  REDACTION_MODES,
  REDACTION_POLICIES,
  redactionFileSchema,
  redactionPolicy,
  type RedactionPolicy,
  type RedactionSettings,
} from '../redaction/redaction-config';
import type { Redactor } from '../redaction/redact-text';
import { buildConsoleAccess, consoleFileSchema, type ConsoleAccessSettings } from './console-access';

/**
 * The only place that reads `process.env`. Everything is parsed once at
 * start-up; a bad value stops the process with the variable or key named.
 */

export const ENV_PREFIX = 'LLM_LOGGER_';

const MIB = 1024 * 1024;

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number, e.g. 72 or 0.5')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

/**
 * Every scalar setting, by the suffix of its `LLM_LOGGER_` variable. The
 * README's configuration table lists the same names (a test keeps them in step).
 */
const envSchema = z.object({
  CONFIG: z.string().min(1).optional(),
  PRICES_FILE: z.string().min(1).optional(), // YAML/JSON price overrides, reloaded when the file changes or on SIGHUP
  DATA_DIR: z.string().min(1).default('./data'),
  INSTANCE: z.string().min(1).default(hostname()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: int(0, 65535).default(8080),
  CONSOLE_HOST: z.string().min(1).default('127.0.0.1'),
  CONSOLE_PORT: int(0, 65535).default(3000),
  CONSOLE_TOKEN: z
    .string()
    .regex(/^[^,\s]{16,}(?:\s*,\s*[^,\s]{16,})*$/, 'must be one token or a comma-separated list, each at least 16 characters without spaces')
    .optional(),
  CONSOLE_VIEW_HOURS: decimal(0.01, 8_760).default(72), // the console's request list keeps calls of this many hours
  CONSOLE_SESSION_HOURS: decimal(0.01, 8_760).default(12), // a console sign-in (session cookie) lasts this long
  CONSOLE_ALLOWED_HOSTS: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(?:\s*,\s*[A-Za-z0-9.-]+)*$/, 'must be host names, comma-separated, without ports')
    .optional(), // Host headers accepted besides loopback names (DNS rebinding)
  CONSOLE_COOKIE_SECURE: z.enum(['auto', 'always']).default('auto'),
  CONSOLE_METRICS_PORT: int(0, 65535).optional(), // /metrics (and health) without access control, on LLM_LOGGER_METRICS_HOST
  GATEWAY_LIVE_INTERVAL_MS: int(0, 60_000).default(100), // live-view progress per call at most this often; 0 = off

  KAFKA_BROKERS: z.string().min(1).optional(),
  KAFKA_CLIENT_ID: z.string().min(1).default('llm-logger'),
  KAFKA_SASL_MECHANISM: z.enum(['scram-sha-512', 'scram-sha-256', 'plain']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_TLS: z.enum(['true', 'false']).default('false'),
  KAFKA_TLS_CA_FILE: z.string().min(1).optional(),
  KAFKA_TLS_CERT_FILE: z.string().min(1).optional(),
  KAFKA_TLS_KEY_FILE: z.string().min(1).optional(),
  KAFKA_COMPRESSION: z.enum(['zstd', 'lz4', 'none']).default('zstd'),
  KAFKA_LINGER_MS: int(0, 10_000).default(5),
  KAFKA_DELIVERY_TIMEOUT_MS: int(1_000, 3_600_000).default(10_000), // then the gateway spools to disk
  KAFKA_MAX_RECORD_BYTES: int(65_536, 1024 * MIB).default(1_000_000), // librdkafka's message.max.bytes; larger events are shrunk at the source
  KAFKA_REPLICATION_FACTOR: int(1, 32).optional(), // overrides topology/ (e.g. 1 on a one-broker dev cluster)
  KAFKA_STATIC_MEMBERSHIP: z.enum(['auto', 'on', 'off']).default('auto'), // auto: on when LLM_LOGGER_INSTANCE is set
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 1_800_000).optional(), // default: see groupMembership
  SCHEMA_REGISTRY_URL: z.url().optional(),
  SCHEMA_REGISTRY_USERNAME: z.string().min(1).optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().min(1).optional(),
  SPOOL_MAX_BYTES: int(1024 * 1024, 1024 * 1024 * 1024 * 1024).default(1024 * MIB), // 1 GiB of events while Kafka is down

  AUDIT_MODE: z.enum(['best-effort', 'strict']).default('best-effort'),
  SAMPLE_RATE: z
    .string()
    .regex(/^(?:0|1|0?\.\d+|1\.0*)$/, 'must be a number from 0 to 1')
    .transform(Number)
    .default(1),
  MAX_REQUEST_BYTES: int(1, 1024 * MIB).default(32 * MIB),
  CAPTURE_MAX_BYTES: int(0, 1024 * MIB).default(1 * MIB), // per body; larger bodies are cut and flagged
  UPSTREAM_CONNECT_TIMEOUT_MS: int(1, 3_600_000).default(10_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: int(1, 3_600_000).default(600_000), // 10 min: slow reasoning models answer late
  UPSTREAM_BODY_TIMEOUT_MS: int(1, 3_600_000).default(300_000), // 5 min of silence between two chunks
  SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(30_000),
  // Who may call the gateway (services/gateway/core/access-policy.ts decides at start-up).
  GATEWAY_AUTH: z.enum(GATEWAY_AUTH_MODES).optional(), // unset: keys when a key file is set, else open on loopback only
  GATEWAY_KEYS_FILE: z.string().min(1).optional(), // YAML of hashed gateway keys, re-read on change and on SIGHUP
  INGEST_AUTH: z.enum(INGEST_AUTH_MODES).optional(), // unset: tokens when set, else open on loopback only
  INGEST_TOKENS: z.string().regex(INGEST_TOKENS_PATTERN, INGEST_TOKENS_MESSAGE).optional(),
  AZURE_RESOURCES: z.string().regex(AZURE_RESOURCES_PATTERN, 'must be a comma-separated list of Azure resource names').optional(),
  CLIENT_HEADERS_TIMEOUT_MS: int(1_000, 3_600_000).default(30_000), // a client's request headers must arrive within this
  CLIENT_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000).default(120_000), // ... and its whole request (headers and body): else 408
  GATEWAY_MAX_CONNECTIONS: int(1, 1_000_000).default(10_000), // client connections open at once; more are refused
  RESPONSE_TEXT_MAX_CHARS: int(1_024, 1024 * MIB).default(1 * MIB), // answer text and tool calls kept per call for the event
  STREAM_EVENT_MAX_CHARS: int(1_024, 1024 * MIB).default(8 * MIB), // one server-sent event (or line) longer than this is skipped

  HANDOFF_QUEUE_MAX: int(1, 10_000_000).default(50_000), // events waiting for the log
  HANDOFF_BATCH_MAX: int(1, 100_000).default(500),
  HANDOFF_LINGER_MS: int(0, 10_000).optional(), // default: see handoffLingerDefault
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: int(0, 65535).default(9464), // health and metrics of the aggregator, indexer and roller
  AGGREGATOR_GRACE_MS: int(0, 24 * 3_600_000).default(30_000), // events up to 30 s behind stream time still count in their window
  AGGREGATOR_IDLE_CLOSE_MS: int(1_000, 24 * 3_600_000).default(60_000), // a partition quiet this long closes windows by wall clock
  AGGREGATOR_MAX_KEYS: int(1, 1_000_000).default(1_000), // groups per window, dimension and partition before __other__
  AGGREGATOR_EMIT_INTERVAL_MS: int(100, 600_000).default(1_000), // commit (and publish updates) at most this often
  EMBEDDED_SYNC: z.enum(['normal', 'full']).default('normal'),

  ELASTICSEARCH_URL: z.url().optional(), // unset = embedded SQLite FTS5 index under the data dir
  ELASTICSEARCH_USERNAME: z.string().min(1).optional(),
  ELASTICSEARCH_PASSWORD: z.string().min(1).optional(),
  ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
  ELASTICSEARCH_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,200}$/, 'must be lowercase letters, digits, ".", "_" or "-"')
    .default('llm-inference'),
  RETENTION_DAYS: int(1, 36_500).default(30), // audit documents are deleted this many days after their day
  REDACTION_MODE: z.enum(REDACTION_MODES).optional(), // the config file's `redaction:` wins
  REDACTION_POLICY: z.enum(REDACTION_POLICIES).optional(), // index (default) | all: before anything is written; the file's `redaction.policy` wins
  ARCHIVE_URL: z.string().min(1).optional(), // unset = <DATA_DIR>/parquet; s3://bucket/prefix = S3
  S3_ENDPOINT: z.url().optional(), // S3-compatible servers (MinIO, S3Proxy…); unset = AWS
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(), // unset = the AWS SDK default credential chain
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  ROLLER_MAX_FILE_RECORDS: int(1, 10_000_000).default(250_000),
  ROLLER_MAX_FILE_BYTES: int(1024, 4 * 1024 * MIB).default(32 * MIB), // Avro bytes buffered per file (and per partition)
  ROLLER_IDLE_FLUSH_MS: int(0, 86_400_000).default(60_000), // quiet time before a finished hour's file is closed
  ROLLER_THREADS: int(1, 64).default(2), // worker threads that build and encode the files (partitions spread over them)
  DEDUPE_WINDOW_MS: int(60_000, 7 * 24 * 3_600_000).default(24 * 3_600_000), // ingested copies within 24 h of the first are dropped
  DEDUPE_MAX_IDS: int(1_000, 10_000_000).default(50_000), // ingested ids remembered per log partition, by the aggregator and the roller each (~92 bytes an id)
  ARCHIVE_RETENTION_DAYS: int(1, 36_500).optional(), // Parquet hours that ended longer ago are deleted; unset = kept for good
});

export type EnvSettings = z.infer<typeof envSchema>;

const fileSchema = z
  .object({
    upstreams: z.record(z.string(), upstreamFileSchema).optional(),
    prices: z.unknown().optional(),
    redaction: redactionFileSchema.optional(),
    alerts: alertsFileSchema.optional(),
    console: consoleFileSchema.optional(),
  })
  .strict();

export type AuditMode = 'best-effort' | 'strict';

export interface KafkaSettings {
  clientId: string;
  sasl: { mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain'; username: string; password: string } | null;
  tls: { caFile: string | null; certFile: string | null; keyFile: string | null } | null;
  compression: 'zstd' | 'lz4' | 'none';
  lingerMs: number;
  deliveryTimeoutMs: number;
  /** Largest record the producer sends (librdkafka's message.max.bytes; the topic's max.message.bytes must allow it). */
  maxRecordBytes: number;
  replicationFactor: number | null;
  /**
   * Kafka static membership (`group.instance.id`) of this process's consumer
   * groups: a restart under the same id takes its partitions back at once,
   * without a rebalance; null = dynamic membership.
   */
  groupInstanceId: string | null;
  /** How long the group waits for a silent member (a crash) before its partitions move. */
  sessionTimeoutMs: number;
}

/**
 * How long the first queued event waits for others before the gateway hands
 * a batch to the log. On Kafka each hand-off is a produce request the broker
 * pays for (on a shared 2-core machine, 20 ms instead of 2 ms took the broker
 * from ~10% to ~3% of a core at saturation: docs/benchmarks.md); the records
 * wait in the client's linger anyway. The embedded log keeps it short, for
 * the smallest loss window on a crash, and so does strict audit mode, where
 * every answer's last bytes wait for its event.
 */
function handoffLingerDefault(kafka: boolean, auditMode: 'best-effort' | 'strict'): number {
  return kafka && auditMode === 'best-effort' ? 20 : 2;
}

/**
 * Static membership needs an id that is stable across restarts and unique
 * per process. LLM_LOGGER_INSTANCE set explicitly is one (the Kubernetes
 * manifests set it to the pod name); the host-name default is not unique
 * (two roles started by hand on one machine would fence each other), so
 * `auto` leaves it off then. A static member's session timeout must outlast
 * a restart (a container restarted by Kubernetes: a few seconds; after a
 * second crash, its 10 s back-off) yet hand the partitions over soon when
 * the instance is really gone (its node lost): 20 s. A dynamic member cannot
 * reclaim anything by coming back, so a shorter timeout only helps: 15 s.
 */
function groupMembership(s: EnvSettings, env: NodeJS.ProcessEnv): Pick<KafkaSettings, 'groupInstanceId' | 'sessionTimeoutMs'> {
  const explicit = (env[`${ENV_PREFIX}INSTANCE`] ?? '') !== '';
  const isStatic = s.KAFKA_STATIC_MEMBERSHIP === 'on' || (s.KAFKA_STATIC_MEMBERSHIP === 'auto' && explicit);
  // Kafka refuses other group instance ids (as it does topic names), and would say so only at the first join.
  if (isStatic && s.KAFKA_BROKERS && !/^[A-Za-z0-9._-]{1,249}$/.test(s.INSTANCE)) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: ${ENV_PREFIX}INSTANCE=${JSON.stringify(s.INSTANCE)} is this process's Kafka group instance id ` +
        `(static membership, ${ENV_PREFIX}KAFKA_STATIC_MEMBERSHIP=${s.KAFKA_STATIC_MEMBERSHIP}): use letters, digits, ".", "_" and "-" (at most 249), ` +
        `or set ${ENV_PREFIX}KAFKA_STATIC_MEMBERSHIP=off`,
    );
  }
  return {
    groupInstanceId: isStatic ? s.INSTANCE : null,
    sessionTimeoutMs: s.KAFKA_SESSION_TIMEOUT_MS ?? (isStatic ? 20_000 : 15_000),
  };
}

function kafkaSettings(s: EnvSettings, env: NodeJS.ProcessEnv): KafkaSettings {
  let sasl: KafkaSettings['sasl'] = null;
  if (s.KAFKA_SASL_MECHANISM) {
    if (!s.KAFKA_SASL_USERNAME || !s.KAFKA_SASL_PASSWORD) {
      throw new LlmLoggerError(
        'CONFIG_INVALID',
        `invalid configuration: ${ENV_PREFIX}KAFKA_SASL_MECHANISM needs ${ENV_PREFIX}KAFKA_SASL_USERNAME and ${ENV_PREFIX}KAFKA_SASL_PASSWORD`,
      );
    }
    sasl = { mechanism: s.KAFKA_SASL_MECHANISM, username: s.KAFKA_SASL_USERNAME, password: s.KAFKA_SASL_PASSWORD };
  }
  if (s.KAFKA_TLS === 'false' && (s.KAFKA_TLS_CA_FILE || s.KAFKA_TLS_CERT_FILE || s.KAFKA_TLS_KEY_FILE)) {
    throw new LlmLoggerError('CONFIG_INVALID', `invalid configuration: TLS files are set but ${ENV_PREFIX}KAFKA_TLS is not true`);
  }
  if (Boolean(s.KAFKA_TLS_CERT_FILE) !== Boolean(s.KAFKA_TLS_KEY_FILE)) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: ${ENV_PREFIX}KAFKA_TLS_CERT_FILE and ${ENV_PREFIX}KAFKA_TLS_KEY_FILE go together (mTLS)`,
    );
  }
  return {
    clientId: s.KAFKA_CLIENT_ID,
    sasl,
    tls:
      s.KAFKA_TLS === 'true'
        ? { caFile: s.KAFKA_TLS_CA_FILE ?? null, certFile: s.KAFKA_TLS_CERT_FILE ?? null, keyFile: s.KAFKA_TLS_KEY_FILE ?? null }
        : null,
    compression: s.KAFKA_COMPRESSION,
    lingerMs: s.KAFKA_LINGER_MS,
    deliveryTimeoutMs: s.KAFKA_DELIVERY_TIMEOUT_MS,
    maxRecordBytes: s.KAFKA_MAX_RECORD_BYTES,
    replicationFactor: s.KAFKA_REPLICATION_FACTOR ?? null,
    ...groupMembership(s, env),
  };
}

export interface Config {
  dataDir: string;
  instance: string;
  logLevel: EnvSettings['LOG_LEVEL'];
  gateway: {
    host: string;
    port: number;
    auditMode: AuditMode;
    sampleRate: number;
    maxRequestBytes: number;
    captureMaxBytes: number;
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
    shutdownGraceMs: number;
    liveIntervalMs: number;
    upstreams: Map<string, Upstream>;
    /** Client authentication, ingest tokens, Azure allow-list, client timeouts and caps. */
    security: GatewaySecuritySettings;
  };
  console: { host: string; port: number; tokens: string[]; viewHours: number; alerts: AlertsConfig; access: ConsoleAccessSettings };
  metrics: { host: string; port: number };
  aggregator: { graceMs: number; idleCloseMs: number; maxKeys: number; emitIntervalMs: number };
  log: {
    kafkaBrokers: string[] | null;
    kafka: KafkaSettings;
    schemaRegistryUrl: string | null;
    schemaRegistryAuth: { username: string; password: string } | null;
    spoolMaxBytes: number;
    handoffQueueMax: number;
    handoffBatchMax: number;
    handoffLingerMs: number;
    embeddedSync: 'normal' | 'full';
  };
  index: {
    elasticsearch: { url: string; username: string | null; password: string | null; apiKey: string | null } | null;
    prefix: string;
    retentionDays: number;
    redactor: Redactor;
  };
  /**
   * Where redaction applies (`index`: the audit index only; `all`: before the
   * event is written), the redactor, and what a worker thread needs to build it again.
   */
  redaction: { policy: RedactionPolicy; redactor: Redactor; settings: RedactionSettings };
  /** Raw price overrides from the config file; validated by the pricing module. */
  priceOverrides: unknown;
  /** LLM_LOGGER_PRICES_FILE: price overrides in their own file (never together with the config file's `prices:`). */
  pricesFile: string | null;
  /** The config file read at start-up (its `prices:` are read again when prices are reloaded). */
  configFile: string | null;
  archive: ArchiveSettings;
  roller: { maxFileRecords: number; maxFileBytes: number; idleFlushMs: number; threads: number; retentionDays: number | null };
  /** Copies of ingested events (same event id) dropped by the aggregator and the roller. */
  dedupe: { windowMs: number; maxIds: number };
}

export type ArchiveSettings =
  | { kind: 'local'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      endpoint: string | null;
      region: string;
      forcePathStyle: boolean;
      credentials: { accessKeyId: string; secretAccessKey: string } | null;
    };

function archiveSettings(s: EnvSettings): ArchiveSettings {
  const url = s.ARCHIVE_URL;
  if (Boolean(s.S3_ACCESS_KEY_ID) !== Boolean(s.S3_SECRET_ACCESS_KEY)) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: ${ENV_PREFIX}S3_ACCESS_KEY_ID and ${ENV_PREFIX}S3_SECRET_ACCESS_KEY go together`,
    );
  }
  if (url === undefined) return { kind: 'local', dir: join(s.DATA_DIR, 'parquet') };
  if (!url.includes('://')) return { kind: 'local', dir: url };
  if (url.startsWith('file://')) return { kind: 'local', dir: fileURLToPath(url) };
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: ${ENV_PREFIX}ARCHIVE_URL=${JSON.stringify(url)}: must be a directory, file:///dir or s3://bucket[/prefix]`,
    );
  }
  return {
    kind: 's3',
    bucket: m[1]!,
    prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, ''),
    endpoint: s.S3_ENDPOINT ?? null,
    region: s.S3_REGION,
    forcePathStyle: s.S3_FORCE_PATH_STYLE === 'true',
    credentials:
      s.S3_ACCESS_KEY_ID && s.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: s.S3_ACCESS_KEY_ID, secretAccessKey: s.S3_SECRET_ACCESS_KEY }
        : null,
  };
}

function formatIssue(where: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  return `${where}${path ? `${where ? '.' : ''}${path}` : ''}: ${issue.message}`;
}

/** Values of these variables never appear in error messages. */
const SECRET_SUFFIX = /(TOKENS?|PASSWORD|SECRET|API_KEY)$/;

function parseEnv(env: NodeJS.ProcessEnv): EnvSettings {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[ENV_PREFIX + key];
    if (value !== undefined && value !== '') raw[key] = value.trim() === '' ? value : value.trim();
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const shown = SECRET_SUFFIX.test(key) ? '(value hidden)' : JSON.stringify(raw[key] ?? '');
      return `${ENV_PREFIX}${key}=${shown}: ${issue.message}`;
    });
    throw new LlmLoggerError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

function readConfigFile(path: string): z.infer<typeof fileSchema> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new LlmLoggerError('CONFIG_INVALID', `config file ${path}: cannot be read (${(cause as Error).message})`, {
      cause,
    });
  }
  let doc: unknown;
  try {
    // Loaded only when a config file is given (~70 modules a process without one does not need).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    doc = (require('yaml') as typeof Yaml).parse(text) ?? {};
  } catch (cause) {
    throw new LlmLoggerError('CONFIG_INVALID', `config file ${path}: not valid YAML (${(cause as Error).message})`, {
      cause,
    });
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => formatIssue('', issue));
    throw new LlmLoggerError('CONFIG_INVALID', `config file ${path}:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

/** Unknown `LLM_LOGGER_*` variables are refused: a typo must not be silently ignored. */
function checkUnknownVariables(env: NodeJS.ProcessEnv): void {
  const known = new Set(Object.keys(envSchema.shape));
  const unknown = Object.keys(env)
    .filter((k) => k.startsWith(ENV_PREFIX))
    .map((k) => k.slice(ENV_PREFIX.length))
    .filter((k) => !known.has(k) && !/^UPSTREAM_[A-Z0-9_]+_(URL|FORMAT|PROVIDER|API_KEY|USAGE_INJECTION)$/.test(k));
  if (unknown.length > 0) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: unknown variable ${unknown.map((k) => ENV_PREFIX + k).join(', ')}`,
    );
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, configPath?: string): Config {
  checkUnknownVariables(env);
  const settings = parseEnv(env);
  const filePath = configPath ?? settings.CONFIG;
  const file = filePath ? readConfigFile(filePath) : {};
  if (settings.PRICES_FILE && file.prices !== undefined) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: ${ENV_PREFIX}PRICES_FILE is set and config file ${filePath} has prices: too; keep the prices in one place`,
    );
  }
  const upstreams = buildUpstreams(file.upstreams ?? {}, env);
  if (settings.KAFKA_BROKERS && !settings.SCHEMA_REGISTRY_URL) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: ${ENV_PREFIX}KAFKA_BROKERS is set, so ${ENV_PREFIX}SCHEMA_REGISTRY_URL is required (events are Avro with registry ids)`,
    );
  }
  if (settings.ELASTICSEARCH_USERNAME && !settings.ELASTICSEARCH_PASSWORD) {
    throw new LlmLoggerError(
      'CONFIG_INVALID',
      `invalid configuration: ${ENV_PREFIX}ELASTICSEARCH_USERNAME needs ${ENV_PREFIX}ELASTICSEARCH_PASSWORD`,
    );
  }
  let redactor: Redactor;
  try {
    redactor = buildRedactor(file.redaction, settings.REDACTION_MODE);
  } catch (cause) {
    throw new LlmLoggerError('CONFIG_INVALID', `config file ${filePath}: ${(cause as Error).message}`, { cause });
  }
  const consoleTokens = (settings.CONSOLE_TOKEN ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const brokers = settings.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const kafkaBrokers = brokers && brokers.length > 0 ? brokers : null;
  return {
    dataDir: settings.DATA_DIR,
    instance: settings.INSTANCE,
    logLevel: settings.LOG_LEVEL,
    gateway: {
      host: settings.GATEWAY_HOST,
      port: settings.GATEWAY_PORT,
      auditMode: settings.AUDIT_MODE,
      sampleRate: settings.SAMPLE_RATE,
      maxRequestBytes: settings.MAX_REQUEST_BYTES,
      captureMaxBytes: settings.CAPTURE_MAX_BYTES,
      connectTimeoutMs: settings.UPSTREAM_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: settings.UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: settings.UPSTREAM_BODY_TIMEOUT_MS,
      shutdownGraceMs: settings.SHUTDOWN_GRACE_MS,
      liveIntervalMs: settings.GATEWAY_LIVE_INTERVAL_MS,
      upstreams,
      security: gatewaySecuritySettings(settings),
    },
    console: {
      host: settings.CONSOLE_HOST,
      port: settings.CONSOLE_PORT,
      tokens: consoleTokens,
      viewHours: settings.CONSOLE_VIEW_HOURS,
      alerts: file.alerts ?? defaultAlertsConfig(),
      access: buildConsoleAccess(consoleTokens, file.console, {
        sessionHours: settings.CONSOLE_SESSION_HOURS,
        allowedHosts: settings.CONSOLE_ALLOWED_HOSTS,
        cookieSecure: settings.CONSOLE_COOKIE_SECURE,
        metricsPort: settings.CONSOLE_METRICS_PORT,
      }),
    },
    metrics: { host: settings.METRICS_HOST, port: settings.METRICS_PORT },
    aggregator: {
      graceMs: settings.AGGREGATOR_GRACE_MS,
      idleCloseMs: settings.AGGREGATOR_IDLE_CLOSE_MS,
      maxKeys: settings.AGGREGATOR_MAX_KEYS,
      emitIntervalMs: settings.AGGREGATOR_EMIT_INTERVAL_MS,
    },
    log: {
      kafkaBrokers,
      kafka: kafkaSettings(settings, env),
      schemaRegistryUrl: settings.SCHEMA_REGISTRY_URL ?? null,
      schemaRegistryAuth:
        settings.SCHEMA_REGISTRY_USERNAME !== undefined
          ? { username: settings.SCHEMA_REGISTRY_USERNAME, password: settings.SCHEMA_REGISTRY_PASSWORD ?? '' }
          : null,
      spoolMaxBytes: settings.SPOOL_MAX_BYTES,
      handoffQueueMax: settings.HANDOFF_QUEUE_MAX,
      handoffBatchMax: settings.HANDOFF_BATCH_MAX,
      handoffLingerMs: settings.HANDOFF_LINGER_MS ?? handoffLingerDefault(kafkaBrokers !== null, settings.AUDIT_MODE),
      embeddedSync: settings.EMBEDDED_SYNC,
    },
    index: {
      elasticsearch: settings.ELASTICSEARCH_URL
        ? {
            url: settings.ELASTICSEARCH_URL,
            username: settings.ELASTICSEARCH_USERNAME ?? null,
            password: settings.ELASTICSEARCH_PASSWORD ?? null,
            apiKey: settings.ELASTICSEARCH_API_KEY ?? null,
          }
        : null,
      prefix: settings.ELASTICSEARCH_INDEX_PREFIX,
      retentionDays: settings.RETENTION_DAYS,
      redactor,
    },
    redaction: {
      policy: redactionPolicy(file.redaction, settings.REDACTION_POLICY),
      redactor,
      settings: { file: file.redaction, envMode: settings.REDACTION_MODE },
    },
    priceOverrides: file.prices,
    pricesFile: settings.PRICES_FILE ?? null,
    configFile: filePath ?? null,
    archive: archiveSettings(settings),
    roller: {
      maxFileRecords: settings.ROLLER_MAX_FILE_RECORDS,
      maxFileBytes: settings.ROLLER_MAX_FILE_BYTES,
      idleFlushMs: settings.ROLLER_IDLE_FLUSH_MS,
      threads: settings.ROLLER_THREADS,
      retentionDays: settings.ARCHIVE_RETENTION_DAYS ?? null,
    },
    dedupe: { windowMs: settings.DEDUPE_WINDOW_MS, maxIds: settings.DEDUPE_MAX_IDS },
  };
}

/** Names of every scalar variable, for docs and the README drift test. */
export function knownVariables(): string[] {
  return Object.keys(envSchema.shape).map((k) => ENV_PREFIX + k);
}
