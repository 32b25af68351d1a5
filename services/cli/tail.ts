import { TOPICS } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import type { InferenceEvent } from '../shared/event/inference-event';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import { openEventLog } from '../shared/log/open-log';
import { createLogger } from '../shared/observability/logger';

/** One line per call, readable at a glance in a terminal. */
export function formatTailLine(e: InferenceEvent): string {
  const model = e.response_model ?? e.request_model ?? '-';
  const tokens =
    e.usage.source === 'none'
      ? 'tokens -'
      : `in ${e.usage.input_tokens ?? '?'} out ${e.usage.output_tokens ?? '?'}${e.usage.source === 'estimated' ? ' (est.)' : ''}`;
  const cost = e.cost_micro_usd === null ? '$-' : `$${(e.cost_micro_usd / 1_000_000).toFixed(6)}`;
  const ttft = e.ttft_ms === null ? '' : ` ttft ${Math.round(e.ttft_ms)}ms`;
  const who = [e.user && `user=${e.user}`, e.app && `app=${e.app}`].filter(Boolean).join(' ');
  const status = e.http_status ?? '---';
  const error = e.error_class ? ` ${e.error_class}` : '';
  return [
    new Date(e.started_at).toISOString(),
    e.upstream.padEnd(9),
    model.padEnd(24),
    `${status}${error}`,
    `${Math.round(e.latency_ms)}ms${ttft}`,
    tokens,
    cost,
    who,
    e.event_id,
  ]
    .filter((p) => p !== '')
    .join('  ');
}

/** Follows llm.inference.v1 without joining a consumer group (nothing is committed). */
export async function runTail(args: string[], config: Config): Promise<number> {
  const json = args.includes('--json');
  const log = openEventLog(config, createLogger('warn', 'tail'));
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const subscription = log.subscribe(
    { topic: TOPICS.inference, groupId: null, start: args.includes('--from-beginning') ? 'earliest' : 'latest' },
    async (batch) => {
      const events = await Promise.all(batch.map((r) => serde.decode(r.value)));
      events.sort((a, b) => a.ended_at - b.ended_at);
      for (const e of events) {
        process.stdout.write(`${json ? JSON.stringify(e) : formatTailLine(e)}\n`);
      }
    },
  );
  process.stderr.write(`llm-logger tail: following ${TOPICS.inference} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await subscription.stop();
  await log.close();
  return 0;
}
