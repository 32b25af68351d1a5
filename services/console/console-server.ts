import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { serveHealth } from '../shared/http/health';
import { sendJson, sendJsonError } from '../shared/http/json-response';
import type { Logger } from '../shared/observability/logger';
import { encodeCursor, isQueryError, parseRequestQuery } from './request-query';
import type { RequestsStore } from './requests-store';
import type { AggregatesView } from './aggregates-view';
import { parseAggregateQuery } from '../aggregator/core/aggregate-query';
import { serveSearch } from './search-route';
import type { SearchIndex } from '../indexer/search-index';

export interface ConsoleDeps {
  store: RequestsStore;
  aggregates: AggregatesView;
  registry: Registry;
  logger: Logger;
  ready: () => boolean;
  /** The audit index behind /api/search. */
  search?: SearchIndex;
}

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const INDEX_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>llm-logger</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body><h1>llm-logger</h1><p>Recent calls (the full dashboard is on its way). API: <a href="/api/requests">/api/requests</a></p>
<table><thead><tr><th>time</th><th>upstream</th><th>model</th><th>status</th><th>latency ms</th><th>tokens in/out</th><th>cost $</th><th>user</th><th>app</th></tr></thead><tbody id="rows"></tbody></table>
<script>
async function load(){const r=await fetch('/api/requests?limit=50');const j=await r.json();const t=document.getElementById('rows');t.textContent='';
for(const c of j.requests){const tr=document.createElement('tr');for(const v of [c.started_at,c.upstream,c.model,c.http_status,Math.round(c.latency_ms),(c.input_tokens??'-')+'/'+(c.output_tokens??'-'),c.cost_usd??'-',c.user??'',c.app??'']){const td=document.createElement('td');td.textContent=String(v);tr.appendChild(td)}t.appendChild(tr)}}
load();setInterval(load,2000);
</script></body></html>`;

/** Builds the console's HTTP server without listening. */
export function buildConsole(deps: ConsoleDeps): Server {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (serveHealth(req, res, { registry: deps.registry, ready: deps.ready })) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJsonError(res, 405, 'method_not_allowed', 'the console API is read-only (GET)');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://console');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(INDEX_HTML);
      return;
    }
    if (url.pathname === '/api/requests') {
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
    if (url.pathname === '/api/aggregates') {
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
    if (url.pathname === '/api/search') {
      serveSearch(res, url.searchParams, deps.search, deps.logger);
      return;
    }
    const m = /^\/api\/requests\/([^/]+)$/.exec(url.pathname);
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
    sendJsonError(res, 404, 'not_found', `no route ${url.pathname}`);
  };
  return createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      deps.logger.error({ err }, 'console: unhandled error');
      sendJsonError(res, 500, 'console_error', 'internal console error');
    }
  });
}
