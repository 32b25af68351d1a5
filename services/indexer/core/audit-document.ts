import type { InferenceEvent } from '../../shared/event/inference-event';
import { outcomeOf, type CallOutcome } from '../../shared/event/call-status';
import { redactText, type Redactor } from '../../shared/redaction/redact-text';

/**
 * The audit document: what one call looks like in the full-text index, the
 * same for Elasticsearch and the embedded index. Field names are the index
 * mapping's (see es-mapping.ts) and the Kibana saved objects'.
 */
export interface AuditDocument {
  event_id: string;
  '@timestamp': string; // call start, ISO 8601
  ended_at: string;
  user: string | null;
  app: string | null;
  session: string | null;
  trace_id: string | null;
  upstream: string;
  provider: string;
  endpoint: string;
  method: string;
  path: string;
  /** Served model when known, else the requested one: the one to filter on. */
  model: string | null;
  request_model: string | null;
  response_model: string | null;
  streamed: boolean;
  status: number | null;
  outcome: CallOutcome;
  error_class: string | null;
  error_message: string | null;
  finish_reason: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  reasoning_tokens: number | null;
  usage_source: string;
  cost_usd: number | null;
  tags: Record<string, string>;
  gateway_instance: string;
  body_captured: boolean;
  body_truncated: boolean;
  prompt: string | null;
  response: string | null;
  /** Redaction rules that changed the prompt, response or metadata. */
  redacted: string[];
}

const TEXT_KEYS = new Set(['content', 'text', 'prompt', 'input', 'system', 'instructions', 'arguments']);
/** Labels inside text-bearing objects that are not text themselves. */
const LABEL_KEYS = new Set(['role', 'type', 'name', 'id', 'model', 'tool_call_id', 'call_id', 'status', 'format', 'detail', 'media_type', 'mime_type']);

/**
 * The human-readable text of a request body: message contents, system
 * prompts, completion prompts and embedding inputs, in document order.
 * A body that is not JSON is indexed as it is.
 */
export function promptText(requestBody: string | null): string | null {
  if (requestBody === null || requestBody === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(requestBody);
  } catch {
    return requestBody;
  }
  const parts: string[] = [];
  const walk = (v: unknown, underText: boolean): void => {
    if (typeof v === 'string') {
      if (underText && v.trim() !== '') parts.push(v);
      return;
    }
    if (Array.isArray(v)) {
      for (const x of v) walk(x, underText);
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        // Images and audio are data, not text.
        if (k === 'image_url' || k === 'source' || k === 'input_audio' || k === 'data' || LABEL_KEYS.has(k)) continue;
        walk(x, TEXT_KEYS.has(k) || underText || k === 'messages');
      }
    }
  };
  walk(parsed, false);
  return parts.length > 0 ? parts.join('\n') : null;
}

function responseText(e: InferenceEvent): string | null {
  const parts = [e.response_text, e.tool_calls].filter((p): p is string => p !== null && p !== '');
  return parts.length > 0 ? parts.join('\n') : null;
}


/** Maps one event to its audit document, with prompt, response, error message and the client's metadata but its user id redacted (text left out under metadata-only). */
export function toAuditDocument(e: InferenceEvent, redactor: Redactor): AuditDocument {
  const applied = new Set<string>();
  const redact = (text: string | null): string | null => {
    if (text === null || !redactor.indexText) return null;
    const r = redactText(text, redactor);
    for (const a of r.applied) applied.add(a);
    return r.text;
  };
  const prompt = redact(promptText(e.request_body));
  const response = redact(responseText(e));
  // Error messages can echo the prompt back, so they go through the same rules.
  const errorMessage = e.error_message === null ? null : redactor.indexText ? redactText(e.error_message, redactor).text : null;
  // What the client chose to call itself (app, session, trace id, tags) can be an e-mail address or worse.
  // The user id is kept as the event has it: it is what an erasure (llm-logger erase --user) and a search
  // by user match documents with, and a masked id stands for every user its rule matches. Under policy
  // `all` the event's user id is redacted already, the same in every store (see stored-user.ts).
  const meta = (value: string | null): string | null => {
    if (value === null || value === '') return value;
    const r = redactText(value, redactor);
    for (const a of r.applied) applied.add(a);
    return r.text;
  };
  let tags = e.tags;
  for (const [name, value] of Object.entries(e.tags)) {
    const redacted = meta(value)!;
    if (redacted !== value) tags = { ...tags, [name]: redacted };
  }
  return {
    event_id: e.event_id,
    '@timestamp': new Date(e.started_at).toISOString(),
    ended_at: new Date(e.ended_at).toISOString(),
    user: e.user,
    app: meta(e.app),
    session: meta(e.session),
    trace_id: meta(e.trace_id),
    upstream: e.upstream,
    provider: e.provider,
    endpoint: e.endpoint,
    method: e.method,
    path: e.path,
    model: e.response_model ?? e.request_model,
    request_model: e.request_model,
    response_model: e.response_model,
    streamed: e.streamed,
    status: e.http_status,
    outcome: outcomeOf(e),
    error_class: e.error_class,
    error_message: errorMessage,
    finish_reason: e.finish_reason,
    latency_ms: e.latency_ms,
    ttft_ms: e.ttft_ms,
    input_tokens: e.usage.input_tokens,
    output_tokens: e.usage.output_tokens,
    cached_input_tokens: e.usage.cached_input_tokens,
    reasoning_tokens: e.usage.reasoning_tokens,
    usage_source: e.usage.source,
    cost_usd: e.cost_micro_usd === null ? null : e.cost_micro_usd / 1_000_000,
    tags,
    gateway_instance: e.gateway_instance,
    body_captured: e.body_captured,
    body_truncated: e.body_truncated,
    prompt,
    response,
    redacted: [...applied].sort(),
  };
}

/** Daily index for an event time: `<prefix>-YYYY.MM.DD` (UTC), so a redelivered event lands on its earlier copy. */
export function indexNameFor(prefix: string, epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${prefix}-${d.getUTCFullYear()}.${p(d.getUTCMonth() + 1)}.${p(d.getUTCDate())}`;
}

/** Day of a daily index name, as epoch ms of its UTC midnight; null for other names. */
export function dayOfIndex(prefix: string, name: string): number | null {
  if (!name.startsWith(`${prefix}-`)) return null;
  const m = /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(name.slice(prefix.length + 1));
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

const DAY_MS = 86_400_000;

/** Daily indices past the retention period: their whole day ended more than `retentionDays` ago. */
export function expiredIndices(prefix: string, names: string[], nowMs: number, retentionDays: number): string[] {
  return names.filter((n) => {
    const day = dayOfIndex(prefix, n);
    return day !== null && day + DAY_MS <= nowMs - retentionDays * DAY_MS;
  });
}
