import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { sampleEvent } from './sample-event';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/**
 * Midnight (UTC) two days ago: hours that are long over, so idle flushes
 * apply, and well within every retention (the log keeps llm.inference.v1 for
 * 7 days and deletes older records while a test runs). Relative to the clock,
 * never a calendar day: tests hold on any date.
 */
export const ARCHIVE_BASE_MS = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS;

/**
 * The i-th of `total` varied events spread over `hours` hours of event time
 * (ended_at rising with i, jittered by a few seconds so neighbouring hours
 * interleave in the log): nulls, tags, errors, multi-byte text and bodies of
 * different sizes, so every column is exercised.
 */
export function archiveEvent(i: number, total: number, hours: number): InferenceEvent {
  const jitter = ((i * 7919) % 4001) - 2000;
  const ended = ARCHIVE_BASE_MS + Math.floor((i / total) * hours * HOUR_MS) + jitter;
  const failed = i % 17 === 0;
  return sampleEvent({
    event_id: `0193${String(i).padStart(4, '0').slice(-4)}-0000-7000-8000-${String(i).padStart(12, '0')}`,
    started_at: ended - 800 - (i % 500),
    first_token_at: i % 3 === 0 ? null : ended - 700,
    ended_at: ended,
    latency_ms: 800 + (i % 500) + 0.25,
    ttft_ms: i % 3 === 0 ? null : 100 + (i % 50),
    gateway_instance: `gw-${i % 3}`,
    upstream: i % 2 ? 'openai' : 'anthropic',
    provider: i % 2 ? 'openai' : 'anthropic',
    request_model: i % 11 === 0 ? null : `model-${i % 5}`,
    http_status: failed ? 429 : i % 23 === 0 ? null : 200,
    error_class: failed ? 'rate_limited' : null,
    error_message: failed ? `slow down — ${i}` : null,
    usage: {
      input_tokens: i % 13 === 0 ? null : i % 4000,
      output_tokens: i % 900,
      cached_input_tokens: i % 2 ? 0 : null,
      cache_write_tokens: i % 5 === 0 ? 12 : null,
      reasoning_tokens: i % 7 === 0 ? i % 300 : null,
      source: i % 13 === 0 ? 'none' : 'provider',
      cache_write_1h_tokens: i % 5 === 0 ? i % 10 : null,
      input_audio_tokens: i % 29 === 0 ? i % 100 : null,
      input_image_tokens: i % 31 === 0 ? i % 50 : null,
      output_audio_tokens: i % 29 === 0 ? i % 70 : null,
      output_image_tokens: i % 37 === 0 ? i % 40 : null,
      note: i % 41 === 0 ? `prompt_tokens: ${-i} is negative` : null,
    },
    cost_micro_usd: i % 19 === 0 ? null : i * 3,
    user: i % 4 === 0 ? null : `user-${i % 37}`,
    app: i % 6 === 0 ? `app-${i % 4}` : null,
    session: i % 9 === 0 ? `s-${i}` : null,
    tags: i % 3 === 0 ? {} : { team: `t${i % 4}`, 'cost-center': `cc-${i % 10}` },
    body_captured: i % 10 !== 0,
    request_body: i % 10 === 0 ? null : `{"messages":[{"role":"user","content":"question ${i} ${'é'.repeat(i % 200)}"}]}`,
    response_body: i % 10 === 0 ? null : `data: {"n":${i}}\n\n${'x'.repeat(i % 700)}`,
    response_text: i % 10 === 0 ? null : `answer ${i} 😀`,
    service_tier: i % 8 === 0 ? 'priority' : i % 8 === 1 ? null : 'default',
    cost_note: i % 19 === 0 ? 'no price for this model' : i % 8 === 0 ? 'service tier priority' : null,
  });
}
