import type { Upstream } from '../../shared/config/upstreams';
import { buildUpstreams } from '../../shared/config/upstreams';
import { authorizeCall, isCallRefusal, type AuthorizationContext } from './call-authorization';
import { applyKeyIdentity, parseKeyFile, presentedKey, sha256Hex, type GatewayKey } from './gateway-keys';
import { KeyBudgets, periodBounds } from './key-budget';
import { resolveRoute, type Route } from './routing';
import type { CallTags } from './tagging';

const UPSTREAMS = new Set(['openai', 'anthropic', 'azure']);
const KEY_A = 'llmk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'llmk_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

function table(keys: unknown[]): ReadonlyMap<string, GatewayKey> {
  const r = parseKeyFile({ keys }, UPSTREAMS);
  if ('problems' in r) throw new Error(r.problems.join('; '));
  return r.table;
}

describe('parseKeyFile', () => {
  it('maps the SHA-256 of each key to its identity, upstreams and budget', () => {
    const t = table([
      { id: 'search-prod', sha256: sha256Hex(KEY_A).toUpperCase(), app: 'search', team: 'core', upstreams: ['openai'], budget: { usd: 12.5, period: 'day' } },
      { id: 'alice', sha256: sha256Hex(KEY_B), user: 'alice' },
    ]);
    expect(t.get(sha256Hex(KEY_A))).toEqual({
      id: 'search-prod',
      user: null,
      app: 'search',
      team: 'core',
      upstreams: new Set(['openai']),
      allowUserHeader: false,
      budget: { microUsd: 12_500_000, period: 'day' },
    });
    expect(t.get(sha256Hex(KEY_B))?.upstreams).toBeNull();
  });

  it.each([
    [{ keys: [{ id: 'a', sha256: KEY_A }] }, 'keys.0.sha256'],
    [{ keys: [{ id: 'A b', sha256: sha256Hex(KEY_A) }] }, 'keys.0.id'],
    [{ keys: [{ id: 'a', sha256: sha256Hex(KEY_A), upstreams: ['openia'] }] }, 'keys.0.upstreams.0'],
    [{ keys: [{ id: 'a', sha256: sha256Hex(KEY_A), budget: { usd: -1, period: 'day' } }] }, 'keys.0.budget.usd'],
    [{ keys: [{ id: 'a', sha256: sha256Hex(KEY_A), budget: { usd: 1, period: 'week' } }] }, 'keys.0.budget.period'],
    [{ keys: [{ id: 'a', sha256: sha256Hex(KEY_A), colour: 'red' }] }, 'keys.0'],
    [{ keys: [{ id: 'a', sha256: sha256Hex(KEY_A) }, { id: 'a', sha256: sha256Hex(KEY_B) }] }, 'keys.1.id'],
    [{ keys: [{ id: 'a', sha256: sha256Hex(KEY_A) }, { id: 'b', sha256: sha256Hex(KEY_A) }] }, 'keys.1.sha256'],
    [{ kees: [] }, '(file)'],
  ])('refuses %j naming %s', (doc, where) => {
    const r = parseKeyFile(doc, UPSTREAMS);
    expect('problems' in r && r.problems.some((p) => p.startsWith(where))).toBe(true);
  });
});

describe('presentedKey', () => {
  it('takes x-llm-key always, and the SDK credential header only when the gateway injects the provider key', () => {
    expect(presentedKey({ 'x-llm-key': KEY_A, authorization: 'Bearer sk-own' }, false)).toEqual({ key: KEY_A, carrier: 'x-llm-key' });
    expect(presentedKey({ authorization: `Bearer ${KEY_A}` }, true)).toEqual({ key: KEY_A, carrier: 'authorization' });
    expect(presentedKey({ 'x-api-key': KEY_A }, true)).toEqual({ key: KEY_A, carrier: 'x-api-key' });
    expect(presentedKey({ 'api-key': KEY_A }, true)).toEqual({ key: KEY_A, carrier: 'api-key' });
    expect(presentedKey({ authorization: `Bearer ${KEY_A}` }, false)).toBeNull();
    expect(presentedKey({ authorization: `Basic ${KEY_A}` }, true)).toBeNull();
    expect(presentedKey({}, true)).toBeNull();
  });
});

