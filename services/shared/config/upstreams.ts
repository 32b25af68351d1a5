import { z } from 'zod';
import { LlmLoggerError } from '../errors';

export type WireFormatName = 'openai' | 'anthropic';

/**
 * Whether the gateway adds `stream_options.include_usage` to streamed
 * OpenAI-format calls that did not ask for usage: `auto` does, and stops for
 * the upstream once it answers 400 naming the option (retrying that call
 * without it); `always` does and never retries; `never` does not.
 */
export const USAGE_INJECTION_MODES = ['auto', 'always', 'never'] as const;
export type UsageInjectionMode = (typeof USAGE_INJECTION_MODES)[number];

export interface Upstream {
  name: string;
  /**
   * Base URL. For Azure it holds the `{resource}` placeholder, filled from the
   * first path segment after `/azure/`.
   */
  baseUrl: string;
  format: WireFormatName;
  provider: string;
  /** True when the route carries an Azure resource segment. */
  azure: boolean;
  /** Credential injected when the client sends none (never logged). */
  apiKey: string | null;
  /** `stream_options.include_usage` injection (OpenAI format only); absent means `auto`. */
  usageInjection?: UsageInjectionMode;
}

/** Names the gateway serves itself; no upstream may take them. */
export const RESERVED_ROUTE_NAMES = new Set(['ingest', 'healthz', 'readyz', 'metrics']);

export const UPSTREAM_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export const upstreamFileSchema = z
  .object({
    url: z.string().optional(),
    format: z.enum(['openai', 'anthropic']).optional(),
    provider: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).optional(),
    /** Name of an environment variable holding the provider key to inject. */
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
    usageInjection: z.enum(USAGE_INJECTION_MODES).optional(),
  })
  .strict();

type UpstreamFileEntry = z.infer<typeof upstreamFileSchema>;

const BUILT_IN: readonly Omit<Upstream, 'apiKey'>[] = [
  { name: 'openai', baseUrl: 'https://api.openai.com', format: 'openai', provider: 'openai', azure: false },
  { name: 'anthropic', baseUrl: 'https://api.anthropic.com', format: 'anthropic', provider: 'anthropic', azure: false },
  { name: 'azure', baseUrl: 'https://{resource}.openai.azure.com', format: 'openai', provider: 'azure', azure: true },
];

function fail(key: string, message: string): never {
  throw new LlmLoggerError('CONFIG_INVALID', `invalid configuration: ${key}: ${message}`);
}

function checkBaseUrl(key: string, value: string, azure: boolean): string {
  let url: URL;
  try {
    url = new URL(value.replace('{resource}', 'resource'));
  } catch {
    return fail(key, `not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(key, 'must be an http or https URL');
  if (url.username || url.password) fail(key, 'must not contain credentials; use an API key setting');
  if (url.search || url.hash) fail(key, 'must not contain a query or fragment');
  if (!azure && value.includes('{resource}')) fail(key, '{resource} is only meaningful for the azure upstream');
  return value.replace(/\/+$/, '');
}

/** Environment variable name segment for an upstream: `my-vllm` → `MY_VLLM`. */
export function upstreamEnvName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/**
 * Built-ins, then the config file's `upstreams:`, then
 * `LLM_LOGGER_UPSTREAM_<NAME>_URL|FORMAT|PROVIDER|API_KEY|USAGE_INJECTION` (env wins).
 */
export function buildUpstreams(fromFile: Record<string, UpstreamFileEntry>, env: NodeJS.ProcessEnv): Map<string, Upstream> {
  const result = new Map<string, Upstream>();
  for (const b of BUILT_IN) result.set(b.name, { ...b, apiKey: null });

  const envNames = new Set<string>();
  for (const key of Object.keys(env)) {
    const m = /^LLM_LOGGER_UPSTREAM_([A-Z0-9_]+)_(URL|FORMAT|PROVIDER|API_KEY|USAGE_INJECTION)$/.exec(key);
    if (m?.[1]) envNames.add(m[1].toLowerCase().replace(/_/g, '-'));
  }
  const names = new Set([...result.keys(), ...Object.keys(fromFile), ...envNames]);

  for (const name of names) {
    const where = `upstreams.${name}`;
    if (!UPSTREAM_NAME.test(name)) fail(where, 'name must be lower-case letters, digits and dashes, starting with a letter');
    if (RESERVED_ROUTE_NAMES.has(name)) fail(where, `"${name}" is reserved by the gateway`);
    const builtIn = result.get(name);
    const file = fromFile[name] ?? {};
    const envKey = `LLM_LOGGER_UPSTREAM_${upstreamEnvName(name)}`;
    const envUrl = env[`${envKey}_URL`] || undefined;
    const envFormat = env[`${envKey}_FORMAT`] || undefined;
    const envProvider = env[`${envKey}_PROVIDER`] || undefined;
    const envApiKey = env[`${envKey}_API_KEY`] || undefined;
    const envUsageInjection = env[`${envKey}_USAGE_INJECTION`] || undefined;

    const urlKey = envUrl ? `${envKey}_URL` : `${where}.url`;
    const rawUrl = envUrl ?? file.url ?? builtIn?.baseUrl;
    if (!rawUrl) fail(`${envKey}_URL`, `upstream "${name}" needs a base URL`);
    const azure = builtIn?.azure ?? false;
    const baseUrl = checkBaseUrl(urlKey, rawUrl, azure);

    const formatRaw = envFormat ?? file.format ?? builtIn?.format;
    if (!formatRaw) fail(`${envKey}_FORMAT`, `upstream "${name}" needs a wire format (openai or anthropic)`);
    if (formatRaw !== 'openai' && formatRaw !== 'anthropic') fail(`${envKey}_FORMAT`, 'must be openai or anthropic');
    if (builtIn && formatRaw !== builtIn.format) fail(`${envKey}_FORMAT`, `the built-in ${name} upstream speaks ${builtIn.format}`);

    const provider = envProvider ?? file.provider ?? builtIn?.provider ?? name;
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(provider)) fail(`${envKey}_PROVIDER`, 'lower-case letters, digits, dot, dash, underscore');

    let apiKey: string | null = envApiKey ?? null;
    if (!apiKey && file.apiKeyEnv) {
      apiKey = env[file.apiKeyEnv] || null;
      if (!apiKey) fail(`${where}.apiKeyEnv`, `environment variable ${file.apiKeyEnv} is not set`);
    }
    const usageInjection = envUsageInjection ?? file.usageInjection ?? 'auto';
    if (!(USAGE_INJECTION_MODES as readonly string[]).includes(usageInjection)) {
      fail(`${envKey}_USAGE_INJECTION`, `must be ${USAGE_INJECTION_MODES.join(', ')}, got ${JSON.stringify(usageInjection)}`);
    }
    result.set(name, { name, baseUrl, format: formatRaw, provider, azure, apiKey, usageInjection: usageInjection as UsageInjectionMode });
  }
  return result;
}
