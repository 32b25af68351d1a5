import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import type { Config } from '../shared/config/config';
import { openEventLog } from '../shared/log/open-log';
import { createLogger } from '../shared/observability/logger';
import { parseSearchQuery, SearchQueryError, type SearchHit, type SearchPage } from '../indexer/core/search-query';
import { openSearchIndex } from '../indexer/open-search-index';
import { AccessLogWriter } from '../console/access/access-log-writer';

/**
 * `llm-logger search`: straight on the audit index (an operator with the
 * index's credentials), recorded in the access log as `cli:<os user>` before
 * anything is printed; or, with `--console <url>`, through the console's
 * `GET /api/search` with the token in LLM_LOGGER_CONSOLE_TOKEN, where the
 * console checks the role and records the search under the token's name.
 * Exit codes: 0 hits, 1 none, 2 bad input, 3 refused or not recorded.
 */

const FILTERS = ['user', 'app', 'model', 'upstream', 'status', 'from', 'to', 'limit', 'offset'] as const;

/** Terminal rendering of a highlighted fragment: <mark> becomes bold, HTML entities are decoded. */
function plain(fragment: string, color: boolean): string {
  const decoded = fragment
    .replace(/<mark>/g, color ? '\x1b[1m' : '[')
    .replace(/<\/mark>/g, color ? '\x1b[0m' : ']')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
  return decoded.replace(/\s+/g, ' ');
}

function render(hit: SearchHit, color: boolean): string {
  const head = [hit.timestamp, hit.event_id, hit.upstream, hit.model ?? '-', hit.status ?? '-', hit.user ?? '-', hit.app ?? '-'].join('  ');
  const lines = [head];
  for (const [field, frags] of Object.entries(hit.highlights)) for (const f of frags) lines.push(`    ${field}: ${plain(f, color)}`);
  return lines.join('\n');
}

export async function runSearch(args: string[], config: Config): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { ...Object.fromEntries(FILTERS.map((f) => [f, { type: 'string' as const }])), json: { type: 'boolean' }, console: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`llm-logger search: ${(err as Error).message}\n`);
    return 2;
  }
  const params = new URLSearchParams();
  params.set('q', positionals.join(' '));
  for (const f of FILTERS) if (typeof values[f] === 'string') params.set(f, values[f]);
  let query;
  try {
    query = parseSearchQuery(params);
  } catch (err) {
    if (err instanceof SearchQueryError) {
      process.stderr.write(`llm-logger search: --${err.parameter === 'q' ? 'query' : err.parameter}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (typeof values.console === 'string') return searchThroughConsole(values.console, params, config, values.json === true);
  const index = openSearchIndex(config, createLogger('silent', 'search'));
  try {
    const page = await index.search(query);
    if (!(await recordSearch(config, params, page))) return 3;
    print({ backend: index.kind, ...page }, values.json === true);
    return page.total > 0 ? 0 : 1;
  } finally {
    await index.close();
  }
}

function print(page: SearchPage & { backend: string }, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(page)}\n`);
    return;
  }
  const color = process.stdout.isTTY === true;
  for (const hit of page.hits) process.stdout.write(`${render(hit, color)}\n`);
  const shown = page.hits.length === 0 ? 'no matches' : `${page.offset + 1}-${page.offset + page.hits.length} of ${page.total}`;
  process.stderr.write(`${shown} (${page.backend} index)\n`);
}

/** The search in the access log before its results are shown; false (and why on stderr) when it could not be written. */
async function recordSearch(config: Config, params: URLSearchParams, page: SearchPage): Promise<boolean> {
  const log = openEventLog(config, createLogger('silent', 'search'));
  // The embedded log's writer thread does not keep a process alive (servers do, in the roles): this does until the record is written.
  const hold = setInterval(() => undefined, 60_000);
  try {
    await new AccessLogWriter(log, config.instance, new Registry()).record(
      { name: `cli:${userInfo().username}`, role: 'admin', via: 'cli', email: null, groups: [] },
      { ip: hostname(), forwardedFor: null, userAgent: 'llm-logger search' },
      {
        action: 'search',
        query: params.get('q') ?? '',
        filters: Object.fromEntries([...params].filter(([k]) => k !== 'q')),
        eventIds: page.hits.map((h) => h.event_id),
        results: page.total,
      },
    );
    return true;
  } catch (err) {
    process.stderr.write(`llm-logger search: the access log (llm.access.v1) could not record this search, so nothing is shown: ${(err as Error).message}\n`);
    return false;
  } finally {
    await log.close();
    clearInterval(hold);
  }
}

async function searchThroughConsole(base: string, params: URLSearchParams, config: Config, json: boolean): Promise<number> {
  let url: URL;
  try {
    url = new URL(`/api/search?${params}`, base);
  } catch {
    process.stderr.write(`llm-logger search: --console: not a URL: ${base}\n`);
    return 2;
  }
  const token = config.console.tokens[0];
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'llm-logger search' };
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (err) {
    process.stderr.write(`llm-logger search: --console: ${base} cannot be reached (${(err as Error).message})\n`);
    return 3;
  }
  const body = (await res.json().catch(() => null)) as (SearchPage & { backend: string; error?: { message?: string; parameter?: string } }) | null;
  if (!res.ok) {
    const why = body?.error?.message ?? `answered ${res.status}`;
    const hint = res.status === 401 && !token ? ' (set LLM_LOGGER_CONSOLE_TOKEN to your console token)' : '';
    process.stderr.write(`llm-logger search: the console refused: ${why}${hint}\n`);
    return res.status === 400 ? 2 : 3;
  }
  print(body!, json);
  return body!.total > 0 ? 0 : 1;
}
