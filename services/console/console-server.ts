import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { serveHealth } from '../shared/http/health';
import { sendJsonError } from '../shared/http/json-response';
import type { Logger } from '../shared/observability/logger';
import type { SearchIndex } from '../indexer/search-index';
import type { AlertRunner } from './alerts/alert-runner';
import type { AggregatesView } from './aggregates-view';
import { apiRoutes } from './api-routes';
import { bearerToken, clearedCookie, sessionSecret } from './auth';
import type { AccessLogStore } from './access/access-log-store';
import type { AccessLogWriter, ClientInfo } from './access/access-log-writer';
import { accessRoutes, openSession, serveLogin, serveLogout } from './access/access-routes';
import { normalizeAddress } from './access/address-match';
import type { ConsoleAuthenticator, Principal } from './access/authenticate';
import { hostAllowed, sameOriginOrNone, setSecurityHeaders } from './access/http-guards';
import { findRoute, requireRole, type ConsoleRoute, type RouteContext } from './access/route-guard';
import type { LiveHub } from './live-hub';
import { LOGIN_CSS, LOGIN_HTML, LOGIN_JS } from './login-page';
import type { RequestsStore } from './requests-store';
import type { StaticFiles } from './static-files';

export interface ConsoleDeps {
  store: RequestsStore;
  aggregates: AggregatesView;
  registry: Registry;
  logger: Logger;
  ready: () => boolean;
  hub: LiveHub;
  alerts: AlertRunner;
  web: StaticFiles;
  /** The audit index behind /api/search. */
  search?: SearchIndex;
  /** Who is asking: tokens, sessions, SSO headers (no access control configured = the local operator). */
  auth: ConsoleAuthenticator;
  /** The admins' view of llm.access.v1. */
  accessLog: AccessLogStore;
  accessWriter: AccessLogWriter;
  /** More API routes (e.g. admin-only ones), checked and dispatched like the built-in ones. */
  routes?: readonly ConsoleRoute[];
}

/**
 * Builds the console's HTTP server without listening. Every request: the
 * security headers; /healthz and /readyz (open, for probes); the Host check
 * (DNS rebinding: always without access control, and when
 * LLM_LOGGER_CONSOLE_ALLOWED_HOSTS is set); the origin of POST/DELETE; the
 * sign-in routes; then an identity, and the role each route needs.
 */
