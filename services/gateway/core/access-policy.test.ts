import { loadConfig } from '../../shared/config/config';
import { isLoopbackHost, resolveGatewayAccess } from './access-policy';

const access = (env: Record<string, string>): ReturnType<typeof resolveGatewayAccess> => resolveGatewayAccess(loadConfig(env).gateway);
const refusal = (env: Record<string, string>): string => {
  try {
    access(env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a start-up refusal');
};

describe('resolveGatewayAccess', () => {
  it('serves without keys on loopback (the default), as before', () => {
    expect(access({})).toEqual({ clients: { mode: 'open', reason: 'loopback' }, ingest: { mode: 'open', reason: 'loopback' }, injecting: [] });
  });

  it('requires gateway keys whenever a provider key is injected, even on loopback, naming the setting', () => {
    const msg = refusal({ LLM_LOGGER_UPSTREAM_OPENAI_API_KEY: 'sk-x' });
    expect(msg).toContain('LLM_LOGGER_GATEWAY_KEYS_FILE');
    expect(msg).toContain('LLM_LOGGER_UPSTREAM_OPENAI_API_KEY');
    expect(refusal({ LLM_LOGGER_UPSTREAM_OPENAI_API_KEY: 'sk-x', LLM_LOGGER_GATEWAY_AUTH: 'none', LLM_LOGGER_GATEWAY_HOST: '0.0.0.0' })).toContain(
      'LLM_LOGGER_GATEWAY_AUTH=none, but the gateway injects a provider key for openai',
    );
    expect(access({ LLM_LOGGER_UPSTREAM_OPENAI_API_KEY: 'sk-x', LLM_LOGGER_GATEWAY_KEYS_FILE: '/etc/keys.yaml' })).toMatchObject({
      clients: { mode: 'keys', file: '/etc/keys.yaml' },
      injecting: ['openai'],
    });
  });

  it('refuses to serve other hosts without keys unless LLM_LOGGER_GATEWAY_AUTH=none says so', () => {
    expect(refusal({ LLM_LOGGER_GATEWAY_HOST: '0.0.0.0', LLM_LOGGER_INGEST_AUTH: 'none' })).toContain('LLM_LOGGER_GATEWAY_AUTH=none');
    expect(access({ LLM_LOGGER_GATEWAY_HOST: '0.0.0.0', LLM_LOGGER_GATEWAY_AUTH: 'none', LLM_LOGGER_INGEST_AUTH: 'none' })).toMatchObject({
      clients: { mode: 'open', reason: 'opted-out' },
      ingest: { mode: 'open', reason: 'opted-out' },
    });
  });

  it('refuses an open ingest beyond loopback unless opted out, naming LLM_LOGGER_INGEST_TOKENS', () => {
    expect(refusal({ LLM_LOGGER_GATEWAY_HOST: '0.0.0.0', LLM_LOGGER_GATEWAY_AUTH: 'none' })).toContain('LLM_LOGGER_INGEST_TOKENS');
    expect(access({ LLM_LOGGER_GATEWAY_HOST: '0.0.0.0', LLM_LOGGER_GATEWAY_AUTH: 'none', LLM_LOGGER_INGEST_TOKENS: 'sdk:0123456789abcdef' }).ingest).toEqual({ mode: 'tokens' });
  });

  it('needs the list of Azure resources before injecting an Azure key', () => {
    const env = { LLM_LOGGER_UPSTREAM_AZURE_API_KEY: 'az', LLM_LOGGER_GATEWAY_KEYS_FILE: '/k.yaml' };
    expect(refusal(env)).toContain('LLM_LOGGER_AZURE_RESOURCES');
    expect(loadConfig({ ...env, LLM_LOGGER_AZURE_RESOURCES: 'Res-One, res2' }).gateway.security.azureResources).toEqual(['res-one', 'res2']);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'gateway.internal', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('gateway security settings', () => {
  it.each([
    [{ LLM_LOGGER_GATEWAY_AUTH: 'keys' }, 'LLM_LOGGER_GATEWAY_AUTH=keys needs LLM_LOGGER_GATEWAY_KEYS_FILE'],
    [{ LLM_LOGGER_GATEWAY_AUTH: 'none', LLM_LOGGER_GATEWAY_KEYS_FILE: '/k' }, 'contradicts LLM_LOGGER_GATEWAY_KEYS_FILE'],
    [{ LLM_LOGGER_INGEST_AUTH: 'tokens' }, 'LLM_LOGGER_INGEST_AUTH=tokens needs LLM_LOGGER_INGEST_TOKENS'],
    [{ LLM_LOGGER_INGEST_TOKENS: 'short' }, 'LLM_LOGGER_INGEST_TOKENS=(value hidden)'],
    [{ LLM_LOGGER_INGEST_TOKENS: 'a:0123456789abcdef,a:fedcba9876543210' }, '"a" is used twice'],
    [{ LLM_LOGGER_CLIENT_HEADERS_TIMEOUT_MS: '60000', LLM_LOGGER_CLIENT_REQUEST_TIMEOUT_MS: '30000' }, 'must not exceed LLM_LOGGER_CLIENT_REQUEST_TIMEOUT_MS'],
    [{ LLM_LOGGER_AZURE_RESOURCES: 'ok,not ok' }, 'LLM_LOGGER_AZURE_RESOURCES'],
  ])('%j is refused: %s', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names ingest tokens (name:token) or derives a name from the token hash, never showing the token', () => {
    const tokens = loadConfig({ LLM_LOGGER_INGEST_TOKENS: 'batch-sdk:0123456789abcdef, fedcba9876543210' }).gateway.security.ingestTokens;
    expect(tokens[0]).toEqual({ id: 'batch-sdk', token: '0123456789abcdef' });
    expect(tokens[1]!.id).toMatch(/^t-[0-9a-f]{8}$/);
    expect(tokens[1]!.id).not.toContain('fedcba');
  });
});
