/**
 * Shapes shared by the pure wire-format parsers. No I/O here: parsers receive
 * bytes or decoded JSON and return plain values.
 */

/** How an upstream speaks. Self-hosted servers (vLLM, Ollama, …) speak `openai`. */
export type WireFormat = 'openai' | 'anthropic';

/** Endpoints the gateway understands well enough to account for usage and cost. */
export type Endpoint =
  | 'chat.completions'
  | 'completions'
  | 'embeddings'
  | 'responses'
  | 'messages'
  | 'other';

/**
 * Token counts normalised across providers.
 * - `inputTokens` is the whole prompt, cached reads and cache writes included
 *   (OpenAI's `prompt_tokens`; Anthropic's input + cache_read + cache_creation).
 * - `outputTokens` includes reasoning tokens.
 * A field is null when the provider did not report it.
 */
export interface TokenUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  /** Every cache write, whatever its TTL (Anthropic `cache_creation_input_tokens`). */
  cacheWriteTokens: number | null;
  reasoningTokens: number | null;
  /*
   * The breakdowns below are present only when the provider reported them
   * (absent and null both mean "not reported").
   */
  /** Of cacheWriteTokens, those written with the 1-hour TTL (Anthropic `cache_creation.ephemeral_1h_input_tokens`). */
  cacheWrite1hTokens?: number | null;
  /** Of inputTokens / outputTokens, audio and image tokens (OpenAI `*_tokens_details`). */
  inputAudioTokens?: number | null;
  inputImageTokens?: number | null;
  outputAudioTokens?: number | null;
  outputImageTokens?: number | null;
  /**
   * Counts the upstream sent that are not token counts (negative, fractional,
   * beyond 2^53, not a number), each recorded as null: e.g.
   * `prompt_tokens: -3 is negative`. Absent when every count was valid.
   */
  rejected?: string | null;
}

export interface ToolCall {
  id: string | null;
  name: string;
  /** Arguments as the model produced them (a JSON text for function calls). */
  arguments: string;
}

export interface UpstreamErrorInfo {
  /** Provider's error type or code, e.g. `rate_limit_error`, `invalid_request_error`. */
  type: string | null;
  message: string | null;
}

export interface ParsedResponse {
  servedModel: string | null;
  /** Null when the provider reported no usage at all. */
  usage: TokenUsage | null;
  finishReason: string | null;
  /** Assistant text, concatenated across choices/blocks in order. */
  text: string;
  toolCalls: ToolCall[];
  /** Error from an error body or an in-stream error event. */
  error: UpstreamErrorInfo | null;
  /** Number of SSE data events seen (a terminal `[DONE]` is not counted); 0 when not streamed. */
  chunkCount: number;
  /**
   * Processing tier the answer reports (OpenAI `service_tier`, Anthropic
   * `usage.service_tier`); absent when it reports none.
   */
  serviceTier?: string | null;
}

export interface ParsedRequest {
  model: string | null;
  stream: boolean;
  /** OpenAI: the client asked for `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Text of the prompt (messages, instructions, input), used only to estimate tokens. */
  promptText: string;
}

/** One server-sent event. `event` is null when no `event:` field was given. */
export interface SseEvent {
  event: string | null;
  data: string;
  id: string | null;
}

/** Accumulates a streamed answer one SSE event at a time. */
export interface StreamAccumulator {
  push(event: SseEvent): void;
  result(): ParsedResponse;
}
