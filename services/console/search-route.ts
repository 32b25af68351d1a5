import type { ServerResponse } from 'node:http';
import { sendJson, sendJsonError } from '../shared/http/json-response';
import { isLlmLoggerError } from '../shared/errors';
import type { Logger } from '../shared/observability/logger';
import { parseSearchQuery, SearchQueryError, type SearchPage } from '../indexer/core/search-query';
import type { SearchIndex } from '../indexer/search-index';

/**
 * `GET /api/search?q=…&user=&app=&model=&upstream=&status=&from=&to=&limit=&offset=`
 * over whichever audit index is configured. 400 names the bad parameter;
 * 503 when the backend is unavailable. `beforeSend` sees the page before it
 * is sent (the access log records the search there) and answers false when
 * it has answered instead.
 */
export function serveSearch(
  res: ServerResponse,
  params: URLSearchParams,
  index: SearchIndex | undefined,
  logger: Logger,
  beforeSend: (page: SearchPage) => Promise<boolean> = async () => true,
): Promise<void> {
  if (!index) {
    sendJsonError(res, 503, 'search_unavailable', 'audit search is not configured in this process');
    return Promise.resolve();
  }
  let query;
  try {
    query = parseSearchQuery(params);
  } catch (err) {
    if (err instanceof SearchQueryError) {
      sendJsonError(res, 400, 'invalid_parameter', err.message, { extra: { parameter: err.parameter } });
      return Promise.resolve();
    }
    throw err;
  }
  return index.search(query).then(
    async (page) => {
      if (await beforeSend(page)) sendJson(res, 200, { backend: index.kind, ...page });
    },
    (err: unknown) => {
      logger.warn({ err }, 'audit search failed');
      if (isLlmLoggerError(err, 'INDEX_UNAVAILABLE')) sendJsonError(res, 503, 'search_unavailable', err.message);
      else sendJsonError(res, 500, 'console_error', 'audit search failed');
    },
  );
}
