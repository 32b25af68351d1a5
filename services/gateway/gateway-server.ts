import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config/config';
import type { InferenceEvent } from '../shared/event/inference-event';
import type { EventRecording } from '../shared/log/event-recorder';
import type { Logger } from '../shared/observability/logger';
import { estimateTokens, priceCall } from '../shared/pricing';
import type { PriceBook } from './price-reload';
import { isRouteError, resolveRoute } from './core/routing';
import { boundedMemo } from '../shared/bounded-memo';
import type { GatewayMetrics } from './gateway-metrics';
import { sendJsonError } from '../shared/http/json-response';
import { proxyCall, type ProxyDeps } from './proxy';
import { UpstreamDeadlines } from './upstream-deadlines';
import { UsageInjectionPolicy } from './usage-injection-policy';
import { Agent } from './undici-parts';
import { EndedCalls } from './ended-calls';
import type { LiveCoalescer } from './core/live-coalescer';
import { closeServer } from '../shared/http/close-server';
import { serveHealth } from '../shared/http/health';
import { resolveGatewayAccess, type GatewayAccess } from './core/access-policy';
import { authorizeCall, isCallRefusal, type AuthorizationContext } from './core/call-authorization';
import { KeyBudgets } from './core/key-budget';
import type { GatewayKeyStore } from './key-store';
import { createIngestRoute, INGEST_PATH } from './ingest-route';

export { INGEST_PATH } from './ingest-route';

export interface GatewayDeps {
  config: Config;
  recorder: EventRecording;
  metrics: GatewayMetrics;
  /** The prices in force (reloaded without a restart). */
  prices: PriceBook;
  registry: Registry;
  logger: Logger;
  /** Calls in flight for the live view (null: not published). */
  live?: LiveCoalescer | null;
  /** Broker state and spool depth for /readyz, when the log has them. */
  logDetails?: () => Record<string, unknown>;
  /** False while the log lacks what the gateway writes to (a topic not created yet). */
  logReady?: () => boolean;
  /** Who may call (default: decided from the configuration, which throws when it is unsafe). */
  access?: GatewayAccess;
  /** The gateway keys; required when `access` asks for keys. */
  keys?: GatewayKeyStore | null;
  /** Spend per key (default: a fresh count). */
  budgets?: KeyBudgets;
}

export interface Gateway {
  server: Server;
  /** Stops accepting, lets in-flight calls finish up to the grace period, then closes upstream connections. */
  close(graceMs: number): Promise<void>;
}

