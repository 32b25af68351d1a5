import { parseArgs } from 'node:util';
import type { Config } from '../shared/config/config';
import { createLogger } from '../shared/observability/logger';
import { parseSearchQuery, SearchQueryError, type SearchHit } from '../indexer/core/search-query';
import { openSearchIndex } from '../indexer/open-search-index';

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
      options: { ...Object.fromEntries(FILTERS.map((f) => [f, { type: 'string' as const }])), json: { type: 'boolean' } },
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
  const index = openSearchIndex(config, createLogger('silent', 'search'));
  try {
    const page = await index.search(query);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ backend: index.kind, ...page })}\n`);
    } else {
      const color = process.stdout.isTTY === true;
      for (const hit of page.hits) process.stdout.write(`${render(hit, color)}\n`);
      const shown = page.hits.length === 0 ? 'no matches' : `${page.offset + 1}-${page.offset + page.hits.length} of ${page.total}`;
      process.stderr.write(`${shown} (${index.kind} index)\n`);
    }
    return page.total > 0 ? 0 : 1;
  } finally {
    await index.close();
  }
}
