import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { serveHealth } from '../shared/http/health';
import { sendJson, sendJsonError } from '../shared/http/json-response';
import type { Logger } from '../shared/observability/logger';
import type { AlertRunner } from './alerts/alert-runner';
import { clearedCookie, LOGIN_HTML, presentedToken, sessionCookie, tokenMatches } from './auth';
import type { LiveHub } from './live-hub';
import { encodeCursor, isQueryError, parseRequestQuery } from './request-query';
import type { RequestsStore } from './requests-store';
import type { StaticFiles } from './static-files';
import type { AggregatesView } from './aggregates-view';
import { parseAggregateQuery } from '../aggregator/core/aggregate-query';
import { serveSearch } from './search-route';
import type { SearchIndex } from '../indexer/search-index';
import { ADMIN_ERASE_PATH, serveAdminErase, type AdminEraser } from './admin-erase-route';

export interface ConsoleDeps {
  store: RequestsStore;
  aggregates: AggregatesView;
  registry: Registry;
  logger: Logger;
  ready: () => boolean;
  hub: LiveHub;
  alerts: AlertRunner;
  /** Accepted access tokens; empty = no access control (localhost use). */
  tokens: readonly string[];
  web: StaticFiles;
  /** The audit index behind /api/search. */
  search?: SearchIndex;
  /** Runs POST /api/admin/erase (absent: the route answers 501). */
  eraser?: AdminEraser;
}

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_LOGIN_BODY = 4096;

function readSmallBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      }
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/** Builds the console's HTTP server without listening. */
export function buildConsole(deps: ConsoleDeps): Server {
  const protectedMode = deps.tokens.length > 0;
  const secure = (req: IncomingMessage): boolean => req.headers['x-forwarded-proto'] === 'https';

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readSmallBody(req, MAX_LOGIN_BODY);
    let token: string | null;
    try {
      const parsed = body ? (JSON.parse(body) as { token?: unknown }) : null;
      token = typeof parsed?.token === 'string' ? parsed.token : null;
    } catch {
      token = null;
    }
    if (!protectedMode || !tokenMatches(deps.tokens, token)) {
      sendJsonError(res, 401, 'unauthorized', protectedMode ? 'token not accepted' : 'no token is configured (LLM_LOGGER_CONSOLE_TOKEN)');
      return;
    }
    res.writeHead(204, { 'set-cookie': sessionCookie(token!, secure(req)) });
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (serveHealth(req, res, { registry: deps.registry, ready: deps.ready })) return;
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/api/login') return login(req, res);
    if (req.method === 'POST' && path === '/api/logout') {
      res.writeHead(204, { 'set-cookie': clearedCookie() });
      res.end();
      return;
    }
    // The one route that changes data (after the access check below).
    const adminErase = path === ADMIN_ERASE_PATH;
    if (req.method !== 'GET' && req.method !== 'HEAD' && !adminErase) {
      sendJsonError(res, 405, 'method_not_allowed', 'the console API is read-only (GET), but for POST /api/admin/erase');
      return;
    }
    if (path === '/login') {
      const token = url.searchParams.get('token');
      if (protectedMode && token !== null && tokenMatches(deps.tokens, token)) {
        // The token leaves the address bar (and history) at once.
        res.writeHead(302, { location: '/', 'set-cookie': sessionCookie(token, secure(req)), 'referrer-policy': 'no-referrer' });
        res.end();
        return;
      }
      res.writeHead(protectedMode ? (token === null ? 200 : 401) : 302, {
        'content-type': 'text/html; charset=utf-8',
        ...(protectedMode ? {} : { location: '/' }),
      });
      res.end(protectedMode ? LOGIN_HTML : undefined);
      return;
    }
    if (protectedMode && !tokenMatches(deps.tokens, presentedToken(req))) {
      if (path.startsWith('/api/')) {
        sendJsonError(res, 401, 'unauthorized', 'this console needs a token: Authorization: Bearer <token>, or sign in at /login');
      } else {
        res.writeHead(302, { location: '/login' });
        res.end();
      }
      return;
    }
    if (adminErase) return serveAdminErase(req, res, deps.eraser, deps.logger);
    if (path === '/api/live') {
      deps.hub.attach(req, res);
      return;
    }
    if (path === '/api/alerts') {
      sendJson(res, 200, { active: deps.alerts.active(), recent: deps.alerts.recent() });
      return;
    }
    if (path === '/api/requests') {
      const q = parseRequestQuery(url.searchParams);
      if (isQueryError(q)) {
        sendJsonError(res, 400, 'invalid_parameter', q.message, { extra: { parameter: q.parameter } });
        return;
      }
      const requests = deps.store.list(q);
      const last = requests.length === q.limit ? requests[requests.length - 1] : undefined;
      sendJson(res, 200, {
        requests,
        next_before: last ? encodeCursor(Date.parse(last.started_at), last.event_id) : null,
      });
      return;
    }
    if (path === '/api/aggregates') {
      const q = parseAggregateQuery(url.searchParams, Date.now());
      if ('parameter' in q) {
        sendJsonError(res, 400, 'invalid_parameter', q.message, { extra: { parameter: q.parameter } });
        return;
      }
      sendJson(res, 200, {
        window: q.window,
        groupBy: q.groupBy,
        from: new Date(q.from).toISOString(),
        to: new Date(q.to).toISOString(),
        rows: deps.aggregates.query(q),
      });
      return;
    }
    if (path === '/api/search') {
      serveSearch(res, url.searchParams, deps.search, deps.logger);
      return;
    }
    const m = /^\/api\/requests\/([^/]+)$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (!EVENT_ID.test(id)) {
        sendJsonError(res, 400, 'invalid_parameter', 'request id must be a UUID', { extra: { parameter: 'id' } });
        return;
      }
      const event = deps.store.get(id);
      if (!event) sendJsonError(res, 404, 'not_found', `no request ${id} (yet): events appear once the log delivers them`);
      else sendJson(res, 200, event);
      return;
    }
    if (path.startsWith('/api/')) {
      sendJsonError(res, 404, 'not_found', `no route ${path}`);
      return;
    }
    deps.web.serve(path, res, req.method === 'HEAD');
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'console: unhandled error');
      sendJsonError(res, 500, 'console_error', 'internal console error');
    });
  });
}
