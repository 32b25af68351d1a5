/** `llm-logger search --help` (its own file, so the CLI shows it without loading the search backends). */
export const SEARCH_USAGE =
  'llm-logger search "words \\"a phrase\\" user:alice status:5xx" [--user u] [--app a] [--model m] [--upstream u]\n' +
  '                  [--status 200|4xx|ok|error|cancelled] [--from time] [--to time] [--limit n] [--offset n] [--json]\n' +
  '                  [--console url] [--config file.yaml]\n\n' +
  '  Searches prompts, responses and error messages in the audit index (Elasticsearch when\n' +
  '  LLM_LOGGER_ELASTICSEARCH_URL is set, else the embedded index under LLM_LOGGER_DATA_DIR), newest first.\n' +
  '  The search is written to the access log (llm.access.v1) as cli:<user> before anything is shown.\n' +
  '  --console url  search through that console instead (GET /api/search, with LLM_LOGGER_CONSOLE_TOKEN as\n' +
  '                 the bearer token): the console checks the role and records the search under your name.\n' +
  '  Times are ISO 8601 or epoch milliseconds. Exit code 0 with hits, 1 with none, 2 on bad input,\n' +
  '  3 when refused or when the search could not be recorded.';
