import { createHash } from 'node:crypto';
import { LlmLoggerError } from '../errors';
import type { EnvSettings } from './config';

/**
 * The gateway's security settings, parsed with the rest of the configuration.
 * Only what can be judged from the variables alone is checked here; whether
 * the gateway may start as configured (provider keys injected, bind address)
 * is decided when the gateway starts (services/gateway/core/access-policy.ts),
 * so that commands that never serve calls (`query`, `tail`) are not refused.
 */

export const GATEWAY_AUTH_MODES = ['keys', 'none'] as const;
export const INGEST_AUTH_MODES = ['tokens', 'none'] as const;

const TOKEN_NAME = '[a-z0-9][a-z0-9._-]{0,62}';
const TOKEN_ENTRY = `\\s*(?:${TOKEN_NAME}:)?[^,\\s]{16,}\\s*`;
export const INGEST_TOKENS_PATTERN = new RegExp(`^${TOKEN_ENTRY}(?:,${TOKEN_ENTRY})*$`);
export const INGEST_TOKENS_MESSAGE =
  'must be a comma-separated list of tokens, each at least 16 characters without spaces, optionally named as name:token';

/** Azure resource names (see routing.ts AZURE_RESOURCE), comma-separated. */
export const AZURE_RESOURCES_PATTERN = /^\s*[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\s*(?:,\s*[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\s*)*$/i;

export interface IngestToken {
  /** Recorded as `gateway_instance = ingest:<id>` on the events it sends; never the token. */
  id: string;
  token: string;
}

export interface GatewaySecuritySettings {
  /** LLM_LOGGER_GATEWAY_AUTH as given (null: decided from the key file, the bind address and injected keys). */
  auth: 'keys' | 'none' | null;
  keysFile: string | null;
  /** LLM_LOGGER_INGEST_AUTH as given (null: tokens when set, else open on loopback only). */
  ingestAuth: 'tokens' | 'none' | null;
  ingestTokens: IngestToken[];
  /** Lower-cased Azure resource names an injected Azure key may reach; null = none listed. */
  azureResources: string[] | null;
  clientHeadersTimeoutMs: number;
  clientRequestTimeoutMs: number;
  maxConnections: number;
  responseTextMaxChars: number;
  streamEventMaxChars: number;
}

const V = 'LLM_LOGGER_';

function fail(message: string): never {
  throw new LlmLoggerError('CONFIG_INVALID', `invalid configuration: ${message}`);
}

/** `name:token` or a bare token, whose id is then derived from its hash (the token itself is never shown). */
export function parseIngestTokens(value: string | undefined): IngestToken[] {
  if (value === undefined) return [];
  const tokens: IngestToken[] = [];
  const name = new RegExp(`^(${TOKEN_NAME}):(.+)$`);
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    const m = name.exec(entry);
    const token = m ? m[2]! : entry;
    const id = m ? m[1]! : `t-${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
    if (tokens.some((t) => t.id === id)) fail(`${V}INGEST_TOKENS: the name "${id}" is used twice`);
    if (tokens.some((t) => t.token === token)) fail(`${V}INGEST_TOKENS: the same token is listed twice`);
    tokens.push({ id, token });
  }
  return tokens;
}

export function gatewaySecuritySettings(s: EnvSettings): GatewaySecuritySettings {
  if (s.GATEWAY_AUTH === 'keys' && !s.GATEWAY_KEYS_FILE) fail(`${V}GATEWAY_AUTH=keys needs ${V}GATEWAY_KEYS_FILE`);
  if (s.GATEWAY_AUTH === 'none' && s.GATEWAY_KEYS_FILE) {
    fail(`${V}GATEWAY_AUTH=none contradicts ${V}GATEWAY_KEYS_FILE: unset one of them`);
  }
  if (s.INGEST_AUTH === 'tokens' && !s.INGEST_TOKENS) fail(`${V}INGEST_AUTH=tokens needs ${V}INGEST_TOKENS`);
  if (s.INGEST_AUTH === 'none' && s.INGEST_TOKENS) fail(`${V}INGEST_AUTH=none contradicts ${V}INGEST_TOKENS: unset one of them`);
  if (s.CLIENT_HEADERS_TIMEOUT_MS > s.CLIENT_REQUEST_TIMEOUT_MS) {
    fail(`${V}CLIENT_HEADERS_TIMEOUT_MS (${s.CLIENT_HEADERS_TIMEOUT_MS}) must not exceed ${V}CLIENT_REQUEST_TIMEOUT_MS (${s.CLIENT_REQUEST_TIMEOUT_MS})`);
  }
  const azure = s.AZURE_RESOURCES?.split(',')
    .map((r) => r.trim().toLowerCase())
    .filter(Boolean);
  return {
    auth: s.GATEWAY_AUTH ?? null,
    keysFile: s.GATEWAY_KEYS_FILE ?? null,
    ingestAuth: s.INGEST_AUTH ?? null,
    ingestTokens: parseIngestTokens(s.INGEST_TOKENS),
    azureResources: azure && azure.length > 0 ? azure : null,
    clientHeadersTimeoutMs: s.CLIENT_HEADERS_TIMEOUT_MS,
    clientRequestTimeoutMs: s.CLIENT_REQUEST_TIMEOUT_MS,
    maxConnections: s.GATEWAY_MAX_CONNECTIONS,
    responseTextMaxChars: s.RESPONSE_TEXT_MAX_CHARS,
    streamEventMaxChars: s.STREAM_EVENT_MAX_CHARS,
  };
}
