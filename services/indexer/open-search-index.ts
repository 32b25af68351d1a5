import type { Config } from '../shared/config/config';
import type { Logger } from '../shared/observability/logger';
import { ElasticsearchIndex } from './adapters/elasticsearch-index';
import { embeddedIndexPath, SqliteIndex } from './adapters/sqlite-index';
import type { SearchIndex } from './search-index';

/** Elasticsearch when LLM_LOGGER_ELASTICSEARCH_URL is set, else the embedded index under the data dir. */
export function openSearchIndex(config: Config, logger: Logger, onBackoff?: (reason: string) => void): SearchIndex {
  const es = config.index.elasticsearch;
  if (!es) return new SqliteIndex(embeddedIndexPath(config.dataDir), config.index.retentionDays);
  return new ElasticsearchIndex({
    url: es.url,
    username: es.username,
    password: es.password,
    apiKey: es.apiKey,
    prefix: config.index.prefix,
    retentionDays: config.index.retentionDays,
    logger,
    onBackoff,
  });
}
