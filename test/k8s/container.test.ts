import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { COMMANDS } from '../../services/cli/main';
import { loadConfig } from '../../services/shared/config/config';
import { REPO_ROOT } from '../support/processes';
import { PENDING_VARIABLES } from './pending';

/**
 * There is no container engine here, so the Dockerfile and docker-compose.yml
 * cannot be built or started in the tests: these check their structure
 * against the code instead (stages, user, install command, entrypoint,
 * healthcheck; commands, variables and ports of every service).
 */

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with line continuations joined and comments dropped. */
function dockerfile(): Instruction[] {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of each stage, by stage name. */
function stages(instructions: Instruction[]): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] = [];
  for (const i of instructions) {
    if (i.keyword === 'FROM') {
      const name = /\sAS\s+(\S+)$/i.exec(i.args)?.[1];
      if (!name) throw new Error(`FROM without a stage name: ${i.args}`);
      current = [i];
      out.set(name, current);
    } else current.push(i);
  }
  return out;
}

describe('Dockerfile', () => {
  const all = dockerfile();
  const byStage = stages(all);
  const runtime = [...byStage.values()].at(-1)!;

  test('multi-stage: the runtime is a slim image without the toolchain', () => {
    expect(byStage.size).toBeGreaterThanOrEqual(3);
    expect(runtime[0]!.args).toMatch(/-slim AS runtime$/);
    const runtimeInstalls = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args).join(' ');
    expect(runtimeInstalls).not.toMatch(/build-essential|-dev\b/);
    expect(runtime.filter((i) => i.keyword === 'COPY').every((i) => i.args.startsWith('--from=') || !/node_modules|dist/.test(i.args))).toBe(true);
  });

  test('production dependencies with npm ci --omit=dev; librdkafka linked dynamically with zstd and SASL', () => {
    const runs = all.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toContain('npm ci --omit=dev');
    expect(all.some((i) => i.keyword === 'ENV' && i.args.includes('CKJS_LINKING=dynamic'))).toBe(true);
    for (const pkg of ['libssl-dev', 'libzstd-dev', 'libsasl2-dev']) expect(runs).toContain(pkg);
    expect(runs).toMatch(/k\.features\.includes/); // fails the build when a codec is missing
    // The runtime stage loads both addons, so a missing shared library fails the build, not the first start.
    const runtimeRuns = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runtimeRuns).toContain("require('@confluentinc/kafka-javascript')");
    expect(runtimeRuns).toContain("require('better-sqlite3')");
  });

  test('runs as a non-root user, with the CLI as entrypoint and a healthcheck on /healthz', () => {
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    const entrypoint = JSON.parse(runtime.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
    expect(entrypoint.at(-1)).toBe('bin/llm-logger.js');
    const cmd = JSON.parse(runtime.find((i) => i.keyword === 'CMD')!.args) as string[];
    expect(COMMANDS[cmd[0]!]?.run).toBeDefined();
    const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')!.args;
    expect(healthcheck).toContain('/healthz');
    for (const port of ['8080', '3000', '9464']) {
      expect(healthcheck).toContain(port);
      expect(runtime.find((i) => i.keyword === 'EXPOSE')!.args.split(' ')).toContain(port);
    }
  });

  test('the image carries the dashboard: the build stage runs the Vite build and the runtime checks its output', () => {
    const build = byStage.get('build')!.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['build:web']).toMatch(/^vite build /);
    expect(build).toContain('npm run build:web');
    expect(build).toContain('test -f dist/web/index.html');
    const runtimeRuns = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runtimeRuns).toContain('test -f dist/web/index.html');
    // The console finds it where the runtime stage copies dist/ (dist/web beside dist/services).
    expect(runtime.some((i) => i.keyword === 'COPY' && i.args === '--from=build /app/dist dist')).toBe(true);
  });

  test('native addons are always built from source, and the build checks it got the source-built librdkafka', () => {
    const env = all.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain('npm_config_build_from_source=true');
    const runs = all.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toContain('npm rebuild --build-from-source better-sqlite3 @confluentinc/kafka-javascript');
    expect(runs).toContain('test -f node_modules/@confluentinc/kafka-javascript/build/deps/librdkafka.so.1');
    expect(runs).toMatch(/ldd \S+librdkafka\.so\.1 \| grep -q libzstd/);
  });

  test('Node 22 LTS in the image, a version the engines of package.json accept', () => {
    const arg = all.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_VERSION='))!.args;
    expect(arg).toBe('NODE_VERSION=22');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const [, major] = /^>=(\d+)\.\d+\.\d+$/.exec(pkg.engines.node)!;
    expect(Number(major)).toBeLessThanOrEqual(22);
  });

  test('the build context leaves out local state and secrets', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', 'data', '.cache', '.env']) expect(ignored).toContain(entry);
  });
});

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.yml', () => {
  const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const ours = Object.entries(compose.services).filter(([, s]) => s.image === 'llm-logger:local');

  test('every role runs as its own service, from the one image, hardened', () => {
    const roles = ours.filter(([, s]) => s.command).map(([name, s]) => [name, s.command![0]]);
    expect(roles).toEqual([
      ['gateway', 'gateway'],
      ['aggregator', 'aggregator'],
      ['indexer', 'indexer'],
      ['roller', 'roller'],
      ['console', 'console'],
    ]);
    for (const [, s] of ours) {
      expect(s.user).toBe('1000:1000');
      expect(s.read_only).toBe(true);
      expect(s.cap_drop).toEqual(['ALL']);
    }
  });

  test('commands exist in the CLI, also in the one-shot topology service', () => {
    for (const [, s] of ours.filter(([name]) => name !== 's3-bucket')) {
      const commands = s.command ? [s.command[0]!] : [...(s.entrypoint ?? []).join(' ').matchAll(/llm-logger\.js (\S+)/g)].map((m) => m[1]!);
      expect(commands.length).toBeGreaterThan(0);
      for (const c of commands) expect(COMMANDS[c]).toBeDefined();
    }
  });

  test('every LLM_LOGGER_* variable is one the config accepts, with a value it accepts', () => {
    const pending = new Set(PENDING_VARIABLES);
    for (const [name, s] of ours) {
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {})
          .filter(([k]) => !pending.has(k))
          // Compose substitutes ${VAR:-} from the shell; `:?` ones must be set by the user.
          .map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1').replace(/\$\{[A-Z_]+:\?[^}]*\}/g, 'set-by-the-user-in-env')]),
      );
      expect({ name, error: (() => { try { loadConfig(env); return null; } catch (e) { return (e as Error).message; } })() }).toEqual({ name, error: null });
    }
  });

  test('the gateway and console listen on all interfaces and publish their ports to loopback only', () => {
    const gateway = compose.services.gateway!;
    const console = compose.services.console!;
    expect(gateway.environment?.LLM_LOGGER_GATEWAY_HOST).toBe('0.0.0.0');
    expect(console.environment?.LLM_LOGGER_CONSOLE_HOST).toBe('0.0.0.0');
    expect(gateway.ports).toEqual([`127.0.0.1:8080:${gateway.environment?.LLM_LOGGER_GATEWAY_PORT}`]);
    expect(console.ports).toEqual([`127.0.0.1:3000:${console.environment?.LLM_LOGGER_CONSOLE_PORT}`]);
    for (const s of Object.values(compose.services)) for (const p of s.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  test('every image is pinned to a version', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.image === 'llm-logger:local') continue;
      expect({ name, image: s.image }).toEqual({ name, image: expect.stringMatching(/^[\w./-]+:(?!latest$)[\w.-]+$/) });
    }
  });

  test('the archive bucket is created before the roller starts, and the console searches the indexer\'s Elasticsearch', () => {
    const bucket = compose.services['s3-bucket']!;
    const roller = compose.services.roller!;
    const archive = new URL(roller.environment!.LLM_LOGGER_ARCHIVE_URL!);
    expect(bucket.entrypoint!.join(' ')).toContain(`${roller.environment!.LLM_LOGGER_S3_ENDPOINT}/${archive.hostname}`);
    expect(roller.depends_on?.['s3-bucket']?.condition).toBe('service_completed_successfully');
    const console = compose.services.console!;
    expect(console.environment!.LLM_LOGGER_ELASTICSEARCH_URL).toBe(compose.services.indexer!.environment!.LLM_LOGGER_ELASTICSEARCH_URL);
    expect(console.depends_on?.elasticsearch?.condition).toBe('service_healthy');
  });

  test('roles start after the topics and schemas exist, and reach Kafka and the registry by service name', () => {
    for (const [name, s] of ours.filter(([, s]) => s.command)) {
      expect({ name, topology: s.depends_on?.topology?.condition }).toEqual({ name, topology: 'service_completed_successfully' });
      const brokers = s.environment!.LLM_LOGGER_KAFKA_BROKERS!.split(':')[0]!;
      const registry = new URL(s.environment!.LLM_LOGGER_SCHEMA_REGISTRY_URL!).hostname;
      expect(compose.services[brokers]).toBeDefined();
      expect(compose.services[registry]).toBeDefined();
    }
  });
});
