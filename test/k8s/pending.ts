/**
 * What the deployment files use that this branch does not have yet: the
 * tests leave these out of their checks, and fail once one of them exists
 * (so the list is emptied when the branches are merged).
 */

// ---- MERGE: the lead removes these lists once the roles' branches are merged ----
/** Variables from names.md that other branches add to config.ts. */
export const PENDING_VARIABLES = [
  'LLM_LOGGER_RETENTION_DAYS',
  'LLM_LOGGER_ELASTICSEARCH_URL',
  'LLM_LOGGER_ELASTICSEARCH_API_KEY',
  'LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX',
];
/** Commands that answer "not available yet" on this branch. */
export const PENDING_COMMANDS = ['indexer'];
// ---- end MERGE ----
