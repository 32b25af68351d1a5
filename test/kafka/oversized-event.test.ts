import { randomUUID } from 'node:crypto';
import { TOPICS } from '../../topology/topics';
import { isLlmLoggerError } from '../../services/shared/errors';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { createKafkaClient } from '../../services/shared/log/kafka/kafka-client';
import { SpoolingLog } from '../../services/shared/log/spool/spooling-log';
import { describeWithInfra } from '../support/infra';
import { ensureTopics, partitionsSince, seekToRanges } from '../support/kafka-topics';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * An event over Kafka's record limit on the real broker (issue 22, point 3):
 * the gateway captures bodies up to 1 MiB each, Kafka takes records up to
 * about 1 MB. The event is refused at the source (recorded without its bodies,
 * flagged truncated), Kafka is never taken for down, nothing goes to the
 * spool, and the calls after it are recorded as usual.
 */
for (const policy of ['index', 'all'] as const) describeWithInfra(`an event over 1 MB on Kafka (redaction policy ${policy})`, (settings) => {
  let upstream: StandIn;
  let pipeline: Pipeline;

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    upstream = await startStandIn();
    pipeline = await startPipeline(upstream.url, {
      LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
      LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
      LLM_LOGGER_CONSOLE_VIEW_HOURS: '0.01', // the shared dev broker holds many calls: the console rebuilds only the last 36 s
      LLM_LOGGER_REDACTION_POLICY: policy, // all: events are shrunk on the gateway's redaction thread
    });
  }, 60_000);

  afterAll(async () => {
    await pipeline?.close();
    await upstream?.close();
  });

  const call = async (content: string, user: string): Promise<string> => {
    const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-user': user },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    return res.headers.get('x-llm-request-id')!;
  };

  /**
   * The events with these ids, read from llm.inference.v1 by a plain consumer of
   * its own (not the console: on the shared broker, another process in the
   * console's group may hold the partition an event went to).
   */
  async function readFromKafka(ids: string[], since: number): Promise<Map<string, InferenceEvent>> {
    const serde = await inferenceEventSerde(pipeline.log.schemaRegistry);
    const ranges = await partitionsSince(settings().brokers, TOPICS.inference, since);
    const consumer = createKafkaClient(settings().brokers.split(',')).consumer({
      kafkaJS: { groupId: `test-reader-${randomUUID()}`, fromBeginning: true, autoCommit: false },
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.inference] });
    const found = new Map<string, InferenceEvent>();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`found ${found.size} of ${ids.length} events on Kafka`)), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            const key = message.key?.toString() ?? '';
            if (!ids.includes(key)) return;
            found.set(key, await serde.decode(message.value!));
            if (found.size === ids.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
        seekToRanges(consumer, TOPICS.inference, ranges);
      });
    } finally {
      await consumer.disconnect();
    }
    return found;
  }

  test('is recorded without its bodies, flagged truncated, and the calls after it are recorded whole', async () => {
    const since = Date.now() - 5_000;
    const big = await call('x'.repeat(1_500_000), 'oversized');
    const after = await Promise.all([call('small one', 'after-1'), call('small two', 'after-2')]);
    const events = await readFromKafka([big, ...after], since);
    const event = events.get(big)!;
    expect(event).toMatchObject({
      user: 'oversized',
      http_status: 200,
      body_captured: true,
      body_truncated: true,
      request_body: null,
      response_body: null,
      truncated_fields: 'request_body,response_body',
    });
    expect(event.request_bytes).toBeGreaterThan(1_500_000); // the numbers are whole
    expect(event.usage.input_tokens).toBeGreaterThan(0);
    for (const id of after) {
      const e = events.get(id)!;
      expect(e).toMatchObject({ body_truncated: false, http_status: 200 });
      expect(e.request_body).toContain('small');
    }
    const ready = (await (await fetch(`${pipeline.gatewayUrl}/readyz`)).json()) as Record<string, unknown>;
    expect(ready).toMatchObject({ broker: 'up', spool_records: 0 });
    const metrics = await (await fetch(`${pipeline.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/llm_logger_gateway_events_shrunk_total\{kept="without_bodies"\} 1/);
    expect(metrics).toMatch(/llm_logger_gateway_events_dropped_total 0/);
  }, 120_000);

  if (policy === 'all') {
    test('a call is redacted before it reaches Kafka', async () => {
      const since = Date.now() - 5_000;
      const id = await call('my ssn is 219-09-9999', 'redacted-on-kafka');
      const event = (await readFromKafka([id], since)).get(id)!;
      expect(event.request_body).toContain('my ssn is [REDACTED:ssn]');
      expect(JSON.stringify(event)).not.toContain('219-09-9999');
    }, 60_000);
    return;
  }

  test('a record over the limit from another producer is refused at once, never spooled, and does not hold back the next', async () => {
    const log = pipeline.log as SpoolingLog;
    expect(log).toBeInstanceOf(SpoolingLog);
    const err = await log.append(TOPICS.dlq, [{ key: 'too-big', value: Buffer.alloc(1_200_000) }]).catch((e: unknown) => e);
    expect(isLlmLoggerError(err, 'RECORD_TOO_LARGE')).toBe(true);
    expect((err as Error).message).toContain('LLM_LOGGER_KAFKA_MAX_RECORD_BYTES');
    expect(log.spool.depth).toBe(0);
    expect(log.brokerState).toBe('up');
    const since = Date.now() - 5_000;
    const id = await call('right after', 'after-refused');
    expect((await readFromKafka([id], since)).get(id)).toMatchObject({ user: 'after-refused' });
  }, 60_000);
});
