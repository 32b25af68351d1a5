import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { describePriceSource, loadPrices, type LoadedPrices, type PriceSource } from '../shared/config/price-file';
import type { Logger } from '../shared/observability/logger';
import type { PriceTable } from '../shared/pricing';

/**
 * The prices in force. Calls read `current` when they are recorded, so a
 * reload applies to every call recorded after it, and a call is priced by one
 * table only (its event names that table's version).
 */
export interface PriceBook {
  readonly current: PriceTable;
}

export interface PriceReloader extends PriceBook {
  /** Reads the source again now (what a file change or SIGHUP does); resolves to whether a new table is in force. */
  reload(trigger: string): boolean;
  close(): void;
}

/** Editors and ConfigMap updates write a file in several steps: one reload once they are done. */
const SETTLE_MS = 150;

/**
 * Keeps the price table of `source` in force, reloading it when its file
 * changes on disk or the process gets SIGHUP. A new table replaces the old one
 * only when it is valid; otherwise the old one stays, and the log says why.
 */
export function startPriceReload(source: PriceSource, first: LoadedPrices, registry: Registry, logger: Logger): PriceReloader {
  let loaded = first;
  const reloads = new Counter({
    name: 'llm_logger_gateway_price_reloads_total',
    help: 'Price reloads by result: applied, unchanged, refused (the file was invalid: the previous prices stay in force).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'llm_logger_gateway_price_version_info',
    help: 'The price table in force: 1 for its version.',
    labelNames: ['version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.set({ version: loaded.table.version }, 1);
    },
  });

  const where = describePriceSource(source);
  const reload = (trigger: string): boolean => {
    let next: LoadedPrices;
    try {
      next = loadPrices(source);
    } catch (err) {
      reloads.inc({ result: 'refused' });
      logger.error({ trigger, source: where, version: loaded.table.version }, `prices not reloaded, the previous ones stay in force: ${(err as Error).message}`);
      return false;
    }
    if (next.contentHash === loaded.contentHash) {
      reloads.inc({ result: 'unchanged' });
      logger.debug({ trigger, source: where }, 'prices unchanged');
      return false;
    }
    // Events name their prices by version: new prices under the old name would make old events look repriced.
    if (next.label !== null && next.label === loaded.label) {
      reloads.inc({ result: 'refused' });
      logger.error(
        { trigger, source: where, version: loaded.table.version },
        `prices not reloaded, the previous ones stay in force: ${where}: the prices changed but their version label "${next.label}" did not; ` +
          'change version (or remove it to label them with a content hash)',
      );
      return false;
    }
    const previous = loaded.table.version;
    loaded = next;
    reloads.inc({ result: 'applied' });
    logger.info({ trigger, source: where, version: next.table.version, previous }, 'prices reloaded');
    return true;
  };

  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  if (source.kind !== 'bundled') {
    // The directory, not the file: an editor's save or a ConfigMap update replaces the file (a new inode).
    const name = basename(source.path);
    try {
      watcher = watch(dirname(source.path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name && !file.startsWith('..')) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          reload('file changed');
        }, SETTLE_MS);
        timer.unref();
      });
      watcher.on('error', (err) => logger.warn({ err, source: where }, 'prices: watching the file failed; SIGHUP still reloads them'));
    } catch (err) {
      logger.warn({ err, source: where }, 'prices: the file cannot be watched; SIGHUP still reloads them');
    }
  }
  const onHangup = (): void => {
    reload('SIGHUP');
  };
  process.on('SIGHUP', onHangup);
  logger.info({ source: where, version: loaded.table.version }, 'prices in force');

  return {
    get current() {
      return loaded.table;
    },
    reload,
    close() {
      process.off('SIGHUP', onHangup);
      watcher?.close();
      if (timer) clearTimeout(timer);
    },
  };
}