describe('applyKeyIdentity', () => {
  const tags = (partial: Partial<CallTags> = {}): CallTags => ({ user: null, app: null, session: null, traceId: null, tags: {}, sample: null, ...partial });
  const key = (partial: Partial<GatewayKey>): GatewayKey => ({ id: 'k', user: null, app: null, team: null, upstreams: null, allowUserHeader: false, budget: null, ...partial });

  it("puts the key's user, app and team on the call", () => {
    const t = tags();
    expect(applyKeyIdentity(t, key({ user: 'alice', app: 'search', team: 'core' }))).toBeNull();
    expect(t).toMatchObject({ user: 'alice', app: 'search', tags: { team: 'core' } });
  });

  it('lets an app key name its user only with allowUserHeader', () => {
    expect(applyKeyIdentity(tags({ user: 'bob' }), key({ app: 'search' }))).toMatchObject({ header: 'x-llm-user' });
    const t = tags({ user: 'bob' });
    expect(applyKeyIdentity(t, key({ app: 'search', allowUserHeader: true }))).toBeNull();
    expect(t).toMatchObject({ user: 'bob', app: 'search' });
  });

  it('refuses a header that contradicts the key, naming it; repeating the key is fine', () => {
    expect(applyKeyIdentity(tags({ user: 'mallory' }), key({ user: 'alice' }))?.header).toBe('x-llm-user');
    expect(applyKeyIdentity(tags({ app: 'other' }), key({ app: 'search' }))?.header).toBe('x-llm-app');
    expect(applyKeyIdentity(tags({ tags: { team: 'x' } }), key({ team: 'core' }))?.header).toBe('x-llm-tag-team');
    expect(applyKeyIdentity(tags({ user: 'alice', app: 'search' }), key({ user: 'alice', app: 'search' }))).toBeNull();
  });
});

describe('key budgets', () => {
  const DAY = 86_400_000;
  const T = Date.UTC(2030, 4, 17, 13, 0, 0);

  it('computes UTC day and month periods', () => {
    expect(periodBounds('day', T)).toEqual({ start: Date.UTC(2030, 4, 17), end: Date.UTC(2030, 4, 18) });
    expect(periodBounds('month', T)).toEqual({ start: Date.UTC(2030, 4, 1), end: Date.UTC(2030, 5, 1) });
    expect(periodBounds('month', Date.UTC(2030, 11, 31, 23))).toEqual({ start: Date.UTC(2030, 11, 1), end: Date.UTC(2031, 0, 1) });
  });

  it('sums costs per key within the period, ignores unknown prices and starts again in the next period', () => {
    const b = new KeyBudgets();
    b.add('k', 'day', 400, T);
    b.add('k', 'day', null, T);
    b.add('k', 'day', 100, T + 1);
    b.add('other', 'day', 999, T);
    expect(b.spentIn('k', 'day', T + 2)).toEqual({ microUsd: 500, resetsAt: Date.UTC(2030, 4, 18) });
    b.add('k', 'day', 7, T + DAY);
    b.add('k', 'day', 1_000, T); // a late call of the previous day does not count in this one
    expect(b.spentIn('k', 'day', T + DAY).microUsd).toBe(7);
    expect(b.spentIn('k', 'day', T + 2 * DAY).microUsd).toBe(0);
  });
});

