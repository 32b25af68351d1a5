import type { SseEvent } from './wire/types';

const TERMINAL_EVENT_TYPES = new Set(['message_stop', 'response.completed', 'response.incomplete', 'response.failed', 'error']);

/**
 * True for the event after which a client considers a stream answered:
 * OpenAI's `[DONE]`, Anthropic's `message_stop`, a Responses terminal event,
 * or an error. Strict audit mode holds back the last byte of such an event
 * until the call's record is durable.
 */
export function isTerminalEvent(event: SseEvent): boolean {
  if (event.data === '[DONE]') return true;
  return event.event !== null && TERMINAL_EVENT_TYPES.has(event.event);
}
