import { sendJson, sendJsonError } from '../shared/http/json-response';
import type { InferenceEvent } from '../shared/event/inference-event';
import type { Logger } from '../shared/observability/logger';
import { parseAggregateQuery } from '../aggregator/core/aggregate-query';
import type { SearchIndex } from '../indexer/search-index';
import type { AlertRunner } from './alerts/alert-runner';
import type { AggregatesView } from './aggregates-view';
import { permissionsOf } from './access/roles';
import type { ConsoleRoute, RouteContext } from './access/route-guard';
import type { LiveHub } from './live-hub';
import { encodeCursor, isQueryError, parseRequestQuery } from './request-query';
import type { RequestsStore } from './requests-store';
import { serveSearch } from './search-route';
import type { AggregatesAnswer } from './aggregates-contract';
import { RELATIVE_ACCURACY } from '../aggregator/core/aggregate-record';

/**
 * The console's data routes. Viewers get metadata and aggregates; bodies
 * (request and response bodies, answer text, tool calls, the live tail's
 * prompt and text, answer previews) go only to auditors and admins, and
 * each read of them is recorded in the access log before it is answered.
 * An auditor may ask for the metadata alone (`bodies=false`, `preview=false`,
 * `text=false`): nothing is read, nothing is recorded.
 */

export interface ApiRouteDeps {
  store: RequestsStore;
  aggregates: AggregatesView;
  hub: LiveHub;
  alerts: AlertRunner;
  search?: SearchIndex;
  logger: Logger;
}

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The fields of an event that hold what was said: never shown to a viewer. */
export const BODY_FIELDS = ['request_body', 'response_body', 'response_text', 'tool_calls'] as const satisfies readonly (keyof InferenceEvent)[];

export function withoutBodies(e: InferenceEvent): InferenceEvent & { bodies_withheld: true } {
  return { ...e, request_body: null, response_body: null, response_text: null, tool_calls: null, bodies_withheld: true };
}

/** A yes/no switch parameter (default yes); a bad value answers 400 and returns null. */
function flag(ctx: RouteContext, name: string): boolean | null {
  const v = ctx.url.searchParams.get(name);
  if (v === null || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  sendJsonError(ctx.res, 400, 'invalid_parameter', `${name} must be true or false`, { extra: { parameter: name } });
  return null;
}

const paramsExcept = (url: URL, ...names: string[]): Record<string, string> =>
  Object.fromEntries([...url.searchParams].filter(([k]) => !names.includes(k)));

export function apiRoutes(deps: ApiRouteDeps): ConsoleRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/live',
      role: 'viewer',
      handle: async (ctx) => {
        const wanted = flag(ctx, 'text');
        if (wanted === null) return;
        const text = wanted && permissionsOf(ctx.principal.role).bodies;
        if (text && !(await ctx.audit({ action: 'live_text', filters: paramsExcept(ctx.url) }))) return;
        deps.hub.attach(ctx.req, ctx.res, { text });
      },
    },
    {
      method: 'GET',
      path: '/api/alerts',
      role: 'viewer',
      handle: (ctx) => sendJson(ctx.res, 200, { active: deps.alerts.active(), recent: deps.alerts.recent() }),
    },
    {
      method: 'GET',
      path: '/api/requests',
      role: 'viewer',
      handle: async (ctx) => {
        const wanted = flag(ctx, 'preview');
        if (wanted === null) return;
        const params = new URLSearchParams(ctx.url.searchParams);
        params.delete('preview');
        const q = parseRequestQuery(params);
        if (isQueryError(q)) {
          sendJsonError(ctx.res, 400, 'invalid_parameter', q.message, { extra: { parameter: q.parameter } });
          return;
        }
        let requests = deps.store.list(q);
        const last = requests.length === q.limit ? requests[requests.length - 1] : undefined;
        const previewed = requests.filter((r) => r.response_preview !== null).map((r) => r.event_id);
        if (!(wanted && permissionsOf(ctx.principal.role).bodies)) requests = requests.map((r) => ({ ...r, response_preview: null }));
        else if (previewed.length > 0) {
          const recorded = await ctx.audit({ action: 'request_previews', eventIds: previewed, filters: paramsExcept(ctx.url), results: requests.length });
          if (!recorded) return;
        }
        sendJson(ctx.res, 200, { requests, next_before: last ? encodeCursor(Date.parse(last.started_at), last.event_id) : null });
      },
    },
    {
      method: 'GET',
      path: /^\/api\/requests\/([^/]+)$/,
      role: 'viewer',
      handle: async (ctx) => {
        let id: string;
        try {
          id = decodeURIComponent(ctx.params[0]!);
        } catch {
          id = '';
        }
        if (!EVENT_ID.test(id)) {
          sendJsonError(ctx.res, 400, 'invalid_parameter', 'request id must be a UUID', { extra: { parameter: 'id' } });
          return;
        }
        const wanted = flag(ctx, 'bodies');
        if (wanted === null) return;
        const event = deps.store.get(id);
        if (!event) {
          sendJsonError(ctx.res, 404, 'not_found', `no request ${id} (yet): events appear once the log delivers them`);
          return;
        }
        if (!(wanted && permissionsOf(ctx.principal.role).bodies)) {
          sendJson(ctx.res, 200, withoutBodies(event));
          return;
        }
        if (await ctx.audit({ action: 'request_bodies', eventIds: [id], filters: paramsExcept(ctx.url) })) sendJson(ctx.res, 200, event);
      },
    },
    {
      method: 'GET',
      path: '/api/aggregates',
      role: 'viewer',
      handle: (ctx) => {
        const q = parseAggregateQuery(ctx.url.searchParams, Date.now());
        if ('parameter' in q) {
          sendJsonError(ctx.res, 400, 'invalid_parameter', q.message, { extra: { parameter: q.parameter } });
          return;
        }
        sendJson(ctx.res, 200, {
          window: q.window,
          groupBy: q.groupBy,
          from: new Date(q.from).toISOString(),
          to: new Date(q.to).toISOString(),
          rollup: q.rollup ?? false,
          // Every percentile below is within this relative error of the exact one (the DDSketches' guarantee).
          relativeAccuracy: RELATIVE_ACCURACY,
          rows: deps.aggregates.query(q),
        } satisfies AggregatesAnswer);
      },
    },
    {
      method: 'GET',
      path: '/api/search',
      role: 'auditor',
      handle: (ctx) =>
        serveSearch(ctx.res, ctx.url.searchParams, deps.search, deps.logger, (page) =>
          ctx.audit({
            action: 'search',
            query: ctx.url.searchParams.get('q') ?? '',
            filters: paramsExcept(ctx.url, 'q'),
            eventIds: page.hits.map((h) => h.event_id),
            results: page.total,
          }),
        ),
    },
  ];
}
