import type { IncomingHttpHeaders } from 'node:http';
import { GATEWAY_KEY_HEADER, presentedKey, sendsOwnCredential, type GatewayKey, type KeyCarrier } from './gateway-keys';
import type { KeyBudgets } from './key-budget';
import type { Route } from './routing';

/**
 * Whether a call may go to its upstream, decided from its headers before its
 * body is read. Pure: the key lookup, the spend so far and the clock come in.
 * Order: a gateway key (401), the key's upstreams (403), its budget (429),
 * and the Azure resource an injected key may reach (403).
 */

export interface AuthorizationContext {
  /** null when the gateway serves without keys. */
  lookup: ((key: string) => GatewayKey | null) | null;
  budgets: KeyBudgets;
  /** Lower-cased resources an injected Azure key may reach (LLM_LOGGER_AZURE_RESOURCES). */
  azureResources: ReadonlySet<string> | null;
  now(): number;
}

export interface CallAuth {
  key: GatewayKey | null;
  /** The credential header that carried the gateway key: not forwarded (the provider key is injected instead). */
  carrier: KeyCarrier | null;
}

export type RefusalReason = 'missing_gateway_key' | 'unknown_gateway_key' | 'upstream_not_allowed' | 'budget_spent' | 'azure_resource_not_allowed';

export interface CallRefusal {
  status: 401 | 403 | 429;
  /** The error's stable `type`/`code` in the JSON body. */
  type: string;
  /** Label of llm_logger_gateway_refused_total. */
  reason: RefusalReason;
  message: string;
  retryAfterSeconds?: number;
}

export function isCallRefusal(r: CallAuth | CallRefusal): r is CallRefusal {
  return (r as CallRefusal).status !== undefined;
}

const OPEN: CallAuth = { key: null, carrier: null };

function usd(microUsd: number): string {
  return `$${(microUsd / 1_000_000).toFixed(2)}`;
}

export function authorizeCall(headers: IncomingHttpHeaders, route: Route, ctx: AuthorizationContext): CallAuth | CallRefusal {
  const upstream = route.upstream;
  const injects = upstream.apiKey !== null;
  let auth = OPEN;
  if (ctx.lookup !== null) {
    const presented = presentedKey(headers, injects);
    if (presented === null) {
      return {
        status: 401,
        type: 'missing_gateway_key',
        reason: 'missing_gateway_key',
        message: injects
          ? `this gateway requires a gateway key: send it as "Authorization: Bearer <gateway key>" (the SDK's API key), or in ${GATEWAY_KEY_HEADER}`
          : `this gateway requires a gateway key in the ${GATEWAY_KEY_HEADER} header; upstream "${upstream.name}" has no provider key in the gateway, so your own provider key goes in its usual header`,
      };
    }
    const key = ctx.lookup(presented.key);
    if (key === null) {
      return {
        status: 401,
        type: 'invalid_gateway_key',
        reason: 'unknown_gateway_key',
        message:
          `the gateway key sent in ${presented.carrier} is not valid (unknown, or revoked)` +
          (presented.carrier === 'x-llm-key' ? '' : `; if it is your own provider key, send your gateway key in ${GATEWAY_KEY_HEADER}`),
      };
    }
    if (key.upstreams !== null && !key.upstreams.has(upstream.name)) {
      return {
        status: 403,
        type: 'upstream_not_allowed',
        reason: 'upstream_not_allowed',
        message: `gateway key "${key.id}" may not use upstream "${upstream.name}"; it may use: ${[...key.upstreams].sort().join(', ')}`,
      };
    }
    if (key.budget !== null) {
      const now = ctx.now();
      const { microUsd, resetsAt } = ctx.budgets.spentIn(key.id, key.budget.period, now);
      if (microUsd >= key.budget.microUsd) {
        return {
          status: 429,
          type: 'budget_exceeded',
          reason: 'budget_spent',
          message:
            `gateway key "${key.id}" has spent its budget for this ${key.budget.period} (${usd(microUsd)} of ${usd(key.budget.microUsd)}); ` +
            `it resets at ${new Date(resetsAt).toISOString()}`,
          retryAfterSeconds: Math.max(1, Math.ceil((resetsAt - now) / 1000)),
        };
      }
    }
    auth = { key, carrier: presented.carrier };
  }
  if (upstream.azure && injects && !sendsOwnCredential(headers, auth.carrier)) {
    const resource = route.resource ?? '';
    if (ctx.azureResources === null || !ctx.azureResources.has(resource)) {
      return {
        status: 403,
        type: 'azure_resource_not_allowed',
        reason: 'azure_resource_not_allowed',
        message: `Azure resource "${resource}" is not in LLM_LOGGER_AZURE_RESOURCES: the gateway's Azure key is only sent to the resources listed there`,
      };
    }
  }
  return auth;
}
