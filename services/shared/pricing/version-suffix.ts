/**
 * Providers report a pinned snapshot of a model by appending a date or a
 * moving tag to its family id: OpenAI `gpt-4o-2024-08-06`, Anthropic
 * `claude-sonnet-4-20250514`, both `...-latest`. Only these exact shapes are
 * recognised. Anything else (`gpt-4o-audio-preview`, `gpt-4o-mini`) is a
 * different model that may be priced differently, and guessing its price from
 * a shorter id would silently misreport spend.
 */
const VERSION_SUFFIX = /^(.+)-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/** The id without its snapshot suffix, or null when it has none. */
export function stripVersionSuffix(model: string): string | null {
  const match = VERSION_SUFFIX.exec(model);
  return match?.[1] ?? null;
}
