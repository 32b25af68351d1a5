import type { Upstream } from '../../shared/config/upstreams';

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Recomputed by the HTTP client for the (possibly rewritten) body, or set by it. */
const SET_BY_CLIENT = new Set(['host', 'content-length', 'expect']);

export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key'] as const;

export const GATEWAY_HEADER_PREFIX = 'x-llm-';

/** The gateway key's own header: never forwarded, never recorded (not a tag). */
const GATEWAY_KEY_HEADER = 'x-llm-key';

/**
 * The header names a `Connection` value lists, beyond the hop-by-hop ones
 * (dropped anyway); null when there are none, as with `keep-alive` alone.
 */
function listedHeaders(value: string, into: Set<string> | null): Set<string> | null {
  const lower = value.toLowerCase();
  // What nearly every client sends: nothing to split.
  if (lower === 'keep-alive' || lower === 'close') return into;
  for (const t of lower.split(',')) {
    const name = t.trim();
    if (name !== '' && !HOP_BY_HOP.has(name)) (into ??= new Set()).add(name);
  }
  return into;
}

function connectionTokens(raw: readonly string[]): Set<string> | null {
  let tokens: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') tokens = listedHeaders(raw[i + 1]!, tokens);
  }
  return tokens;
}

export interface ForwardHeaders {
  /** Flat [name, value, …] list for the upstream, original casing and order. */
  headers: string[];
  /** The client's `x-llm-*` headers, lower-cased names. */
  gatewayHeaders: [string, string][];
}

/**
 * Splits the client's headers into what goes upstream and the gateway's own
 * `x-llm-*` headers. Everything else passes unchanged.
 */
export function forwardRequestHeaders(
  rawHeaders: readonly string[],
  upstream: Upstream,
  options: {
    identityEncoding: boolean;
    /** A credential header that carried the gateway key: dropped, so the provider key is injected in its place. */
    dropCredential?: string | null;
  },
): ForwardHeaders {
  const dropped = connectionTokens(rawHeaders);
  const headers: string[] = [];
  const gatewayHeaders: [string, string][] = [];
  let hasCredential = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower.startsWith(GATEWAY_HEADER_PREFIX)) {
      if (lower !== GATEWAY_KEY_HEADER) gatewayHeaders.push([lower, value]);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || SET_BY_CLIENT.has(lower) || dropped?.has(lower)) continue;
    if (lower === options.dropCredential) continue;
    if (options.identityEncoding && lower === 'accept-encoding') continue;
    if ((CREDENTIAL_HEADERS as readonly string[]).includes(lower)) hasCredential = true;
    headers.push(name, value);
  }
  if (options.identityEncoding) headers.push('accept-encoding', 'identity');
  if (!hasCredential && upstream.apiKey) {
    if (upstream.format === 'anthropic') headers.push('x-api-key', upstream.apiKey);
    else if (upstream.azure) headers.push('api-key', upstream.apiKey);
    else headers.push('authorization', `Bearer ${upstream.apiKey}`);
  }
  return { headers, gatewayHeaders };
}

/**
 * Upstream response headers as the client should get them: hop-by-hop
 * removed; `content-length` removed when the body is rewritten.
 */
export function forwardResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  options: { bodyRewritten: boolean },
): Record<string, string | string[]> {
  const connection = headers['connection'];
  const dropped = connection ? listedHeaders(Array.isArray(connection) ? connection.join(',') : connection, null) : null;
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || dropped?.has(name)) continue;
    if (options.bodyRewritten && name === 'content-length') continue;
    out[name] = value;
  }
  return out;
}
