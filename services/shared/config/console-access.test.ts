import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLlmLoggerError } from '../errors';
import { loadConfig } from './config';
import { tokenDigest } from './console-access';

/** The `console:` key of the config file and the console access variables. */

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
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-console-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function withFile(text: string, env: Record<string, string> = {}): ReturnType<typeof loadConfig> {
  const path = join(dir, 'llm-logger.yaml');
  writeFileSync(path, text);
  return loadConfig({ LLM_LOGGER_CONFIG: path, ...env });
}

const ALICE = 'alice-token-0123456789abcdef';

test('without a console key or token there is no access control, and the defaults hold', () => {
  const a = loadConfig({}).console.access;
  expect(a).toEqual({ credentials: [], sso: null, sessionMs: 12 * 3_600_000, allowedHosts: [], cookieSecure: 'auto', metricsPort: null });
});

test('LLM_LOGGER_CONSOLE_TOKEN tokens are admins, kept as digests and named by a digest prefix', () => {
  const a = loadConfig({ LLM_LOGGER_CONSOLE_TOKEN: ALICE }).console.access;
  const digest = tokenDigest(ALICE);
  expect(a.credentials).toEqual([{ name: `token:${digest.slice(0, 8)}`, role: 'admin', digest }]);
  expect(JSON.stringify(a)).not.toContain(ALICE);
});

test('file tokens carry a name and a role; the same token set in both places takes the file role', () => {
  const digest = tokenDigest(ALICE);
  const c = withFile(`console:\n  tokens:\n    - { name: alice, role: auditor, sha256: ${digest.toUpperCase()} }\n`, { LLM_LOGGER_CONSOLE_TOKEN: ALICE });
  expect(c.console.access.credentials).toEqual([{ name: 'alice', role: 'auditor', digest }]);
});

test('a file token that is not a SHA-256 digest is refused naming its key', () => {
  const message = refusal(() => withFile('console:\n  tokens:\n    - { name: alice, role: auditor, sha256: not-a-digest }\n'));
  expect(message).toContain('console.tokens.0.sha256');
  expect(message).toContain('sha256sum');
});

test('an unknown role is refused naming its key', () => {
  expect(refusal(() => withFile(`console:\n  tokens:\n    - { name: bob, role: owner, sha256: ${tokenDigest('x'.repeat(20))} }\n`))).toContain('console.tokens.0.role');
});

test('the same digest twice is refused', () => {
  const d = tokenDigest(ALICE);
  expect(refusal(() => withFile(`console:\n  tokens:\n    - { name: a, role: viewer, sha256: ${d} }\n    - { name: b, role: admin, sha256: ${d} }\n`))).toContain(
    'console.tokens.1.sha256: the same token is listed twice',
  );
});

test('SSO needs trusted proxy addresses; bad ones are refused naming the entry', () => {
  expect(refusal(() => withFile('console:\n  sso:\n    groups: { ops: admin }\n'))).toContain('console.sso.trustedProxies');
  expect(refusal(() => withFile('console:\n  sso:\n    trustedProxies: []\n'))).toContain('console.sso.trustedProxies');
  expect(refusal(() => withFile('console:\n  sso:\n    trustedProxies: [10.0.0.0/33]\n'))).toContain('console.sso.trustedProxies.0');
  expect(refusal(() => withFile('console:\n  sso:\n    trustedProxies: [proxy.local]\n'))).toContain('console.sso.trustedProxies.0');
});

test('SSO settings default to oauth2-proxy header names, lower-cased', () => {
  const c = withFile('console:\n  sso:\n    trustedProxies: [127.0.0.1, "fd00::/8"]\n    groupsHeader: X-Auth-Request-Groups\n    groups: { ops: admin }\n');
  expect(c.console.access.sso).toEqual({
    trustedProxies: ['127.0.0.1', 'fd00::/8'],
    userHeader: 'x-forwarded-user',
    emailHeader: 'x-forwarded-email',
    groupsHeader: 'x-auth-request-groups',
    groups: { ops: 'admin' },
    defaultRole: null,
  });
});

test('session hours, allowed hosts, cookie mode and metrics port are read and checked', () => {
  const a = loadConfig({
    LLM_LOGGER_CONSOLE_SESSION_HOURS: '0.5',
    LLM_LOGGER_CONSOLE_ALLOWED_HOSTS: 'Console.Example.com, llm.internal',
    LLM_LOGGER_CONSOLE_COOKIE_SECURE: 'always',
    LLM_LOGGER_CONSOLE_METRICS_PORT: '9464',
  }).console.access;
  expect(a).toMatchObject({ sessionMs: 1_800_000, allowedHosts: ['console.example.com', 'llm.internal'], cookieSecure: 'always', metricsPort: 9464 });
  expect(refusal(() => loadConfig({ LLM_LOGGER_CONSOLE_ALLOWED_HOSTS: 'console.example.com:3000' }))).toContain('LLM_LOGGER_CONSOLE_ALLOWED_HOSTS');
  expect(refusal(() => loadConfig({ LLM_LOGGER_CONSOLE_SESSION_HOURS: '0' }))).toContain('LLM_LOGGER_CONSOLE_SESSION_HOURS');
  expect(refusal(() => loadConfig({ LLM_LOGGER_CONSOLE_COOKIE_SECURE: 'yes' }))).toContain('LLM_LOGGER_CONSOLE_COOKIE_SECURE');
});
