import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './processes';

/**
 * Where the local infrastructure (`npm run infra:up`) is. Suites that need it
 * are skipped when it is not configured, unless REQUIRE_INFRA=1 (as in CI),
 * where they fail instead.
 */
export interface InfraSettings {
  brokers: string;
  registryUrl: string;
}

/** The process environment, completed by what `npm run infra:up` wrote to infra/dev/.run/env. */
function infraEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  const file = join(REPO_ROOT, 'infra', 'dev', '.run', 'env');
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m && env[m[1]!] === undefined) env[m[1]!] = m[2];
    }
  }
  return env;
}

export function infraSettings(): InfraSettings | null {
  const env = infraEnv();
  const brokers = env.LLM_LOGGER_KAFKA_BROKERS;
  const registryUrl = env.LLM_LOGGER_SCHEMA_REGISTRY_URL;
  return brokers && registryUrl ? { brokers, registryUrl } : null;
}

export const infraRequired = process.env.REQUIRE_INFRA === '1';

function reachable(hostPort: string, timeoutMs = 2_000): Promise<boolean> {
  const [host, port] = hostPort.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port), timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * `describe` for suites that need Kafka and the registry: they run when the
 * infrastructure is configured, fail when it is required but unreachable, and
 * are skipped otherwise.
 */
function kafkaClientInstalled(): boolean {
  try {
    require.resolve('@confluentinc/kafka-javascript');
    return true;
  } catch {
    return false;
  }
}

export function describeWithInfra(name: string, fn: (settings: () => InfraSettings) => void): void {
  const settings = infraSettings();
  const client = kafkaClientInstalled();
  if ((!settings || !client) && !infraRequired) {
    const why = settings ? 'the Kafka client is not installed: CKJS_LINKING=dynamic npm ci' : 'no local infrastructure: npm run infra:up';
    describe.skip(`${name} (${why})`, () => fn(() => settings!));
    return;
  }
  describe(name, () => {
    beforeAll(async () => {
      if (!client) throw new Error('REQUIRE_INFRA=1 but @confluentinc/kafka-javascript is not installed: CKJS_LINKING=dynamic npm ci');
      if (!settings) throw new Error('REQUIRE_INFRA=1 but no Kafka configured: run npm run infra:up');
      const broker = settings.brokers.split(',')[0]!;
      if (!(await reachable(broker))) throw new Error(`REQUIRE_INFRA: Kafka at ${broker} is unreachable`);
      const registry = new URL(settings.registryUrl);
      if (!(await reachable(`${registry.hostname}:${registry.port || 80}`))) {
        throw new Error(`REQUIRE_INFRA: schema registry at ${settings.registryUrl} is unreachable`);
      }
    });
    fn(() => settings!);
  });
}

/** The S3-compatible server of the dev stack (S3Proxy), for the roller's S3 tests. */
export interface S3Settings {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function s3Settings(): S3Settings | null {
  const env = infraEnv();
  const { TEST_S3_ENDPOINT: endpoint, TEST_S3_BUCKET: bucket, TEST_S3_ACCESS_KEY_ID: accessKeyId, TEST_S3_SECRET_ACCESS_KEY: secretAccessKey } = env;
  return endpoint && bucket && accessKeyId && secretAccessKey ? { endpoint, bucket, accessKeyId, secretAccessKey } : null;
}

/** `describe` for suites that need the S3 server: skipped when not configured, failing when REQUIRE_INFRA=1. */
export function describeWithS3(name: string, fn: (settings: () => S3Settings) => void): void {
  const settings = s3Settings();
  if (!settings && !infraRequired) {
    describe.skip(`${name} (no S3 server: npm run infra:up)`, () => fn(() => settings!));
    return;
  }
  describe(name, () => {
    beforeAll(async () => {
      if (!settings) throw new Error('REQUIRE_INFRA=1 but no S3 server configured: run npm run infra:up');
      const url = new URL(settings.endpoint);
      if (!(await reachable(`${url.hostname}:${url.port || 80}`))) throw new Error(`REQUIRE_INFRA: S3 server at ${settings.endpoint} is unreachable`);
    });
    fn(() => settings!);
  });
}
