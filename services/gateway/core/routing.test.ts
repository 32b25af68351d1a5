import { buildUpstreams } from '../../shared/config/upstreams';
import { isRouteError, resolveRoute, type Route, type RouteError } from './routing';

const upstreams = buildUpstreams(
  {},
  { LLM_LOGGER_UPSTREAM_VLLM_URL: 'http://127.0.0.1:8000/prefix', LLM_LOGGER_UPSTREAM_VLLM_FORMAT: 'openai' },
);

function route(url: string): Route {
  const r = resolveRoute(upstreams, url);
  if (isRouteError(r)) throw new Error(`expected a route for ${url}, got ${r.status} ${r.message}`);
  return r;
}

function refusal(url: string): RouteError {
  const r = resolveRoute(upstreams, url);
  if (!isRouteError(r)) throw new Error(`expected ${url} to be refused, got ${r.origin}${r.targetPath}`);
  return r;
}

describe('resolveRoute', () => {
  it('routes /openai/... to api.openai.com, keeping the query on the target only', () => {
    const r = route('/openai/v1/chat/completions?x=1');
    expect(r.upstream.name).toBe('openai');
    expect(r.origin).toBe('https://api.openai.com');
    expect(r.targetPath).toBe('/v1/chat/completions?x=1');
    expect(r.apiPath).toBe('/v1/chat/completions');
  });

  it('routes /anthropic/... to api.anthropic.com', () => {
    const r = route('/anthropic/v1/messages');
    expect(r.upstream.format).toBe('anthropic');
    expect(r.origin).toBe('https://api.anthropic.com');
    expect(r.targetPath).toBe('/v1/messages');
  });

  it('keeps the path prefix of a configured base URL', () => {
    const r = route('/vllm/v1/chat/completions?stream=1');
    expect(r.upstream.name).toBe('vllm');
    expect(r.origin).toBe('http://127.0.0.1:8000');
    expect(r.targetPath).toBe('/prefix/v1/chat/completions?stream=1');
    expect(r.apiPath).toBe('/v1/chat/completions');
  });

  it('maps the bare upstream to its root path', () => {
    expect(route('/openai')).toMatchObject({ targetPath: '/', apiPath: '/' });
    expect(route('/openai?a=b')).toMatchObject({ targetPath: '/?a=b', apiPath: '/' });
  });

  it('puts the Azure resource in the host and strips it from the path', () => {
    const r = route('/azure/myres/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21');
    expect(r.upstream.name).toBe('azure');
    expect(r.origin).toBe('https://myres.openai.azure.com');
    expect(r.targetPath).toBe('/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21');
    expect(r.apiPath).toBe('/openai/deployments/gpt4o/chat/completions');
  });

  it('lower-cases the Azure resource name', () => {
    expect(route('/azure/MyRes/openai/v1/models').origin).toBe('https://myres.openai.azure.com');
  });

  it.each([
    ['a protocol-relative target', '//evil.com/x'],
    ['an absolute-form target', 'http://evil.com/x'],
    ['a dot-dot segment', '/openai/../x'],
    ['a dot segment', '/openai/./x'],
    ['a trailing dot-dot segment', '/openai/v1/..'],
    ['an encoded dot-dot', '/openai/%2e%2e/x'],
    ['an upper-case encoded dot-dot', '/openai/%2E%2E/x'],
    ['an encoded slash', '/openai/v1%2fchat'],
    ['an encoded backslash', '/openai/v1%5cchat'],
    ['an encoded NUL', '/openai/v1%00'],
    ['an encoded @', '/openai/v1%40evil.com'],
    ['an encoded #', '/openai/v1%23x'],
    ['an @ in the path', '/openai/v1/x@evil.com'],
    ['a host-like Azure resource', '/azure/evil.com/openai/deployments/x/chat/completions'],
    ['a dotted Azure resource', '/azure/a.b/openai/v1/models'],
    ['a percent-encoded Azure resource', '/azure/%65vil/openai/v1/models'],
    ['an empty Azure resource', '/azure//openai'],
    ['a missing Azure resource', '/azure'],
    ['an Azure resource starting with a dash', '/azure/-x/openai'],
    ['a percent-encoded upstream name', '/op%65nai/v1'],
    ['a backslash', '/openai\\..\\x'],
    ['a fragment', '/openai/v1/chat#frag'],
  ])('refuses %s with 400 invalid_route', (_label, url) => {
    const r = refusal(url);
    expect(r.status).toBe(400);
    expect(r.type).toBe('invalid_route');
    expect(r.message.length).toBeGreaterThan(0);
  });

  it('allows "@" and encoded characters in the query string', () => {
    expect(route('/openai/v1/models?user=a@b.c&q=%2e%2e').targetPath).toBe('/v1/models?user=a@b.c&q=%2e%2e');
  });

  it('answers an unknown upstream with 404 listing the configured ones', () => {
    const r = refusal('/nope/v1/chat/completions');
    expect(r.status).toBe(404);
    expect(r.type).toBe('unknown_upstream');
    expect(r.message).toContain('"nope"');
    expect(r.message).toContain('anthropic, azure, openai, vllm');
  });

  it('treats upstream names as case-sensitive', () => {
    expect(refusal('/OpenAI/v1/models').status).toBe(404);
  });

  it('refuses the empty upstream name with 404', () => {
    expect(refusal('/').status).toBe(404);
  });
});
