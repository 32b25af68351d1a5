import { boundedMemo } from '../../shared/bounded-memo';
import type { Upstream } from '../../shared/config/upstreams';

/**
 * Maps `/<upstream>/<path>?<query>` to a configured upstream. Pure: the only
 * hosts a route can reach are the configured base URLs (plus, for Azure, a
 * validated resource name in the host), whatever the client sends.
 */

export interface Route {
  upstream: Upstream;
  /** scheme://host[:port] of the target. */
  origin: string;
  /** Path and query sent to the upstream (base path prefix included). */
  targetPath: string;
  /** Path after the upstream's base, without the query: what events record. */
  apiPath: string;
  /** The Azure resource named in the route (lower-cased); null for other upstreams. */
  resource: string | null;
}

export interface RouteError {
  status: 400 | 404;
  type: 'unknown_upstream' | 'invalid_route';
  message: string;
}

export const AZURE_RESOURCE = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/i;

// Encoded dot, slash, backslash, NUL, '@' and '#' could change which resource
// a server resolves after decoding; LLM APIs never need them.
const FORBIDDEN_ENCODED = /%(?:2e|2f|5c|00|40|23)/i;

function invalid(message: string): RouteError {
  return { status: 400, type: 'invalid_route', message };
}

export function resolveRoute(upstreams: ReadonlyMap<string, Upstream>, rawUrl: string): Route | RouteError {
  if (!rawUrl.startsWith('/') || rawUrl.startsWith('//')) return invalid('request target must be a path starting with a single "/"');
  if (rawUrl.includes('#')) return invalid('request target must not contain "#"');
  if (rawUrl.includes('\\')) return invalid('request target must not contain "\\"');
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q);
  if (path.includes('@')) return invalid('path must not contain "@"');
  if (FORBIDDEN_ENCODED.test(path)) return invalid('path must not contain encoded ".", "/", "\\", "@", "#" or NUL');

  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) return invalid('path must not contain "." or ".." segments');
  const name = segments.shift() ?? '';
  if (name.includes('%')) return invalid('upstream name must not be percent-encoded');
  const upstream = upstreams.get(name);
  if (!upstream) {
    const configured = [...upstreams.keys()].sort().join(', ');
    return {
      status: 404,
      type: 'unknown_upstream',
      message: `no upstream named "${name}"; configured upstreams: ${configured}. Use /<upstream>/<path>, e.g. /openai/v1/chat/completions`,
    };
  }

  let base = upstream.baseUrl;
  let azureResource: string | null = null;
  if (upstream.azure) {
    const resource = segments.shift() ?? '';
    if (!AZURE_RESOURCE.test(resource)) {
      return invalid(
        `Azure resource name ${JSON.stringify(resource)} is not valid: letters, digits and dashes only, as in /azure/<resource>/openai/...`,
      );
    }
    azureResource = resource.toLowerCase();
    base = base.replace('{resource}', azureResource);
  }
  const { origin, basePath } = parseBase(base);
  const apiPath = '/' + segments.join('/');
  return { upstream, origin, targetPath: basePath + apiPath + query, apiPath, resource: azureResource };
}

/** Parsed base URLs: a URL parse per call was ~1% of the gateway's CPU. */
const parseBase = boundedMemo(1_000, (base: string): { origin: string; basePath: string } => {
  const url = new URL(base);
  return { origin: url.origin, basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '') };
});

export function isRouteError(r: Route | RouteError): r is RouteError {
  return (r as RouteError).status !== undefined;
}
