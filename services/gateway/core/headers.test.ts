import type { Upstream } from '../../shared/config/upstreams';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers';

function upstream(partial: Partial<Upstream> = {}): Upstream {
  return {
    name: 'openai',
    baseUrl: 'https://api.openai.com',
    format: 'openai',
    provider: 'openai',
    azure: false,
    apiKey: null,
    ...partial,
  };
}

const OPENAI = upstream();
const OPENAI_WITH_KEY = upstream({ apiKey: 'sk-gateway' });
const AZURE_WITH_KEY = upstream({
  name: 'azure',
  baseUrl: 'https://{resource}.openai.azure.com',
  provider: 'azure',
  azure: true,
  apiKey: 'az-gateway',
});
const ANTHROPIC_WITH_KEY = upstream({
  name: 'anthropic',
  baseUrl: 'https://api.anthropic.com',
  format: 'anthropic',
  provider: 'anthropic',
  apiKey: 'ak-gateway',
});

/** Pairs of a flat [name, value, …] list, for readable assertions. */
function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

const plain = { identityEncoding: false };

describe('forwardRequestHeaders', () => {
  it('removes every hop-by-hop header whatever its casing', () => {
    const { headers } = forwardRequestHeaders(
      [
        'Connection', 'keep-alive',
        'Keep-Alive', 'timeout=5',
        'TE', 'trailers',
        'Trailer', 'x-checksum',
        'Transfer-Encoding', 'chunked',
        'Upgrade', 'h2c',
        'Proxy-Connection', 'keep-alive',
        'Proxy-Authorization', 'Basic abc',
        'Proxy-Authenticate', 'Basic',
        'Content-Type', 'application/json',
      ],
      OPENAI,
      plain,
    );
    expect(pairs(headers)).toEqual([['Content-Type', 'application/json']]);
  });

  it('removes the headers named by Connection', () => {
    const { headers } = forwardRequestHeaders(
      ['Connection', 'x-foo, X-Bar', 'X-Foo', '1', 'x-bar', '2', 'x-baz', '3'],
      OPENAI,
      plain,
    );
    expect(pairs(headers)).toEqual([['x-baz', '3']]);
  });

  it('removes headers the HTTP client sets itself', () => {
    const { headers } = forwardRequestHeaders(
      ['Host', 'localhost:8080', 'Content-Length', '12', 'Expect', '100-continue', 'Accept', '*/*'],
      OPENAI,
      plain,
    );
    expect(pairs(headers)).toEqual([['Accept', '*/*']]);
  });

  it('keeps the original casing, order and duplicates of everything else', () => {
    const raw = [
      'Content-Type', 'application/json',
      'OpenAI-Organization', 'org-1',
      'x-custom', 'a',
      'X-Custom', 'b',
      'Accept-Encoding', 'gzip, br',
      'Authorization', 'Bearer sk-client',
    ];
    expect(forwardRequestHeaders(raw, OPENAI, plain).headers).toEqual(raw);
  });

  it('splits off x-llm-* headers with lower-cased names', () => {
    const { headers, gatewayHeaders } = forwardRequestHeaders(
      ['X-LLM-User', 'alice', 'Accept', '*/*', 'x-llm-tag-team', 'search', 'X-Llm-Sample', '1'],
      OPENAI,
      plain,
    );
    expect(pairs(headers)).toEqual([['Accept', '*/*']]);
    expect(gatewayHeaders).toEqual([
      ['x-llm-user', 'alice'],
      ['x-llm-tag-team', 'search'],
      ['x-llm-sample', '1'],
    ]);
  });

  it('replaces accept-encoding with identity when asked', () => {
    const { headers } = forwardRequestHeaders(
      ['Accept-Encoding', 'gzip, br', 'Accept', '*/*'],
      OPENAI,
      { identityEncoding: true },
    );
    expect(pairs(headers)).toEqual([
      ['Accept', '*/*'],
      ['accept-encoding', 'identity'],
    ]);
  });

  it('asks for identity even when the client sent no accept-encoding', () => {
    const { headers } = forwardRequestHeaders([], OPENAI, { identityEncoding: true });
    expect(pairs(headers)).toEqual([['accept-encoding', 'identity']]);
  });

  it.each([
    ['openai', OPENAI_WITH_KEY, ['authorization', 'Bearer sk-gateway']],
    ['azure', AZURE_WITH_KEY, ['api-key', 'az-gateway']],
    ['anthropic', ANTHROPIC_WITH_KEY, ['x-api-key', 'ak-gateway']],
  ])('injects the %s key when the client sent no credential', (_name, target, expected) => {
    const { headers } = forwardRequestHeaders(['Content-Type', 'application/json'], target, plain);
    expect(pairs(headers)).toEqual([['Content-Type', 'application/json'], expected]);
  });

  it.each([
    ['Authorization', 'Bearer sk-client'],
    ['X-Api-Key', 'client-key'],
    ['api-key', 'client-key'],
  ])('never overrides a client credential (%s)', (name, value) => {
    for (const target of [OPENAI_WITH_KEY, AZURE_WITH_KEY, ANTHROPIC_WITH_KEY]) {
      const { headers } = forwardRequestHeaders([name, value], target, plain);
      expect(pairs(headers)).toEqual([[name, value]]);
    }
  });

  it('never forwards or records x-llm-key, and drops the credential header that carried the gateway key so the provider key is injected', () => {
    const { headers, gatewayHeaders } = forwardRequestHeaders(
      ['Authorization', 'Bearer llmk_gateway_key', 'X-LLM-Key', 'llmk_other', 'x-llm-user', 'u'],
      OPENAI_WITH_KEY,
      { identityEncoding: false, dropCredential: 'authorization' },
    );
    expect(headers).toEqual(['authorization', 'Bearer sk-gateway']);
    expect(gatewayHeaders).toEqual([['x-llm-user', 'u']]);
  });

  it('injects nothing when the upstream has no key', () => {
    expect(forwardRequestHeaders(['Accept', '*/*'], OPENAI, plain).headers).toEqual(['Accept', '*/*']);
  });
});

describe('forwardResponseHeaders', () => {
  const upstreamHeaders = {
    'content-type': 'application/json',
    'content-length': '42',
    connection: 'keep-alive, x-upstream-hop',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'x-upstream-hop': 'secret',
    'set-cookie': ['a=1', 'b=2'],
    'x-request-id': 'req_1',
    'x-absent': undefined,
  };

  it('removes hop-by-hop headers and those named by Connection, keeping content-length', () => {
    expect(forwardResponseHeaders(upstreamHeaders, { bodyRewritten: false })).toEqual({
      'content-type': 'application/json',
      'content-length': '42',
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': 'req_1',
    });
  });

  it('removes content-length when the body is rewritten', () => {
    expect(forwardResponseHeaders(upstreamHeaders, { bodyRewritten: true })).toEqual({
      'content-type': 'application/json',
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': 'req_1',
    });
  });

  it('reads Connection given as several values', () => {
    const out = forwardResponseHeaders(
      { connection: ['close', 'x-a'], 'x-a': '1', 'x-b': '2' },
      { bodyRewritten: false },
    );
    expect(out).toEqual({ 'x-b': '2' });
  });
});
