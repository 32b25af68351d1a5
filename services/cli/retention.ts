import { parseArgs } from 'node:util';
import { applyArchiveRetention } from '../roller/archive-retention';
import { openObjectStore } from '../roller/object-store/open-object-store';
import type { Config } from '../shared/config/config';

/** `llm-logger retention`: applies the archive's retention now. */
export async function runRetention(args: string[], config: Config): Promise<number> {
  let values: { days?: string; 'dry-run'?: boolean; json?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { days: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`llm-logger retention: ${(err as Error).message}\n`);
    return 2;
  }
  let days = config.roller.retentionDays;
  if (values.days !== undefined) {
    days = /^\d+$/.test(values.days) ? Number(values.days) : NaN;
    if (!(days >= 1 && days <= 36_500)) {
      process.stderr.write(`llm-logger retention: --days ${JSON.stringify(values.days)}: must be a whole number of days from 1 to 36500\n`);
      return 2;
    }
  }
  if (days === null) {
    process.stderr.write('llm-logger retention: no retention set: give --days N or set LLM_LOGGER_ARCHIVE_RETENTION_DAYS\n');
    return 2;
  }
  const store = openObjectStore(config.archive);
  try {
    const dryRun = values['dry-run'] === true;
    const r = await applyArchiveRetention(store, days, Date.now(), { dryRun });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ archive: store.url, retention_days: days, dry_run: dryRun, ...r })}\n`);
    } else {
      for (const h of r.hours) process.stdout.write(`${h}\n`);
      process.stdout.write(
        `${dryRun ? 'would delete' : 'deleted'} ${r.hours.length} hours, ${r.files} files, ${r.bytes} bytes older than ${days} days from ${store.url}\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}