describe('authorizeCall', () => {
  const upstreams = buildUpstreams({}, { LLM_LOGGER_UPSTREAM_OPENAI_API_KEY: 'sk-injected', LLM_LOGGER_UPSTREAM_AZURE_API_KEY: 'az-injected' });
  const route = (url: string): Route => resolveRoute(upstreams, url) as Route;
  const keys = table([
    { id: 'openai-only', sha256: sha256Hex(KEY_A), upstreams: ['openai', 'azure'], budget: { usd: 1, period: 'month' } },
    { id: 'any', sha256: sha256Hex(KEY_B) },
  ]);
  const budgets = new KeyBudgets();
  const now = Date.UTC(2030, 4, 17);
  const ctx: AuthorizationContext = { lookup: (k) => keys.get(sha256Hex(k)) ?? null, budgets, azureResources: new Set(['allowed-res']), now: () => now };
  const outcome = (headers: Record<string, string>, url: string): unknown => {
    const r = authorizeCall(headers, route(url), ctx);
    return isCallRefusal(r) ? [r.status, r.reason] : r.key?.id;
  };

  it('admits a known key for an allowed upstream; refuses a missing (401), unknown (401) or misplaced key (403)', () => {
    expect(outcome({ authorization: `Bearer ${KEY_A}` }, '/openai/v1/chat/completions')).toBe('openai-only');
    expect(outcome({}, '/openai/v1/chat/completions')).toEqual([401, 'missing_gateway_key']);
    expect(outcome({ authorization: 'Bearer llmk_nope_nope_nope_nope_nope_nope' }, '/openai/v1/chat/completions')).toEqual([401, 'unknown_gateway_key']);
    expect(outcome({ 'x-llm-key': KEY_A, 'x-api-key': 'sk-ant-own' }, '/anthropic/v1/messages')).toEqual([403, 'upstream_not_allowed']);
    // Anthropic injects nothing here: the client's own key passes, the gateway key must be in x-llm-key.
    expect(outcome({ 'x-api-key': KEY_B }, '/anthropic/v1/messages')).toEqual([401, 'missing_gateway_key']);
    expect(outcome({ 'x-llm-key': KEY_B, 'x-api-key': 'sk-ant-own' }, '/anthropic/v1/messages')).toBe('any');
  });

  it('refuses with 429 once the key has spent its budget for the period, with the time it resets', () => {
    budgets.add('openai-only', 'month', 1_000_000, now);
    const r = authorizeCall({ authorization: `Bearer ${KEY_A}` }, route('/openai/v1/chat/completions'), ctx);
    expect(isCallRefusal(r) && r).toMatchObject({ status: 429, type: 'budget_exceeded', message: expect.stringContaining('2030-06-01T00:00:00.000Z') });
    expect(outcome({ authorization: `Bearer ${KEY_B}` }, '/openai/v1/chat/completions')).toBe('any');
  });

  it('sends the injected Azure key only to the listed resources', () => {
    expect(outcome({ 'api-key': KEY_B }, '/azure/allowed-res/openai/deployments/d/chat/completions')).toBe('any');
    expect(outcome({ 'api-key': KEY_B }, '/azure/attacker/openai/deployments/d/chat/completions')).toEqual([403, 'azure_resource_not_allowed']);
    // With the client's own Azure key, any resource: the gateway's key is not used.
    expect(outcome({ 'x-llm-key': KEY_B, 'api-key': 'own-azure-key' }, '/azure/attacker/openai/deployments/d/chat/completions')).toBe('any');
  });

  it('without keys, only the Azure rule applies', () => {
    const open = { ...ctx, lookup: null };
    const plain = (upstreamsOf: Map<string, Upstream>, url: string): unknown => {
      const r = authorizeCall({}, resolveRoute(upstreamsOf, url) as Route, open);
      return isCallRefusal(r) ? r.reason : r.key;
    };
    expect(plain(buildUpstreams({}, {}), '/openai/v1/models')).toBeNull();
    expect(plain(upstreams, '/azure/attacker/openai/x')).toBe('azure_resource_not_allowed');
  });
});