export function buildConsole(deps: ConsoleDeps): Server {
  const { auth, logger } = deps;
  const access = auth.settings;
  const checkHost = !auth.controlled || access.allowedHosts.length > 0;
  const routes: ConsoleRoute[] = [
    ...apiRoutes({ store: deps.store, aggregates: deps.aggregates, hub: deps.hub, alerts: deps.alerts, search: deps.search, logger }),
    ...accessRoutes(auth, deps.accessLog),
    ...(deps.routes ?? []),
  ];

  const isSecure = (req: IncomingMessage): boolean =>
    access.cookieSecure === 'always' || req.headers['x-forwarded-proto'] === 'https' || (req.socket as TLSSocket).encrypted === true;

  const clientOf = (req: IncomingMessage): ClientInfo => {
    const ip = normalizeAddress(req.socket.remoteAddress ?? '');
    const forwarded = req.headers['x-forwarded-for'];
    return {
      ip,
      forwardedFor: auth.fromTrustedProxy(ip) && typeof forwarded === 'string' ? forwarded : null,
      userAgent: req.headers['user-agent'] ?? null,
    };
  };

  const sendText = (res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };

  const servePublic = async (req: IncomingMessage, res: ServerResponse, url: URL, secure: boolean): Promise<boolean> => {
    const path = url.pathname;
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (read && path === '/login.css') sendText(res, 200, 'text/css; charset=utf-8', LOGIN_CSS);
    else if (read && path === '/login.js') sendText(res, 200, 'text/javascript; charset=utf-8', LOGIN_JS);
    else if (req.method === 'POST' && path === '/api/login') await serveLogin(req, res, { auth, secure, client: clientOf(req) });
    else if (req.method === 'POST' && path === '/api/logout') serveLogout(req, res, { auth, secure });
    else if (read && path === '/login') {
      const token = url.searchParams.get('token');
      if (!auth.controlled) {
        res.writeHead(302, { location: '/' });
        res.end();
        return true;
      }
      const cookie = token === null ? null : openSession(token, { auth, secure, client: clientOf(req) });
      // A link /login?token=…: the token leaves the address bar (and history) at once.
      if (cookie !== null) {
        res.writeHead(302, { location: '/', 'set-cookie': cookie });
        res.end();
      } else sendText(res, token === null ? 200 : 401, 'text/html; charset=utf-8', LOGIN_HTML);
    } else return false;
    return true;
  };

  const refuse = (res: ServerResponse, path: string, denial: { status: number; code: string; message: string; clearCookie: boolean }, secure: boolean): void => {
    if (denial.clearCookie) res.setHeader('set-cookie', clearedCookie(secure));
    if (path.startsWith('/api/') || path === '/metrics') sendJsonError(res, denial.status, denial.code, denial.message);
    else if (denial.status === 401) {
      res.writeHead(302, { location: '/login' });
      res.end();
    } else sendText(res, denial.status, 'text/plain; charset=utf-8', `${denial.message}\n`);
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal): Promise<void> => {
    const method = req.method ?? 'GET';
    const found = findRoute(routes, method, url.pathname);
    if (!('route' in found)) {
      if (found.allowed.length > 0) {
        res.setHeader('allow', [...new Set(found.allowed)].join(', '));
        sendJsonError(res, 405, 'method_not_allowed', `${url.pathname} takes ${[...new Set(found.allowed)].join(', ')}`);
      } else sendJsonError(res, 404, 'not_found', `no route ${url.pathname}`);
      return;
    }
    const client = clientOf(req);
    const ctx: RouteContext = {
      req,
      res,
      url,
      params: found.params,
      principal,
      client,
      audit: async (read) => {
        try {
          await deps.accessWriter.record(principal, client, read);
          return true;
        } catch (err) {
          logger.error({ err, action: read.action, actor: principal.name }, 'read refused: its access-log record could not be written');
          sendJsonError(res, 503, 'access_log_unavailable', 'the access log could not record this read, so it is not answered; try again', { retryAfterSeconds: 5 });
          return false;
        }
      },
    };
    if (requireRole(ctx, found.route.role)) await found.route.handle(ctx);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const secure = isSecure(req);
    setSecurityHeaders(res, secure);
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    if (path === '/healthz' || path === '/readyz') {
      if (serveHealth(req, res, { registry: deps.registry, ready: deps.ready })) return;
    }
    if (checkHost && !hostAllowed(req.headers.host, access.allowedHosts)) {
      sendJsonError(
        res,
        403,
        'host_not_allowed',
        `Host ${JSON.stringify(req.headers.host ?? '')} is not this console's: use localhost, or add the name to LLM_LOGGER_CONSOLE_ALLOWED_HOSTS`,
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOriginOrNone(req)) {
      sendJsonError(res, 403, 'cross_origin', `a ${req.method} from ${req.headers.origin} is refused: the console accepts changes only from its own pages`);
      return;
    }
    if (path.startsWith('/api/')) res.setHeader('cache-control', 'no-store');
    if (await servePublic(req, res, url, secure)) return;
    const outcome = auth.authenticate({ headers: req.headers, peer: req.socket.remoteAddress ?? '', bearer: bearerToken(req), sessionSecret: sessionSecret(req) });
    if (!outcome.ok) {
      refuse(res, path, outcome.denial, secure);
      return;
    }
    if (path.startsWith('/api/')) return dispatch(req, res, url, outcome.principal);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJsonError(res, 405, 'method_not_allowed', `${path} takes GET`);
      return;
    }
    if (path === '/metrics') {
      serveHealth(req, res, { registry: deps.registry, ready: deps.ready });
      return;
    }
    deps.web.serve(path, res, req.method === 'HEAD');
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'console: unhandled error');
      sendJsonError(res, 500, 'console_error', 'internal console error');
    });
  });
}
