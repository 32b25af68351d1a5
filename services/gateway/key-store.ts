import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type * as Yaml from 'yaml';
import { boundedMemo } from '../shared/bounded-memo';
import { LlmLoggerError } from '../shared/errors';
import type { Logger } from '../shared/observability/logger';
import { parseKeyFile, sha256Hex, type GatewayKey, type KeyTable } from './core/gateway-keys';

/**
 * The gateway keys of LLM_LOGGER_GATEWAY_KEYS_FILE, kept current without a
 * restart: the file is re-read when it changes (polled, which also sees a
 * Kubernetes Secret volume swap its `..data` link) and on SIGHUP. A file that
 * cannot be read or is not valid keeps the keys already loaded, and the log
 * says why; at start-up it stops the gateway instead.
 */

export interface KeyStoreOptions {
  file: string;
  upstreamNames: ReadonlySet<string>;
  logger: Logger;
  registry: Registry;
  /** How often the file's stat is checked. */
  pollMs?: number;
  /** Called after each successful load with the configured key ids. */
  onLoad?: (ids: ReadonlySet<string>) => void;
}

/** Digests of recently seen keys: hashing costs ~1 µs, a map lookup far less; bounded, since anyone can send keys. */
const HASH_MEMO_KEYS = 10_000;

export class GatewayKeyStore {
  private table: KeyTable = new Map();
  private ids: ReadonlyMap<string, GatewayKey> = new Map();
  private readonly hashOf = boundedMemo(HASH_MEMO_KEYS, sha256Hex);
  private readonly loaded: Gauge;
  private readonly reloads: Counter<'outcome'>;
  private readonly onChange = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) this.reload('the file changed');
  };

  constructor(private readonly options: KeyStoreOptions) {
    this.loaded = new Gauge({ name: 'llm_logger_gateway_keys', help: 'Gateway keys loaded from the key file.', registers: [options.registry] });
    this.reloads = new Counter({
      name: 'llm_logger_gateway_key_reloads_total',
      help: 'Reloads of the gateway key file, by outcome (failed: the previous keys stay in use).',
      labelNames: ['outcome'] as const,
      registers: [options.registry],
    });
    const first = this.read();
    if ('problems' in first) {
      throw new LlmLoggerError(
        'CONFIG_INVALID',
        `invalid configuration: LLM_LOGGER_GATEWAY_KEYS_FILE=${options.file}:\n  ${first.problems.join('\n  ')}`,
      );
    }
    this.install(first.table);
    watchFile(options.file, { interval: options.pollMs ?? 2_000, persistent: false }, this.onChange);
  }

  /** The key's entry, or null for an unknown key. */
  lookup(key: string): GatewayKey | null {
    return this.table.get(this.hashOf(key)) ?? null;
  }

  /** The key named `id` (for the events' `gateway_key_id`), or null. */
  byId(id: string): GatewayKey | null {
    return this.ids.get(id) ?? null;
  }

  get size(): number {
    return this.table.size;
  }

  /** Reads the file again; on failure the keys in use stay. Returns whether the new file was taken. */
  reload(reason: string): boolean {
    const { logger, file } = this.options;
    const next = this.read();
    if ('problems' in next) {
      this.reloads.inc({ outcome: 'failed' });
      logger.error({ file, reason, problems: next.problems, keys: this.table.size }, 'gateway key file not reloaded: the previous keys stay in use');
      return false;
    }
    this.install(next.table);
    this.reloads.inc({ outcome: 'ok' });
    logger.info({ file, reason, keys: next.table.size }, 'gateway keys reloaded');
    return true;
  }

  close(): void {
    unwatchFile(this.options.file, this.onChange);
  }

  private install(table: KeyTable): void {
    this.table = table;
    this.ids = new Map([...table.values()].map((k) => [k.id, k]));
    this.loaded.set(table.size);
    this.options.onLoad?.(new Set(this.ids.keys()));
  }

  private read(): { table: KeyTable } | { problems: string[] } {
    let text: string;
    try {
      text = readFileSync(this.options.file, 'utf8');
    } catch (err) {
      return { problems: [`cannot be read (${(err as Error).message})`] };
    }
    let doc: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by a gateway with keys
      doc = (require('yaml') as typeof Yaml).parse(text);
    } catch (err) {
      return { problems: [`not valid YAML (${(err as Error).message})`] };
    }
    return parseKeyFile(doc, this.options.upstreamNames);
  }
}
