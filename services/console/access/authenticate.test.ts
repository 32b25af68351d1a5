import type { IncomingHttpHeaders } from 'node:http';
import { buildConsoleAccess, tokenDigest, type ConsoleFileSettings } from '../../shared/config/console-access';
import { ConsoleAuthenticator, CredentialTable, type Presented } from './authenticate';
import { highestRole, permissionsOf, roleAtLeast } from './roles';
import { SessionStore } from './session-store';

const VIEWER = 'viewer-token-0123456789';
const AUDITOR = 'auditor-token-0123456789';

function authenticator(file: Partial<ConsoleFileSettings> | undefined, envTokens: string[] = []): ConsoleAuthenticator {
  const settings = buildConsoleAccess(envTokens, file ? { tokens: [], ...file } : undefined, {
    sessionHours: 1,
    allowedHosts: undefined,
    cookieSecure: 'auto',
    metricsPort: undefined,
  });
  return new ConsoleAuthenticator(settings, new SessionStore(':memory:'));
}

const presented = (p: Partial<Presented> & { headers?: IncomingHttpHeaders }): Presented => ({ headers: {}, peer: '127.0.0.1', bearer: null, sessionSecret: null, ...p });

const tokens = {
  tokens: [
    { name: 'vera', role: 'viewer' as const, sha256: tokenDigest(VIEWER) },
    { name: 'audrey', role: 'auditor' as const, sha256: tokenDigest(AUDITOR) },
  ],
};
const sso = { trustedProxies: ['10.0.0.0/8', '::1'], userHeader: 'x-forwarded-user', emailHeader: 'x-forwarded-email', groupsHeader: 'x-forwarded-groups', groups: { 'llm-admins': 'admin' as const, compliance: 'auditor' as const, eng: 'viewer' as const } };

test('roles are ordered, and the highest of several wins', () => {
  expect(roleAtLeast('admin', 'auditor')).toBe(true);
  expect(roleAtLeast('viewer', 'auditor')).toBe(false);
  expect(highestRole(['viewer', 'admin', 'auditor'])).toBe('admin');
  expect(highestRole([])).toBeNull();
  expect(permissionsOf('viewer')).toEqual({ bodies: false, search: false, access_log: false, sessions: false });
  expect(permissionsOf('auditor')).toEqual({ bodies: true, search: true, access_log: false, sessions: false });
});

test('the credential table finds a token by its digest and nothing else', () => {
  const t = new CredentialTable([{ name: 'a', role: 'viewer', digest: tokenDigest(VIEWER) }]);
  expect(t.find(VIEWER)?.name).toBe('a');
  expect(t.find(VIEWER.slice(1))).toBeNull();
  expect(t.find('')).toBeNull();
  expect(t.find(null)).toBeNull();
});

test('with nothing configured the caller is the local operator, as admin', () => {
  const auth = authenticator(undefined);
  expect(auth.controlled).toBe(false);
  expect(auth.authenticate(presented({}))).toEqual({ ok: true, principal: { name: 'local', role: 'admin', via: 'open', email: null, groups: [], session: null } });
});

test('a bearer token gives its identity and role; an unknown one is 401', () => {
  const auth = authenticator(tokens);
  expect(auth.authenticate(presented({ bearer: AUDITOR }))).toMatchObject({ ok: true, principal: { name: 'audrey', role: 'auditor', via: 'token' } });
  expect(auth.authenticate(presented({ bearer: 'nope' }))).toMatchObject({ ok: false, denial: { status: 401, code: 'unauthorized' } });
  expect(auth.authenticate(presented({}))).toMatchObject({ ok: false, denial: { status: 401 } });
});

test('a session follows its token: the token taken out of the configuration ends it', () => {
  const sessions = new SessionStore(':memory:');
  const settings = (file: ConsoleFileSettings) => buildConsoleAccess([], file, { sessionHours: 1, allowedHosts: undefined, cookieSecure: 'auto', metricsPort: undefined });
  const before = new ConsoleAuthenticator(settings(tokens), sessions);
  const { secret } = sessions.create(tokenDigest(VIEWER), 'vera', 60_000, { ip: '127.0.0.1', userAgent: null });
  expect(before.authenticate(presented({ sessionSecret: secret }))).toMatchObject({ ok: true, principal: { name: 'vera', role: 'viewer', via: 'session' } });
  const after = new ConsoleAuthenticator(settings({ tokens: [tokens.tokens[1]!] }), sessions);
  expect(after.authenticate(presented({ sessionSecret: secret }))).toMatchObject({ ok: false, denial: { status: 401, clearCookie: true } });
  expect(sessions.list()).toEqual([]);
});

test('SSO headers from a trusted proxy map groups to the highest role', () => {
  const auth = authenticator({ ...tokens, sso: { ...sso, defaultRole: undefined } });
  const headers = { 'x-forwarded-user': 'carol', 'x-forwarded-email': 'carol@example.com', 'x-forwarded-groups': 'eng, compliance' };
  expect(auth.authenticate(presented({ headers, peer: '10.1.2.3' }))).toEqual({
    ok: true,
    principal: { name: 'carol', role: 'auditor', via: 'sso', email: 'carol@example.com', groups: ['eng', 'compliance'], session: null },
  });
  expect(auth.authenticate(presented({ headers, peer: '::ffff:10.9.9.9' }))).toMatchObject({ ok: true, principal: { role: 'auditor' } });
});

test('SSO headers from any other address are refused, even with a valid token', () => {
  const auth = authenticator({ ...tokens, sso: { ...sso, defaultRole: undefined } });
  const outcome = auth.authenticate(presented({ headers: { 'x-forwarded-user': 'mallory', 'x-forwarded-groups': 'llm-admins' }, peer: '192.168.0.9', bearer: VIEWER }));
  expect(outcome).toMatchObject({ ok: false, denial: { status: 403, code: 'untrusted_proxy' } });
  expect(!outcome.ok && outcome.denial.message).toContain('192.168.0.9');
});

test('an SSO user in no mapped group is refused, unless a default role is set', () => {
  const headers = { 'x-forwarded-user': 'dave', 'x-forwarded-groups': 'sales' };
  const strict = authenticator({ sso: { ...sso, defaultRole: undefined } });
  expect(strict.authenticate(presented({ headers, peer: '10.0.0.1' }))).toMatchObject({ ok: false, denial: { status: 403, code: 'no_role' } });
  const lenient = authenticator({ sso: { ...sso, defaultRole: 'viewer' } });
  expect(lenient.authenticate(presented({ headers, peer: '10.0.0.1' }))).toMatchObject({ ok: true, principal: { name: 'dave', role: 'viewer' } });
});
