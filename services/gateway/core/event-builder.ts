import {
  INFERENCE_EVENT_SCHEMA_VERSION,
  type ErrorClass,
  type InferenceEvent,
  type Usage,
} from '../../shared/event/inference-event';
import type { Endpoint, ParsedRequest, ParsedResponse, TokenUsage } from './wire/types';
import type { CallTags } from './tagging';
import { capField, capToolCalls } from './field-caps';
import { clipText } from './wire/text-budget';
import { truncatedFields } from '../../shared/event/truncated-fields';

/**
 * Builds the inference event of one call from what the gateway observed.
 * Pure: clocks, tokenizer and prices arrive as values or functions.
 */

export interface CallTimings {
  /** Wall clock when the request arrived (epoch ms). */
  startedAt: number;
  /** Monotonic clock (ms) at arrival, first body byte to the client, and end. */
  startMono: number;
  firstByteMono: number | null;
  endMono: number;
}

export interface CallFailure {
  errorClass: ErrorClass;
  message: string;
}

export interface CapturedBodies {
  requestBody: string | null;
  responseBody: string | null;
  truncated: boolean;
}

export interface CallObservation {
  eventId: string;
  instance: string;
  upstream: string;
  provider: string;
  wireFormat: string;
  endpoint: Endpoint;
  method: string;
  apiPath: string;
  /** Azure deployment name, used as the requested model when the body names none. */
  deployment: string | null;
  request: ParsedRequest;
  requestBytes: number;
  /** Null when no answer was received. */
  response: ParsedResponse | null;
  responseBytes: number;
  status: number | null;
  streamed: boolean;
  failure: CallFailure | null;
  cancelled: boolean;
  tags: CallTags;
  /** Null when bodies were not sampled for this call. */
  captured: CapturedBodies | null;
  timings: CallTimings;
  /** Name of the gateway key the call authenticated with (null without keys). */
  gatewayKeyId?: string | null;
  /** What the answer's limits left out: streamed text dropped, server-sent events skipped. */
  answerCut?: { cutChars: number; skippedEvents: number };
}

export interface Pricing {
  costMicroUsd: number | null;
  priceVersion: string | null;
  /** Recorded as cost_note: the tier that priced the call, or why it has no cost (absent: none). */
  note?: string | null;
}

export interface EventDeps {
  estimateTokens(model: string | null, text: string): number;
  /** `serviceTier`: the tier the answer reported (null: none), which selects the prices. */
  price(provider: string, model: string, usage: TokenUsage, serviceTier: string | null): Pricing;
  /** LLM_LOGGER_RESPONSE_TEXT_MAX_CHARS: answer text and tool calls kept in the event (default: all). */
  responseTextMaxChars?: number;
}

export function classifyStatus(status: number): ErrorClass | null {
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'client_error';
  return null;
}

const NO_USAGE: Usage = {
  input_tokens: null,
  output_tokens: null,
  cached_input_tokens: null,
  cache_write_tokens: null,
  reasoning_tokens: null,
  source: 'none',
  cache_write_1h_tokens: null,
  input_audio_tokens: null,
  input_image_tokens: null,
  output_audio_tokens: null,
  output_image_tokens: null,
  note: null,
};

/**
 * Provider counts when reported; a tokenizer count for whatever is missing
 * when the model produced something (or was cut off) but did not report it.
 */
export function accountUsage(obs: CallObservation, model: string | null, deps: EventDeps): { usage: Usage; tokens: TokenUsage | null } {
  if (obs.endpoint === 'other') return { usage: toAvroUsage(obs.response?.usage ?? null, 'provider'), tokens: obs.response?.usage ?? null };
  const reported = obs.response?.usage ?? null;
  // An error answer ran no model: report what the provider said, estimate nothing.
  const errorAnswer = obs.status !== null && obs.status >= 400;
  const noAnswer = obs.response === null && !obs.cancelled;
  if (errorAnswer || noAnswer) return { usage: toAvroUsage(reported, 'provider'), tokens: reported };
  // A count the upstream sent but that is not a token count stays unknown (with the reason in usage.note): a guess would hide it.
  if (reported && ((reported.inputTokens !== null && reported.outputTokens !== null) || reported.rejected)) {
    return { usage: toAvroUsage(reported, 'provider'), tokens: reported };
  }
  const outputText = obs.response ? obs.response.text + obs.response.toolCalls.map((t) => t.name + t.arguments).join('') : '';
  // Text dropped past the text limit still cost tokens: scaled from what was kept.
  const cutChars = obs.answerCut?.cutChars ?? 0;
  const outputEstimate = (): number => {
    const kept = deps.estimateTokens(model, outputText);
    return cutChars > 0 ? Math.round((kept * (outputText.length + cutChars)) / Math.max(1, outputText.length)) : kept;
  };
  const estimated: TokenUsage = {
    inputTokens: reported?.inputTokens ?? deps.estimateTokens(model, obs.request.promptText),
    outputTokens: reported?.outputTokens ?? (obs.endpoint === 'embeddings' ? 0 : outputEstimate()),
    cachedInputTokens: reported?.cachedInputTokens ?? null,
    cacheWriteTokens: reported?.cacheWriteTokens ?? null,
    reasoningTokens: reported?.reasoningTokens ?? null,
    cacheWrite1hTokens: reported?.cacheWrite1hTokens ?? null,
    inputAudioTokens: reported?.inputAudioTokens ?? null,
    inputImageTokens: reported?.inputImageTokens ?? null,
    outputAudioTokens: reported?.outputAudioTokens ?? null,
    outputImageTokens: reported?.outputImageTokens ?? null,
  };
  return { usage: toAvroUsage(estimated, 'estimated'), tokens: estimated };
}

