import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLlmLoggerError } from '../errors';
import { knownVariables, loadConfig, type Config } from './config';
import { buildUpstreams } from './upstreams';

/** The error message of a refused configuration (and that it is CONFIG_INVALID). */
function refusal(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    if (!isLlmLoggerError(err, 'CONFIG_INVALID')) throw err;
    return err.message;
  }
  throw new Error('expected the configuration to be refused');
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(text: string): string {
  const path = join(dir, 'llm-logger.yaml');
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c: Config = loadConfig({});
    expect(c).toMatchObject({
      dataDir: './data',
      instance: hostname(),
      logLevel: 'info',
      gateway: {
        host: '127.0.0.1',
        port: 8080,
        auditMode: 'best-effort',
        sampleRate: 1,
        maxRequestBytes: 32 * 1024 * 1024,
        captureMaxBytes: 1024 * 1024,
        connectTimeoutMs: 10_000,
        headersTimeoutMs: 600_000,
        bodyTimeoutMs: 300_000,
        shutdownGraceMs: 30_000,
      },
      console: { host: '127.0.0.1', port: 3000 },
      log: {
        kafkaBrokers: null,
        schemaRegistryUrl: null,
        handoffQueueMax: 50_000,
        handoffBatchMax: 500,
        handoffLingerMs: 2,
        embeddedSync: 'normal',
      },
      priceOverrides: undefined,
    });
    expect([...c.gateway.upstreams.keys()].sort()).toEqual(['anthropic', 'azure', 'openai']);
  });

  it('ignores variables without the prefix and empty values', () => {
    const c = loadConfig({ PATH: '/usr/bin', HOME: '/root', LLM_LOGGER_GATEWAY_PORT: '' });
    expect(c.gateway.port).toBe(8080);
  });

  it('coerces and applies the variables it knows', () => {
    const c = loadConfig({
      LLM_LOGGER_DATA_DIR: '/var/lib/llm-logger',
      LLM_LOGGER_INSTANCE: 'gw-7',
      LLM_LOGGER_LOG_LEVEL: 'debug',
      LLM_LOGGER_GATEWAY_PORT: '9090',
      LLM_LOGGER_SAMPLE_RATE: '0.25',
      LLM_LOGGER_AUDIT_MODE: 'strict',
      LLM_LOGGER_KAFKA_BROKERS: 'k1:9092, k2:9092,',
      LLM_LOGGER_SCHEMA_REGISTRY_URL: 'http://registry:8081',
      LLM_LOGGER_EMBEDDED_SYNC: 'full',
      LLM_LOGGER_HANDOFF_LINGER_MS: '0',
    });
    expect(c).toMatchObject({
      dataDir: '/var/lib/llm-logger',
      instance: 'gw-7',
      logLevel: 'debug',
      gateway: { port: 9090, sampleRate: 0.25, auditMode: 'strict' },
      log: {
        kafkaBrokers: ['k1:9092', 'k2:9092'],
        schemaRegistryUrl: 'http://registry:8081',
        embeddedSync: 'full',
        handoffLingerMs: 0,
      },
    });
  });

  it('hands events to Kafka in fewer, larger batches than to the embedded log, unless strict or told otherwise', () => {
    expect(loadConfig({}).log.handoffLingerMs).toBe(2);
    const kafka = { LLM_LOGGER_KAFKA_BROKERS: 'k1:9092', LLM_LOGGER_SCHEMA_REGISTRY_URL: 'http://registry:8081' };
    expect(loadConfig(kafka).log.handoffLingerMs).toBe(20);
    expect(loadConfig({ ...kafka, LLM_LOGGER_AUDIT_MODE: 'strict' }).log.handoffLingerMs).toBe(2);
    expect(loadConfig({ ...kafka, LLM_LOGGER_HANDOFF_LINGER_MS: '5' }).log.handoffLingerMs).toBe(5);
  });

  it.each([
    ['LLM_LOGGER_GATEWAY_PORT', 'abc'],
    ['LLM_LOGGER_GATEWAY_PORT', '70000'],
    ['LLM_LOGGER_GATEWAY_PORT', '80.5'],
    ['LLM_LOGGER_SAMPLE_RATE', '2'],
    ['LLM_LOGGER_SAMPLE_RATE', '-0.1'],
    ['LLM_LOGGER_AUDIT_MODE', 'paranoid'],
    ['LLM_LOGGER_LOG_LEVEL', 'verbose'],
    ['LLM_LOGGER_SCHEMA_REGISTRY_URL', 'not a url'],
    ['LLM_LOGGER_HANDOFF_BATCH_MAX', '0'],
    ['LLM_LOGGER_CONSOLE_VIEW_HOURS', '0'],
    ['LLM_LOGGER_CONSOLE_VIEW_HOURS', '1e3'],
    ['LLM_LOGGER_CONSOLE_VIEW_HOURS', '9000'],
    ['LLM_LOGGER_DEDUPE_WINDOW_MS', '1000'],
    ['LLM_LOGGER_DEDUPE_WINDOW_MS', '1d'],
    ['LLM_LOGGER_DEDUPE_MAX_IDS', '0'],
  ])('refuses %s=%s, naming the variable and value', (name, value) => {
    const message = refusal(() => loadConfig({ [name]: value }));
    expect(message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  describe('Kafka group membership', () => {
    const kafka = { LLM_LOGGER_KAFKA_BROKERS: 'k1:9092', LLM_LOGGER_SCHEMA_REGISTRY_URL: 'http://registry:8081' };

    it('is static under LLM_LOGGER_INSTANCE when it is set, dynamic under the host name default', () => {
      expect(loadConfig(kafka).log.kafka).toMatchObject({ groupInstanceId: null, sessionTimeoutMs: 15_000 });
      expect(loadConfig({ ...kafka, LLM_LOGGER_INSTANCE: 'llm-logger-indexer-2' }).log.kafka).toMatchObject({
        groupInstanceId: 'llm-logger-indexer-2',
        sessionTimeoutMs: 20_000,
      });
      // An empty value is no value: the host name is not unique enough to be static by default.
      expect(loadConfig({ ...kafka, LLM_LOGGER_INSTANCE: '' }).log.kafka.groupInstanceId).toBeNull();
    });

    it('can be forced on (under the host name) or off, and the session timeout set', () => {
      expect(loadConfig({ ...kafka, LLM_LOGGER_KAFKA_STATIC_MEMBERSHIP: 'on' }).log.kafka.groupInstanceId).toBe(hostname());
      const off = loadConfig({ ...kafka, LLM_LOGGER_INSTANCE: 'a-1', LLM_LOGGER_KAFKA_STATIC_MEMBERSHIP: 'off' }).log.kafka;
      expect(off).toMatchObject({ groupInstanceId: null, sessionTimeoutMs: 15_000 });
      expect(loadConfig({ ...kafka, LLM_LOGGER_INSTANCE: 'a-1', LLM_LOGGER_KAFKA_SESSION_TIMEOUT_MS: '60000' }).log.kafka.sessionTimeoutMs).toBe(60_000);
    });

    it.each([
      ['LLM_LOGGER_KAFKA_STATIC_MEMBERSHIP', 'yes'],
      ['LLM_LOGGER_KAFKA_SESSION_TIMEOUT_MS', '5999'],
      ['LLM_LOGGER_KAFKA_SESSION_TIMEOUT_MS', '1800001'],
      ['LLM_LOGGER_KAFKA_SESSION_TIMEOUT_MS', '20s'],
    ])('refuses %s=%s, naming the variable and value', (name, value) => {
      expect(refusal(() => loadConfig({ ...kafka, [name]: value }))).toContain(`${name}=${JSON.stringify(value)}`);
    });

    it('refuses an instance id Kafka would refuse as a group instance id, unless static membership is off', () => {
      const message = refusal(() => loadConfig({ ...kafka, LLM_LOGGER_INSTANCE: 'pod 1/zone a' }));
      expect(message).toContain('LLM_LOGGER_INSTANCE="pod 1/zone a"');
      expect(message).toContain('LLM_LOGGER_KAFKA_STATIC_MEMBERSHIP=off');
      expect(loadConfig({ ...kafka, LLM_LOGGER_INSTANCE: 'pod 1/zone a', LLM_LOGGER_KAFKA_STATIC_MEMBERSHIP: 'off' }).instance).toBe('pod 1/zone a');
      // The embedded log has no groups to join.
      expect(loadConfig({ LLM_LOGGER_INSTANCE: 'pod 1/zone a' }).instance).toBe('pod 1/zone a');
    });
  });

  it('takes how long and how many ingested event ids are remembered to drop copies', () => {
    expect(loadConfig({}).dedupe).toEqual({ windowMs: 86_400_000, maxIds: 50_000 });
    expect(loadConfig({ LLM_LOGGER_DEDUPE_WINDOW_MS: '3600000', LLM_LOGGER_DEDUPE_MAX_IDS: '2000' }).dedupe).toEqual({ windowMs: 3_600_000, maxIds: 2_000 });
  });

  it('takes the console view window in hours, fractions allowed', () => {
    expect(loadConfig({}).console.viewHours).toBe(72);
    expect(loadConfig({ LLM_LOGGER_CONSOLE_VIEW_HOURS: '0.5' }).console.viewHours).toBe(0.5);
  });

  it('names every bad variable at once', () => {
    const message = refusal(() => loadConfig({ LLM_LOGGER_GATEWAY_PORT: 'abc', LLM_LOGGER_AUDIT_MODE: 'paranoid' }));
    expect(message).toContain('LLM_LOGGER_GATEWAY_PORT');
    expect(message).toContain('LLM_LOGGER_AUDIT_MODE');
  });

  it('refuses an unknown LLM_LOGGER_ variable', () => {
    const message = refusal(() => loadConfig({ LLM_LOGGER_FOO: '1' }));
    expect(message).toContain('LLM_LOGGER_FOO');
  });

  it('lists every scalar variable it knows', () => {
    const names = knownVariables();
    expect(names).toContain('LLM_LOGGER_GATEWAY_PORT');
    expect(names).toContain('LLM_LOGGER_SAMPLE_RATE');
    expect(names.every((n) => n.startsWith('LLM_LOGGER_'))).toBe(true);
  });

  it('reads console tokens as a list and never echoes a refused one', () => {
    const c = loadConfig({ LLM_LOGGER_CONSOLE_TOKEN: 'aaaaaaaaaaaaaaaa1, bbbbbbbbbbbbbbbb2' });
    expect(c.console.tokens).toEqual(['aaaaaaaaaaaaaaaa1', 'bbbbbbbbbbbbbbbb2']);
    expect(loadConfig({}).console.tokens).toEqual([]);
    const message = refusal(() => loadConfig({ LLM_LOGGER_CONSOLE_TOKEN: 'short-secret' }));
    expect(message).toContain('LLM_LOGGER_CONSOLE_TOKEN');
    expect(message).not.toContain('short-secret');
  });

  describe('upstreams from the environment', () => {
    it('adds an upstream declared by URL and FORMAT', () => {
      const c = loadConfig({
        LLM_LOGGER_UPSTREAM_MY_VLLM_URL: 'http://127.0.0.1:8000/prefix/',
        LLM_LOGGER_UPSTREAM_MY_VLLM_FORMAT: 'openai',
        LLM_LOGGER_UPSTREAM_MY_VLLM_API_KEY: 'sk-local',
      });
      expect(c.gateway.upstreams.get('my-vllm')).toEqual({
        name: 'my-vllm',
        baseUrl: 'http://127.0.0.1:8000/prefix',
        format: 'openai',
        provider: 'my-vllm',
        azure: false,
        apiKey: 'sk-local',
        usageInjection: 'auto',
      });
    });

    it('lets the environment override a built-in URL and provider', () => {
      const c = loadConfig({
        LLM_LOGGER_UPSTREAM_OPENAI_URL: 'http://127.0.0.1:9999',
        LLM_LOGGER_UPSTREAM_OPENAI_PROVIDER: 'openai-proxy',
      });
      expect(c.gateway.upstreams.get('openai')).toMatchObject({
        baseUrl: 'http://127.0.0.1:9999',
        provider: 'openai-proxy',
        format: 'openai',
      });
    });

    it('refuses an upstream without FORMAT, naming the variable', () => {
      const message = refusal(() => loadConfig({ LLM_LOGGER_UPSTREAM_X_URL: 'http://127.0.0.1:8000' }));
      expect(message).toContain('LLM_LOGGER_UPSTREAM_X_FORMAT');
    });

    it('refuses an upstream without URL, naming the variable', () => {
      const message = refusal(() => loadConfig({ LLM_LOGGER_UPSTREAM_X_FORMAT: 'openai' }));
      expect(message).toContain('LLM_LOGGER_UPSTREAM_X_URL');
    });

    it('refuses an unknown format', () => {
      const message = refusal(() =>
        loadConfig({ LLM_LOGGER_UPSTREAM_X_URL: 'http://127.0.0.1:8000', LLM_LOGGER_UPSTREAM_X_FORMAT: 'grpc' }),
      );
      expect(message).toContain('LLM_LOGGER_UPSTREAM_X_FORMAT');
    });

    it('refuses changing the format of a built-in', () => {
      const message = refusal(() => loadConfig({ LLM_LOGGER_UPSTREAM_OPENAI_FORMAT: 'anthropic' }));
      expect(message).toContain('LLM_LOGGER_UPSTREAM_OPENAI_FORMAT');
    });

    it.each(['ingest', 'healthz', 'metrics'])('refuses the reserved name %s', (name) => {
      const prefix = `LLM_LOGGER_UPSTREAM_${name.toUpperCase()}`;
      const message = refusal(() => loadConfig({ [`${prefix}_URL`]: 'http://127.0.0.1:1', [`${prefix}_FORMAT`]: 'openai' }));
      expect(message).toContain(`upstreams.${name}`);
      expect(message).toContain('reserved');
    });

    it.each([
      ['credentials', 'http://user:pass@127.0.0.1:8000'],
      ['a query', 'http://127.0.0.1:8000/?key=1'],
      ['another scheme', 'ftp://127.0.0.1/'],
      ['garbage', 'not a url'],
      ['the {resource} placeholder outside azure', 'https://{resource}.example.com'],
    ])('refuses a URL with %s, naming the variable', (_label, url) => {
      const message = refusal(() =>
        loadConfig({ LLM_LOGGER_UPSTREAM_X_URL: url, LLM_LOGGER_UPSTREAM_X_FORMAT: 'openai' }),
      );
      expect(message).toContain('LLM_LOGGER_UPSTREAM_X_URL');
    });

    it('does not leak a URL password into the error', () => {
      const message = refusal(() =>
        loadConfig({ LLM_LOGGER_UPSTREAM_X_URL: 'http://user:hunter2@h:1', LLM_LOGGER_UPSTREAM_X_FORMAT: 'openai' }),
      );
      expect(message).not.toContain('hunter2');
    });
  });

  describe('config file', () => {
    it('reads upstreams, apiKeyEnv and prices', () => {
      const path = configFile(`
upstreams:
  local-llm:
    url: http://127.0.0.1:11434
    format: openai
    provider: ollama
    apiKeyEnv: LOCAL_LLM_KEY
  claude-proxy:
    url: https://proxy.example.com/anthropic
    format: anthropic
prices:
  openai:
    gpt-x: { input: 1 }
`);
      const c = loadConfig({ LOCAL_LLM_KEY: 'sk-from-env' }, path);
      expect(c.gateway.upstreams.get('local-llm')).toEqual({
        name: 'local-llm',
        baseUrl: 'http://127.0.0.1:11434',
        format: 'openai',
        provider: 'ollama',
        azure: false,
        apiKey: 'sk-from-env',
        usageInjection: 'auto',
      });
      expect(c.gateway.upstreams.get('claude-proxy')).toMatchObject({
        baseUrl: 'https://proxy.example.com/anthropic',
        format: 'anthropic',
        provider: 'claude-proxy',
        apiKey: null,
      });
      expect(c.priceOverrides).toEqual({ openai: { 'gpt-x': { input: 1 } } });
    });

    it('takes prices from LLM_LOGGER_PRICES_FILE or from prices:, never both', () => {
      const withPrices = configFile('prices:\n  models: []\n');
      expect(loadConfig({ LLM_LOGGER_CONFIG: withPrices })).toMatchObject({ pricesFile: null, configFile: withPrices });
      expect(() => loadConfig({ LLM_LOGGER_CONFIG: withPrices, LLM_LOGGER_PRICES_FILE: '/etc/llm-logger/prices.yaml' })).toThrow(
        /LLM_LOGGER_PRICES_FILE is set and config file .* has prices: too/,
      );
      const without = configFile('upstreams: {}\n');
      expect(loadConfig({ LLM_LOGGER_CONFIG: without, LLM_LOGGER_PRICES_FILE: '/etc/llm-logger/prices.yaml' })).toMatchObject({
        pricesFile: '/etc/llm-logger/prices.yaml',
        configFile: without,
      });
    });

    it('is found through LLM_LOGGER_CONFIG', () => {
      const path = configFile('upstreams:\n  vllm:\n    url: http://127.0.0.1:8000\n    format: openai\n');
      expect(loadConfig({ LLM_LOGGER_CONFIG: path }).gateway.upstreams.has('vllm')).toBe(true);
    });

    it('lets the environment win over the file', () => {
      const path = configFile('upstreams:\n  vllm:\n    url: http://127.0.0.1:8000\n    format: openai\n');
      const c = loadConfig({ LLM_LOGGER_UPSTREAM_VLLM_URL: 'http://10.0.0.1:8000' }, path);
      expect(c.gateway.upstreams.get('vllm')?.baseUrl).toBe('http://10.0.0.1:8000');
    });

    it('accepts an empty file', () => {
      expect(loadConfig({}, configFile('')).gateway.upstreams.size).toBe(3);
    });

    it('refuses an apiKeyEnv naming an unset variable', () => {
      const path = configFile('upstreams:\n  vllm:\n    url: http://127.0.0.1:8000\n    format: openai\n    apiKeyEnv: MISSING_KEY\n');
      const message = refusal(() => loadConfig({}, path));
      expect(message).toContain('upstreams.vllm.apiKeyEnv');
      expect(message).toContain('MISSING_KEY');
    });

    it('refuses bad YAML, naming the file', () => {
      const path = configFile('upstreams:\n  vllm: [unclosed\n');
      const message = refusal(() => loadConfig({}, path));
      expect(message).toContain(path);
      expect(message).toContain('YAML');
    });

    it('refuses an unknown top-level key, naming the file and key', () => {
      const path = configFile('upstream:\n  vllm: {}\n');
      const message = refusal(() => loadConfig({}, path));
      expect(message).toContain(path);
      expect(message).toContain('upstream');
    });

    it('refuses an unknown key in an upstream, naming the file, upstream and key', () => {
      const path = configFile('upstreams:\n  vllm:\n    url: http://127.0.0.1:8000\n    format: openai\n    apikey: oops\n');
      const message = refusal(() => loadConfig({}, path));
      expect(message).toContain(path);
      expect(message).toContain('upstreams.vllm');
      expect(message).toContain('apikey');
    });

    it('refuses a bad value, naming its path', () => {
      const path = configFile('upstreams:\n  vllm:\n    url: http://127.0.0.1:8000\n    format: grpc\n');
      const message = refusal(() => loadConfig({}, path));
      expect(message).toContain(path);
      expect(message).toContain('upstreams.vllm.format');
    });

    it('reads alert rules with their defaults and names a bad rule key', () => {
      const ok = loadConfig({}, configFile('alerts:\n  rules:\n    - { name: silence, kind: no_traffic, minutes: 5 }\n'));
      expect(ok.console.alerts).toMatchObject({ evaluateEverySeconds: 15, cooldownMinutes: 10, webhooks: [], rules: [{ name: 'silence', kind: 'no_traffic', minutes: 5 }] });
      const path = configFile('alerts:\n  rules:\n    - { name: slow, kind: latency, percentile: p95, aboveMs: -1 }\n');
      expect(refusal(() => loadConfig({}, path))).toContain('alerts.rules.0.aboveMs');
      const hook = configFile('alerts:\n  webhooks:\n    - { url: not-a-url }\n');
      expect(refusal(() => loadConfig({}, hook))).toContain('alerts.webhooks.0.url');
    });

    it('refuses a file that cannot be read, naming it', () => {
      const path = join(dir, 'missing.yaml');
      expect(refusal(() => loadConfig({}, path))).toContain(path);
    });
  });
});

describe('buildUpstreams', () => {
  it('keeps the azure placeholder and marks the route as azure', () => {
    expect(buildUpstreams({}, {}).get('azure')).toEqual({
      name: 'azure',
      baseUrl: 'https://{resource}.openai.azure.com',
      format: 'openai',
      provider: 'azure',
      azure: true,
      apiKey: null,
      usageInjection: 'auto',
    });
  });

  it('takes the usage injection mode from the file or LLM_LOGGER_UPSTREAM_<NAME>_USAGE_INJECTION, refusing others by name', () => {
    const upstreams = buildUpstreams(
      { vllm: { url: 'http://127.0.0.1:8000', format: 'openai', usageInjection: 'never' }, tgi: { url: 'http://127.0.0.1:8001', format: 'openai' } },
      { LLM_LOGGER_UPSTREAM_TGI_USAGE_INJECTION: 'always' },
    );
    expect(upstreams.get('vllm')?.usageInjection).toBe('never');
    expect(upstreams.get('tgi')?.usageInjection).toBe('always');
    expect(upstreams.get('openai')?.usageInjection).toBe('auto');
    expect(() => buildUpstreams({}, { LLM_LOGGER_UPSTREAM_OPENAI_USAGE_INJECTION: 'sometimes' })).toThrow(
      'invalid configuration: LLM_LOGGER_UPSTREAM_OPENAI_USAGE_INJECTION: must be auto, always, never, got "sometimes"',
    );
    expect(loadConfig({ LLM_LOGGER_UPSTREAM_OPENAI_USAGE_INJECTION: 'never' }).gateway.upstreams.get('openai')?.usageInjection).toBe('never');
  });

  it('refuses a file upstream with a bad name', () => {
    expect(refusal(() => buildUpstreams({ My_LLM: { url: 'http://h:1', format: 'openai' } }, {}))).toContain(
      'upstreams.My_LLM',
    );
  });
});
