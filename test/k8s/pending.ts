/**
 * What the deployment files use that this branch does not have yet: the
 * tests leave these out of their checks, and fail once one of them exists
 * (so the list is emptied when the branches are merged).
 */

// ---- MERGE: the lead removes these lists once the roles' branches are merged ----
/** Variables from names.md that other branches add to config.ts. */
export const PENDING_VARIABLES = [
  'LLM_LOGGER_METRICS_PORT',
  // Proposed by this branch (not in names.md): the consumer roles' health/metrics
  // listener must be reachable by the kubelet and Prometheus, like GATEWAY_HOST.
  'LLM_LOGGER_METRICS_HOST',
  'LLM_LOGGER_AGGREGATOR_GRACE_MS',
  'LLM_LOGGER_RETENTION_DAYS',
  'LLM_LOGGER_ELASTICSEARCH_URL',
  'LLM_LOGGER_ELASTICSEARCH_API_KEY',
  'LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX',
  'LLM_LOGGER_ARCHIVE_URL',
  'LLM_LOGGER_S3_ENDPOINT',
  'LLM_LOGGER_S3_REGION',
  'LLM_LOGGER_S3_FORCE_PATH_STYLE',
  'LLM_LOGGER_S3_ACCESS_KEY_ID',
  'LLM_LOGGER_S3_SECRET_ACCESS_KEY',
  'LLM_LOGGER_CONSOLE_TOKEN',
];
/** Commands that answer "not available yet" on this branch. */
export const PENDING_COMMANDS = ['aggregator', 'indexer', 'roller'];
// ---- end MERGE ----
