import { TIMESTAMP_FORMATS } from '../shared/time';

/** `llm-logger reprice --help` (here so that --help does not load DuckDB, Arrow and Parquet). */
export const REPRICE_USAGE =
  'llm-logger reprice [--dry-run] [--json] [--from time] [--to time] [--config file.yaml]\n\n' +
  '  Recomputes the cost of archived events whose price was unknown or whose price version is older than the\n' +
  '  prices in force (LLM_LOGGER_PRICES_FILE, the config file\'s prices:, or the bundled table), and writes the\n' +
  '  corrections to <archive>/repriced/<run>.parquet (event_id, old and new cost and price version).\n' +
  '  The archived events are never changed; `llm-logger query` shows the corrections as llm_inference_repriced\n' +
  '  and every event with its latest cost as llm_inference_priced. A second run skips what is already repriced.\n\n' +
  '  --dry-run      count and price, print the summary, write nothing\n' +
  '  --json         print the summary as JSON\n' +
  `  --from, --to   only events that started in [from, to): ${TIMESTAMP_FORMATS}`;
