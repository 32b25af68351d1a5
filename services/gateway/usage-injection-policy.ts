import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Upstream } from '../shared/config/upstreams';
import type { Logger } from '../shared/observability/logger';

/**
 * Which upstreams the gateway asks for `stream_options.include_usage` (see
 * UsageInjectionMode). What `auto` learns is one flag per upstream, kept for
 * the life of the process: after a restart the first streamed call finds out
 * again (one retry).
 */
export class UsageInjectionPolicy {
  private readonly refusing = new Set<string>();
  private readonly off: Gauge<'upstream'>;
  private readonly retries: Counter<'upstream'>;

  constructor(
    registry: Registry,
    private readonly logger: Logger,
  ) {
    this.off = new Gauge({
      name: 'llm_logger_gateway_usage_injection_off',
      help: 'Upstreams in usageInjection auto that refused stream_options.include_usage: 1 while the gateway no longer adds it for them (their streamed calls without it get estimated usage).',
      labelNames: ['upstream'] as const,
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'llm_logger_gateway_usage_injection_retries_total',
      help: 'Streamed calls sent again without stream_options.include_usage after the upstream answered 400 naming it (the client saw only the second answer).',
      labelNames: ['upstream'] as const,
      registers: [registry],
    });
  }

  /** Whether to add the option to this upstream's streamed call that did not ask for usage. */
  shouldInject(upstream: Upstream): boolean {
    const mode = upstream.usageInjection ?? 'auto';
    return mode === 'always' || (mode === 'auto' && !this.refusing.has(upstream.name));
  }

  /** Whether a 400 naming the option is answered by sending the call again without it (`auto` only). */
  retriesWithout(upstream: Upstream): boolean {
    return (upstream.usageInjection ?? 'auto') === 'auto';
  }

  /** The upstream refused the option (a 400 naming it): stop adding it, and say so once. */
  refused(upstream: Upstream, answer: string): void {
    this.retries.inc({ upstream: upstream.name });
    if (this.refusing.has(upstream.name)) return;
    this.refusing.add(upstream.name);
    this.off.set({ upstream: upstream.name }, 1);
    this.logger.warn(
      { upstream: upstream.name, answer: answer.slice(0, 500) },
      `upstream ${upstream.name} refused stream_options.include_usage (400); the gateway stops adding it for this upstream ` +
        '(its streamed calls that do not ask for usage get estimated usage) and sent the call again without it. ' +
        'Set usageInjection: never for this upstream to skip the first refused call after a restart',
    );
  }
}

/** At most this much of a 400's body is held back to read whether it names the option. */
export const REFUSAL_BODY_MAX_BYTES = 64 * 1024;

/** A 400 whose body names the option the gateway added: the upstream refuses it, not the client's request. */
export function refusesUsageOption(body: string): boolean {
  return /stream_options|include_usage/.test(body);
}

/** A held 400's body as text, decoded if the upstream compressed it ('' when it cannot be read). */
export function refusalText(chunks: readonly Buffer[], encoding: string | string[] | undefined): string {
  const raw = Buffer.concat(chunks);
  const value = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase();
  try {
    if (value === 'gzip' || value === 'x-gzip') return gunzipSync(raw).toString('utf8');
    if (value === 'deflate') return inflateSync(raw).toString('utf8');
    if (value === 'br') return brotliDecompressSync(raw).toString('utf8');
    return raw.toString('utf8');
  } catch {
    return '';
  }
}
