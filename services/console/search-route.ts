import type { ServerResponse } from 'node:http';
import { sendJson, sendJsonError } from '../shared/http/json-response';
import { isLlmLoggerError } from '../shared/errors';
import type { Logger } from '../shared/observability/logger';
import { parseSearchQuery, SearchQueryError } from '../indexer/core/search-query';
import type { SearchIndex } from '../indexer/search-index';

/**
 * `GET /api/search?q=…&user=&app=&model=&upstream=&status=&from=&to=&limit=&offset=`
 * over whichever audit index is configured. 400 names the bad parameter;
 * 503 when the backend is unavailable.
 */
export function serveSearch(res: ServerResponse, params: URLSearchParams, index: SearchIndex | undefined, logger: Logger): void {
  if (!index) {
    sendJsonError(res, 503, 'search_unavailable', 'audit search is not configured in this process');
    return;
  }
  let query;
  try {
    query = parseSearchQuery(params);
  } catch (err) {
    if (err instanceof SearchQueryError) {
      sendJsonError(res, 400, 'invalid_parameter', err.message, { extra: { parameter: err.parameter } });
      return;
    }
    throw err;
  }
  index.search(query).then(
    (page) => sendJson(res, 200, { backend: index.kind, ...page }),
    (err: unknown) => {
      logger.warn({ err }, 'audit search failed');
      if (isLlmLoggerError(err, 'INDEX_UNAVAILABLE')) sendJsonError(res, 503, 'search_unavailable', err.message);
      else sendJsonError(res, 500, 'console_error', 'audit search failed');
    },
  );
}
