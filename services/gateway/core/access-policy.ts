import { LlmLoggerError } from '../../shared/errors';
import type { Upstream } from '../../shared/config/upstreams';
import { upstreamEnvName } from '../../shared/config/upstreams';
import type { GatewaySecuritySettings } from '../../shared/config/gateway-security';

/**
 * Who may call the gateway and its ingest API, decided once at start-up from
 * the configuration. Pure. The rule: nothing that spends a provider key or
 * writes records is reachable by strangers unless the operator said so.
 *
 * - A provider key injected by the gateway requires gateway keys, always
 *   (even on loopback: any local process or web page could spend it).
 * - Without keys, the gateway serves only on loopback, unless
 *   LLM_LOGGER_GATEWAY_AUTH=none says that an open gateway is intended
 *   (clients bring their own provider keys); that is logged as a warning.
 * - The same for ingest, with LLM_LOGGER_INGEST_TOKENS / LLM_LOGGER_INGEST_AUTH=none.
 * - An injected Azure key needs the list of resources it may reach.
 */

export type OpenReason = 'loopback' | 'opted-out';

export interface GatewayAccess {
  clients: { mode: 'keys'; file: string } | { mode: 'open'; reason: OpenReason };
  ingest: { mode: 'tokens' } | { mode: 'open'; reason: OpenReason };
  /** Upstreams for which the gateway injects a provider key. */
  injecting: string[];
}

const V = 'LLM_LOGGER_';

/** 127.0.0.0/8, ::1 and `localhost`: nothing outside this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h) || /^::ffff:127(?:\.\d{1,3}){3}$/.test(h);
}

function fail(message: string): never {
  throw new LlmLoggerError('CONFIG_INVALID', `invalid configuration: ${message}`);
}

function keyVariables(names: string[]): string {
  return names.map((n) => `${V}UPSTREAM_${upstreamEnvName(n)}_API_KEY`).join(', ');
}

export function resolveGatewayAccess(gateway: {
  host: string;
  upstreams: ReadonlyMap<string, Upstream>;
  security: GatewaySecuritySettings;
}): GatewayAccess {
  const sec = gateway.security;
  const loopback = isLoopbackHost(gateway.host);
  const injecting = [...gateway.upstreams.values()].filter((u) => u.apiKey !== null).map((u) => u.name).sort();

  let clients: GatewayAccess['clients'];
  if (sec.keysFile !== null) {
    clients = { mode: 'keys', file: sec.keysFile };
  } else if (injecting.length > 0) {
    const what = `the gateway injects a provider key for ${injecting.join(', ')} (${keyVariables(injecting)} or apiKeyEnv in the config file)`;
    if (sec.auth === 'none') {
      fail(`${V}GATEWAY_AUTH=none, but ${what}: anyone who reaches the gateway could spend it. Set ${V}GATEWAY_KEYS_FILE (see \`llm-logger keys add\`) or stop injecting the key`);
    }
    fail(`${what}, so clients must authenticate with gateway keys: set ${V}GATEWAY_KEYS_FILE (see \`llm-logger keys add\`)`);
  } else if (loopback) {
    clients = { mode: 'open', reason: 'loopback' };
  } else if (sec.auth === 'none') {
    clients = { mode: 'open', reason: 'opted-out' };
  } else {
    fail(
      `${V}GATEWAY_HOST=${gateway.host} serves other hosts and no gateway keys are configured: set ${V}GATEWAY_KEYS_FILE, ` +
        `or ${V}GATEWAY_AUTH=none if an open gateway is intended (clients bring their own provider keys)`,
    );
  }

  const azureInjected = [...gateway.upstreams.values()].some((u) => u.azure && u.apiKey !== null);
  if (azureInjected && sec.azureResources === null) {
    fail(
      `${V}UPSTREAM_AZURE_API_KEY (or apiKeyEnv) is injected for any /azure/<resource>/... a client names: ` +
        `list the resources it may reach in ${V}AZURE_RESOURCES`,
    );
  }

  let ingest: GatewayAccess['ingest'];
  if (sec.ingestTokens.length > 0) ingest = { mode: 'tokens' };
  else if (loopback) ingest = { mode: 'open', reason: 'loopback' };
  else if (sec.ingestAuth === 'none') ingest = { mode: 'open', reason: 'opted-out' };
  else {
    fail(
      `${V}GATEWAY_HOST=${gateway.host} serves other hosts and no ingest tokens are configured: set ${V}INGEST_TOKENS, ` +
        `or ${V}INGEST_AUTH=none if anyone who reaches the gateway may write events through POST /ingest/v1/events`,
    );
  }
  return { clients, ingest, injecting };
}
