import type { InferenceEvent } from '../event/inference-event';
import { redactBody } from './redact-body';
import { redactText, type Redactor } from './redact-text';

/**
 * Redaction of a whole inference event before it is written (policy `all`):
 * bodies, the answer's text and tool calls, the error message, and the
 * metadata a client chooses (user, app, session, trace id, tag values, and
 * the path). What a later reader gets is what the policy lets through.
 */

/** Fields of free text: matched as JSON where they are JSON (bodies, tool calls), as text elsewhere. */
const TEXT_FIELDS = ['request_body', 'response_body', 'response_text', 'tool_calls', 'error_message'] as const;
const METADATA_FIELDS = ['user', 'app', 'session', 'trace_id', 'path'] as const;

export interface RedactedEvent {
  event: InferenceEvent;
  /** Names of the rules that changed something. */
  applied: string[];
}

export function redactEvent(e: InferenceEvent, redactor: Redactor): RedactedEvent {
  if (!redactor.indexText) return { event: withoutText(e), applied: [] };
  if (redactor.rules.length === 0) return { event: e, applied: [] };
  const applied = new Set<string>();
  const out: InferenceEvent = { ...e };
  for (const field of TEXT_FIELDS) {
    const value = e[field];
    if (value === null || value === '') continue;
    const r = redactBody(value, redactor);
    for (const a of r.applied) applied.add(a);
    out[field] = r.text;
  }
  // A stream's answer arrives in pieces: a value split across two of them is whole only in the
  // assembled text. When that needed redaction, the stream as received cannot be trusted to
  // hold no piece of a value, so it is left out (the assembled, redacted text stays).
  if (e.streamed && out.response_body !== null && (out.response_text !== e.response_text || out.tool_calls !== e.tool_calls)) {
    out.response_body = null;
  }
  for (const field of METADATA_FIELDS) {
    const value = e[field];
    if (value === null || value === '') continue;
    const r = redactText(value, redactor);
    for (const a of r.applied) applied.add(a);
    out[field] = r.text;
  }
  let tags: Record<string, string> | null = null;
  for (const [name, value] of Object.entries(e.tags)) {
    const r = redactText(value, redactor);
    if (r.applied.length === 0) continue;
    tags ??= { ...e.tags };
    tags[name] = r.text;
    for (const a of r.applied) applied.add(a);
  }
  if (tags) out.tags = tags;
  return { event: out, applied: [...applied] };
}

/**
 * The event with no free text at all (mode `metadata-only`, or when
 * redaction itself failed and nothing may be written raw): no bodies, no
 * answer text, no error message, no client-chosen metadata.
 */
export function withoutText(e: InferenceEvent): InferenceEvent {
  return {
    ...e,
    request_body: null,
    response_body: null,
    response_text: null,
    tool_calls: null,
    error_message: null,
    body_captured: false,
    body_truncated: false,
  };
}

/** When redaction failed: nothing the client sent or the upstream answered stays, only the call's numbers. */
export function strippedEvent(e: InferenceEvent): InferenceEvent {
  return { ...withoutText(e), user: null, app: null, session: null, trace_id: null, tags: {}, path: '' };
}
