import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LlmLoggerError } from '../errors';
import { buildUpstreams, upstreamFileSchema, type Upstream } from './upstreams';

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

/**
 * Every scalar setting, by the suffix of its `LLM_LOGGER_` variable. The
 * README's configuration table lists the same names (a test keeps them in step).
 */
const envSchema = z.object({
  CONFIG: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  INSTANCE: z.string().min(1).default(hostname()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: int(0, 65535).default(8080),
  CONSOLE_HOST: z.string().min(1).default('127.0.0.1'),
  CONSOLE_PORT: int(0, 65535).default(3000),

  KAFKA_BROKERS: z.string().min(1).optional(),
  SCHEMA_REGISTRY_URL: z.url().optional(),

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

  HANDOFF_QUEUE_MAX: int(1, 10_000_000).default(50_000), // events waiting for the log
  HANDOFF_BATCH_MAX: int(1, 100_000).default(500),
  HANDOFF_LINGER_MS: int(0, 10_000).default(2),
  EMBEDDED_SYNC: z.enum(['normal', 'full']).default('normal'),
});

export type EnvSettings = z.infer<typeof envSchema>;

const fileSchema = z
  .object({
    upstreams: z.record(z.string(), upstreamFileSchema).optional(),
    prices: z.unknown().optional(),
  })
  .strict();

export type AuditMode = 'best-effort' | 'strict';

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
    upstreams: Map<string, Upstream>;
  };
  console: { host: string; port: number };
  log: {
    kafkaBrokers: string[] | null;
    schemaRegistryUrl: string | null;
    handoffQueueMax: number;
    handoffBatchMax: number;
    handoffLingerMs: number;
    embeddedSync: 'normal' | 'full';
  };
  /** Raw price overrides from the config file; validated by the pricing module. */
  priceOverrides: unknown;
}

function formatIssue(where: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  return `${where}${path ? `${where ? '.' : ''}${path}` : ''}: ${issue.message}`;
}

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
      return `${ENV_PREFIX}${key}=${JSON.stringify(raw[key] ?? '')}: ${issue.message}`;
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
    doc = parseYaml(text) ?? {};
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
    .filter((k) => !known.has(k) && !/^UPSTREAM_[A-Z0-9_]+_(URL|FORMAT|PROVIDER|API_KEY)$/.test(k));
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
  const upstreams = buildUpstreams(file.upstreams ?? {}, env);
  const brokers = settings.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
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
      upstreams,
    },
    console: { host: settings.CONSOLE_HOST, port: settings.CONSOLE_PORT },
    log: {
      kafkaBrokers: brokers && brokers.length > 0 ? brokers : null,
      schemaRegistryUrl: settings.SCHEMA_REGISTRY_URL ?? null,
      handoffQueueMax: settings.HANDOFF_QUEUE_MAX,
      handoffBatchMax: settings.HANDOFF_BATCH_MAX,
      handoffLingerMs: settings.HANDOFF_LINGER_MS,
      embeddedSync: settings.EMBEDDED_SYNC,
    },
    priceOverrides: file.prices,
  };
}

/** Names of every scalar variable, for docs and the README drift test. */
export function knownVariables(): string[] {
  return Object.keys(envSchema.shape).map((k) => ENV_PREFIX + k);
}