/** Builds the gateway's HTTP server without listening (the caller listens). */
export function buildGateway(deps: GatewayDeps): Gateway {
  const { config, recorder, logger } = deps;
  const g = config.gateway;
  const sec = g.security;
  const access = deps.access ?? resolveGatewayAccess(g);
  const keys = deps.keys ?? null;
  if (access.clients.mode === 'keys' && keys === null) throw new Error('buildGateway: gateway keys are required but no key store was given');
  const budgets = deps.budgets ?? new KeyBudgets();
  // Spend per key is counted from the events this gateway records (see key-budget.ts).
  const countSpend = (event: InferenceEvent): void => {
    if (keys === null || !event.gateway_key_id) return;
    const key = keys.byId(event.gateway_key_id);
    if (key?.budget) budgets.add(key.id, key.budget.period, event.cost_micro_usd, event.ended_at);
  };
  const dispatcher = new Agent({
    connect: { timeout: g.connectTimeoutMs },
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: 256, // per upstream origin
    pipelining: 1,
  });
  const deadlines = new UpstreamDeadlines(g.headersTimeoutMs, g.bodyTimeoutMs);
  const { metrics } = deps;
  const ended = new EndedCalls({
    eventDeps: {
      responseTextMaxChars: sec.responseTextMaxChars,
      estimateTokens,
      price: (provider, model, usage, serviceTier) => {
        const priced = priceCall(deps.prices.current, provider, model, usage, serviceTier);
        if (priced.reason === 'unknown_model') metrics.unknownModel.inc({ provider });
        else if (priced.reason !== 'priced' && priced.reason !== 'no_usage') metrics.unpriced.inc({ provider, reason: priced.reason });
        return priced;
      },
    },
    metrics,
    sink: {
      record: (event) => {
        countSpend(event);
        void recorder.record(event); // a full queue counts the drop itself
      },
      recordDurable: (event) => {
        countSpend(event);
        return recorder.recordDurable(event);
      },
    },
    live: deps.live ?? null,
    logger,
  });
  const proxyDeps: ProxyDeps = {
    settings: {
      instance: config.instance,
      sampleRate: g.sampleRate,
      maxRequestBytes: g.maxRequestBytes,
      captureMaxBytes: g.captureMaxBytes,
      strict: g.auditMode === 'strict',
      liveText: config.redaction.policy !== 'all',
      limits: { textMaxChars: sec.responseTextMaxChars, eventMaxChars: sec.streamEventMaxChars },
    },
    dispatcher,
    deadlines,
    ended,
    canRecord: () => recorder.canRecord(),
    metrics,
    logger,
    live: deps.live ?? null,
    usageInjection: new UsageInjectionPolicy(deps.registry, logger),
  };

  const authorization: AuthorizationContext = {
    lookup: keys ? (key) => keys.lookup(key) : null,
    budgets,
    azureResources: sec.azureResources ? new Set(sec.azureResources) : null,
    now: Date.now,
  };
  const ingest = createIngestRoute({ config, recorder, metrics, logger, access: access.ingest, tokens: sec.ingestTokens });

  let ready = true;
  // A route depends only on the request target and the configured upstreams: most calls repeat a few.
  const routeOf = boundedMemo(1_000, (url: string) => resolveRoute(g.upstreams, url));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    if (serveHealth(req, res, { registry: deps.registry, ready: () => ready && recorder.canRecord() && (deps.logReady?.() ?? true), details: deps.logDetails })) return;
    if (url === INGEST_PATH || url.startsWith(`${INGEST_PATH}?`)) {
      await ingest(req, res);
      return;
    }
    const route = routeOf(url);
    if (isRouteError(route)) {
      metrics.refused.inc({ reason: route.type });
      sendJsonError(res, route.status, route.type, route.message, {
        extra: route.type === 'unknown_upstream' ? { configured: [...g.upstreams.keys()].sort() } : {},
      });
      return;
    }
    const auth = authorizeCall(req.headers, route, authorization);
    if (isCallRefusal(auth)) {
      metrics.refused.inc({ reason: auth.reason });
      // Refused before the body is read: the connection is closed rather than drained.
      sendJsonError(res, auth.status, auth.type, auth.message, {
        close: true,
        retryAfterSeconds: auth.retryAfterSeconds,
        // The official SDKs retry a 429 unless told not to: a spent budget does not come back in seconds.
        headers: auth.status === 429 ? { 'x-should-retry': 'false' } : undefined,
      });
      return;
    }
    await proxyCall(proxyDeps, route, req, res, auth);
  };

  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      // Slow clients: headers, then the whole request, must arrive in time (else 408); node checks every interval.
      headersTimeout: sec.clientHeadersTimeoutMs,
      requestTimeout: sec.clientRequestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(sec.clientHeadersTimeoutMs / 4))),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (req.destroyed || res.destroyed) {
          // The client went away (or was cut off by a timeout) while its request was read: nothing to answer.
          logger.debug({ err }, 'gateway: client gone before its request was read');
          return;
        }
        logger.error({ err }, 'gateway: unhandled error');
        sendJsonError(res, 500, 'gateway_error', 'internal gateway error');
      });
    },
  );
  server.maxConnections = sec.maxConnections;
  server.on('drop', () => metrics.refused.inc({ reason: 'max_connections' }));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket, sec, metrics));

  return {
    server,
    async close(graceMs) {
      ready = false;
      await closeServer(server, graceMs);
      ended.flush(); // the calls that ended last reach the log before it is flushed
      await dispatcher.close().catch(() => undefined);
      deadlines.close();
    },
  };
}

/**
 * A request node:http could not take: too slow (the client timeouts), or
 * malformed. Answered in the gateway's JSON error shape when nothing was
 * written yet, then the connection is closed; counted by reason.
 */
function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Socket,
  sec: Config['gateway']['security'],
  metrics: GatewayMetrics,
): void {
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  // As node's own handler does: answer only if the response in flight on this socket (a keep-alive
  // connection may have served others before) has not started; otherwise the client sees a cut.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  metrics.refused.inc({ reason: timeout ? 'client_timeout' : tooLarge ? 'headers_too_large' : 'bad_request' });
  const [status, type, message] = timeout
    ? [
        408,
        'request_timeout',
        `the request did not arrive in time: headers within LLM_LOGGER_CLIENT_HEADERS_TIMEOUT_MS (${sec.clientHeadersTimeoutMs} ms), ` +
          `headers and body within LLM_LOGGER_CLIENT_REQUEST_TIMEOUT_MS (${sec.clientRequestTimeoutMs} ms)`,
      ]
    : tooLarge
      ? [431, 'headers_too_large', 'request headers are too large']
      : [400, 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { type, code: type, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  // A client that does not read its answer must not keep the socket.
  setTimeout(() => socket.destroy(), 5_000).unref();
}
