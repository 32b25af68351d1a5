import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { sendJson } from './json-response';

export interface HealthOptions {
  registry: Registry;
  /** Readiness: can this process do its job right now? */
  ready: () => boolean;
  /** Extra facts shown by /readyz (e.g. broker state, spool depth). */
  details?: () => Record<string, unknown>;
}

/**
 * `GET /healthz`, `GET /readyz` and `GET /metrics`, served the same way by
 * every role. Returns false when the request is for something else.
 */
export function serveHealth(req: IncomingMessage, res: ServerResponse, options: HealthOptions): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '').split('?')[0];
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' });
    return true;
  }
  if (path === '/readyz') {
    const ready = options.ready();
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...options.details?.() });
    return true;
  }
  if (path === '/metrics') {
    options.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': options.registry.contentType });
        res.end(text);
      },
      () => sendJson(res, 500, { status: 'metrics unavailable' }),
    );
    return true;
  }
  return false;
}