function toAvroUsage(u: TokenUsage | null, source: Usage['source']): Usage {
  if (!u) return NO_USAGE;
  return {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cached_input_tokens: u.cachedInputTokens,
    cache_write_tokens: u.cacheWriteTokens,
    reasoning_tokens: u.reasoningTokens,
    source: u.inputTokens === null && u.outputTokens === null ? 'none' : source,
    cache_write_1h_tokens: u.cacheWrite1hTokens ?? null,
    input_audio_tokens: u.inputAudioTokens ?? null,
    input_image_tokens: u.inputImageTokens ?? null,
    output_audio_tokens: u.outputAudioTokens ?? null,
    output_image_tokens: u.outputImageTokens ?? null,
    note: u.rejected ?? null,
  };
}

function errorOf(obs: CallObservation): Pick<InferenceEvent, 'error_class' | 'error_type' | 'error_message'> {
  const upstreamError = obs.response?.error ?? null;
  let errorClass: ErrorClass | null = null;
  let message: string | null = upstreamError?.message ?? null;
  if (obs.cancelled) errorClass = 'client_cancelled';
  else if (obs.failure) {
    errorClass = obs.failure.errorClass;
    message = obs.failure.message;
  } else if (obs.status !== null) errorClass = classifyStatus(obs.status);
  if (errorClass === null && upstreamError) errorClass = 'stream_error';
  if (obs.cancelled && message === null) message = 'client disconnected before the answer was complete';
  return { error_class: errorClass, error_type: upstreamError?.type ?? null, error_message: message };
}

export function buildInferenceEvent(obs: CallObservation, deps: EventDeps): InferenceEvent {
  const { timings } = obs;
  // Names of fields cut to their bound (before pricing: a price lookup is memoized by model name).
  const cut: string[] = [];
  const requestModel = capField('request_model', obs.request.model ?? obs.deployment, cut);
  const responseModel = capField('response_model', obs.response?.servedModel ?? null, cut);
  const model = responseModel ?? requestModel;
  const { usage, tokens } = accountUsage(obs, model, deps);
  const serviceTier = obs.response?.serviceTier ?? null;
  // Refused counts are priced too (as unknown), so the event says why it has no cost.
  const pricing: Pricing =
    model !== null && tokens !== null && (usage.source !== 'none' || usage.note !== null)
      ? deps.price(obs.provider, model, tokens, serviceTier)
      : { costMicroUsd: null, priceVersion: null };
  const firstTokenMono = timings.firstByteMono;
  const errors = errorOf(obs);
  const maxText = deps.responseTextMaxChars ?? Number.POSITIVE_INFINITY;
  let responseText: string | null = null;
  let toolCalls: string | null = null;
  if (obs.captured && obs.response) {
    responseText = clipText(obs.response.text, maxText);
    const tools = capToolCalls(obs.response.toolCalls, maxText - responseText.length);
    if (responseText.length < obs.response.text.length || (obs.answerCut?.cutChars ?? 0) > 0) cut.push('response_text');
    if (tools.cut) cut.push('tool_calls');
    if (tools.calls.length > 0) toolCalls = JSON.stringify(tools.calls);
  }
  if ((obs.answerCut?.skippedEvents ?? 0) > 0) cut.push('stream_event');
  return {
    event_id: obs.eventId,
    schema_version: INFERENCE_EVENT_SCHEMA_VERSION,
    started_at: timings.startedAt,
    first_token_at: firstTokenMono === null ? null : Math.round(timings.startedAt + (firstTokenMono - timings.startMono)),
    ended_at: Math.round(timings.startedAt + (timings.endMono - timings.startMono)),
    latency_ms: timings.endMono - timings.startMono,
    ttft_ms: firstTokenMono === null ? null : firstTokenMono - timings.startMono,
    gateway_instance: obs.instance,
    upstream: obs.upstream,
    provider: obs.provider,
    wire_format: obs.wireFormat,
    endpoint: obs.endpoint,
    method: obs.method,
    path: capField('path', obs.apiPath, cut)!,
    request_model: requestModel,
    response_model: responseModel,
    streamed: obs.streamed,
    http_status: obs.status,
    error_class: errors.error_class,
    error_type: capField('error_type', errors.error_type, cut),
    error_message: capField('error_message', errors.error_message, cut),
    finish_reason: capField('finish_reason', obs.response?.finishReason ?? null, cut),
    usage,
    cost_micro_usd: pricing.costMicroUsd,
    price_version: pricing.priceVersion,
    chunk_count: obs.response?.chunkCount ?? 0,
    request_bytes: obs.requestBytes,
    response_bytes: obs.responseBytes,
    user: obs.tags.user,
    app: obs.tags.app,
    session: obs.tags.session,
    trace_id: obs.tags.traceId,
    tags: obs.tags.tags,
    client_cancelled: obs.cancelled,
    body_captured: obs.captured !== null,
    body_truncated: obs.captured?.truncated ?? false,
    request_body: obs.captured?.requestBody ?? null,
    response_body: obs.captured?.responseBody ?? null,
    response_text: responseText,
    tool_calls: toolCalls,
    gateway_key_id: obs.gatewayKeyId ?? null,
    truncated_fields: truncatedFields(null, cut),
    service_tier: serviceTier,
    cost_note: pricing.note ?? null,
  };
}
