import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RequestsStore } from '../console/requests-store';
import { eraseUser } from '../erasure/erase-user';
import { formatReport } from '../erasure/erasure-report';
import { openSearchIndex } from '../indexer/open-search-index';
import { openObjectStore } from '../roller/object-store/open-object-store';
import { queryCacheDir } from '../roller/query-cache';
import type { Config } from '../shared/config/config';
import { checkUser } from '../shared/erasure/erasure';
import { openEventLog } from '../shared/log/open-log';
import { createLogger } from '../shared/observability/logger';
import { storedUser } from '../shared/redaction/stored-user';

/** `llm-logger erase --user <id>`: erases what this machine's configuration reaches, and prints the report. */
export async function runErase(args: string[], config: Config): Promise<number> {
  let values: { user?: string; json?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { user: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: false, strict: true }));
  } catch (err) {
    process.stderr.write(`llm-logger erase: ${(err as Error).message}\n`);
    return 2;
  }
  const problem = values.user === undefined ? 'is required: llm-logger erase --user <id>' : checkUser(values.user);
  if (problem !== null) {
    process.stderr.write(`llm-logger erase: --user ${problem}\n`);
    return 2;
  }
  // Under redaction policy all the stores hold the user id redacted: the erasure names it as stored.
  const stored = storedUser(values.user!, config.redaction);
  if ('problem' in stored) {
    process.stderr.write(`llm-logger erase: --user ${stored.problem}\n`);
    return 2;
  }
  const user = stored.user;
  if (stored.redacted) process.stderr.write(`llm-logger erase: under redaction policy all this user id is stored as "${user}": erasing that\n`);
  // The log's writer thread does not keep a process alive (roles have servers for that): this command must wait for it.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  // Logs go to stderr: stdout is the report.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'erase', 2);
  const log = openEventLog(config, logger);
  const viewPath = join(config.dataDir, 'console', 'requests.db');
  const view = existsSync(viewPath) ? new RequestsStore(viewPath) : null;
  const search = openSearchIndex(config, logger);
  const archive = openObjectStore(config.archive);
  try {
    const report = await eraseUser(
      {
        log,
        view,
        viewMissing: `no console view at ${viewPath}: a console running elsewhere erases its own view when it reads the erasure, or use its POST /api/admin/erase`,
        search,
        archive,
        queryCacheDir: config.archive.kind === 's3' ? queryCacheDir(config.dataDir, archive.url) : null,
      },
      { user, source: 'cli', logger },
    );
    process.stdout.write(`${values.json ? JSON.stringify(report) : formatReport(report)}\n`);
    return report.complete ? 0 : 1;
  } finally {
    view?.close();
    await search.close();
    await archive.close();
    await log.close();
    clearInterval(keepAlive);
  }
}
