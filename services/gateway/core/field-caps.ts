import { clipText } from './wire/text-budget';
import type { ToolCall } from './wire/types';

/**
 * Bounds on the event's short string fields. Real values are far shorter (a
 * model name is a few dozen characters); a client or upstream that sends a
 * 40 KB `model` must not make every store, aggregate group and price lookup
 * carry it. Values over the bound are cut and the field is named in
 * `truncated_fields` (where the log's record limit also names what it
 * leaves out: services/shared/event/truncated-fields.ts); the ingest API
 * refuses them instead.
 */
export const FIELD_MAX_CHARS = {
  request_model: 256,
  response_model: 256,
  finish_reason: 256,
  error_type: 256,
  error_message: 4_096,
  path: 2_048,
  // Only ingested events can carry these unbounded: the gateway reads a tier of at most 32 characters and writes its own notes.
  service_tier: 64,
  cost_note: 1_024,
} as const;

export type CappedField = keyof typeof FIELD_MAX_CHARS;

/** `value` within its field's bound; a cut adds the field's name to `cut`. */
export function capField(field: CappedField, value: string | null, cut: string[]): string | null {
  if (value === null || value.length <= FIELD_MAX_CHARS[field]) return value;
  cut.push(field);
  return clipText(value, FIELD_MAX_CHARS[field]);
}

/** Tool calls whose names and arguments together stay within `maxChars` (later ones are cut first to nothing). */
export function capToolCalls(calls: readonly ToolCall[], maxChars: number): { calls: ToolCall[]; cut: boolean } {
  let room = maxChars;
  let cut = false;
  const out = calls.map((c) => {
    const name = clipText(c.name, Math.max(0, room));
    room -= name.length;
    const args = clipText(c.arguments, Math.max(0, room));
    room -= args.length;
    if (name.length < c.name.length || args.length < c.arguments.length) cut = true;
    return { id: c.id, name, arguments: args };
  });
  return { calls: out, cut };
}
