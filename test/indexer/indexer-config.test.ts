import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../services/shared/config/config';
import { redactText } from '../../services/shared/redaction/redact-text';

/** The indexer's settings: defaults, the config file's `redaction:`, and bad values named. */

const dir = mkdtempSync(join(tmpdir(), 'llm-logger-indexer-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function withFile(yaml: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

test('defaults: embedded index, 30 days, built-ins masking', () => {
  const c = loadConfig({});
  expect(c.index).toMatchObject({ elasticsearch: null, prefix: 'llm-inference', retentionDays: 30 });
  expect(c.index.redactor.rules.map((r) => `${r.name}:${r.action}`)).toEqual(['secret:mask', 'email:mask', 'iban:mask', 'ssn:mask', 'card:mask', 'phone:mask']);
  expect(c.redaction.policy).toBe('index');
  expect(c.redaction.redactor).toBe(c.index.redactor);
});

test('the redaction policy comes from the environment, and the config file wins', () => {
  expect(loadConfig({ LLM_LOGGER_REDACTION_POLICY: 'all' }).redaction.policy).toBe('all');
  const file = withFile('redaction:\n  policy: index\n');
  expect(loadConfig({ LLM_LOGGER_REDACTION_POLICY: 'all' }, file).redaction.policy).toBe('index');
  expect(loadConfig({}, withFile('redaction:\n  policy: all\n')).redaction.policy).toBe('all');
});

test('Elasticsearch settings and the redaction mode come from the environment', () => {
  const c = loadConfig({
    LLM_LOGGER_ELASTICSEARCH_URL: 'http://127.0.0.1:9200',
    LLM_LOGGER_ELASTICSEARCH_API_KEY: 'a2V5',
    LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: 'audit',
    LLM_LOGGER_RETENTION_DAYS: '7',
    LLM_LOGGER_REDACTION_MODE: 'metadata-only',
  });
  expect(c.index).toMatchObject({ elasticsearch: { url: 'http://127.0.0.1:9200', apiKey: 'a2V5' }, prefix: 'audit', retentionDays: 7 });
  expect(c.index.redactor.indexText).toBe(false);
});

test('the config file redaction section wins over the mode variable', () => {
  const file = withFile("redaction:\n  mode: hash\n  hashSalt: s\n  builtins: { phone: off }\n  rules:\n    - { name: emp, pattern: 'EMP-\\d+' }\n");
  const c = loadConfig({ LLM_LOGGER_REDACTION_MODE: 'off' }, file);
  expect(c.index.redactor.rules.map((r) => `${r.name}:${r.action}`)).toEqual(['emp:mask', 'secret:hash', 'email:hash', 'iban:hash', 'ssn:hash', 'card:hash']);
  expect(redactText('EMP-77 at a@b.io', c.index.redactor).text).toMatch(/^\[REDACTED:emp\] at \[email:[0-9a-f]{16}\]$/);
});

test.each([
  [{ LLM_LOGGER_ELASTICSEARCH_URL: 'not a url' }, 'LLM_LOGGER_ELASTICSEARCH_URL'],
  [{ LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: 'Upper' }, 'LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX'],
  [{ LLM_LOGGER_RETENTION_DAYS: '0' }, 'LLM_LOGGER_RETENTION_DAYS'],
  [{ LLM_LOGGER_REDACTION_MODE: 'blur' }, 'LLM_LOGGER_REDACTION_MODE'],
  [{ LLM_LOGGER_REDACTION_POLICY: 'everywhere' }, 'LLM_LOGGER_REDACTION_POLICY'],
  [{ LLM_LOGGER_ELASTICSEARCH_USERNAME: 'elastic' }, 'LLM_LOGGER_ELASTICSEARCH_PASSWORD'],
])('bad setting %j is refused naming %s', (env, named) => {
  expect(() => loadConfig(env)).toThrow(named);
});

test.each([
  ["redaction:\n  rules:\n    - { name: x, pattern: '(' }\n", 'redaction.rules.0.pattern'],
  ['redaction:\n  builtins: { email: blur }\n', 'redaction.builtins.email'],
  ['redaction:\n  colour: red\n', 'colour'],
  ['redaction:\n  policy: everywhere\n', 'redaction.policy'],
  ["redaction:\n  rules:\n    - { name: x, pattern: '(\\w+\\s?)*$' }\n", 'redaction.rules.0.pattern'],
])('a bad redaction section is refused naming the key', (yaml, named) => {
  const file = withFile(yaml);
  expect(() => loadConfig({}, file)).toThrow(named);
  expect(() => loadConfig({}, file)).toThrow(file);
});
