import { createKafkaClient } from '../../services/shared/log/kafka/kafka-client';
import { randomUUID } from 'node:crypto';
import avro from 'avsc';
import OpenAI from 'openai';
import { TOPICS } from '../../topology/topics';
import { describeWithInfra } from '../support/infra';
import { ensureTopics, partitionsSince, seekToRanges } from '../support/kafka-topics';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { openSse } from '../support/sse-client';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * The gateway and console on the real broker: events are Avro in the
 * Confluent wire format, readable by a plain Kafka consumer and the registry.
 */
describeWithInfra('gateway and console on Kafka', (settings) => {
  let upstream: StandIn;
  let pipeline: Pipeline;

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    upstream = await startStandIn();
    pipeline = await startPipeline(upstream.url, {
      LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
      LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
      // A long-lived dev broker may hold many calls (benchmarks write to llm.inference.v1): the new
      // console rebuilds only the last three minutes of them.
      LLM_LOGGER_CONSOLE_VIEW_HOURS: '0.05',
    });
  }, 60_000);
  afterAll(async () => {
    await pipeline?.close();
    await upstream?.close();
  });

  test('an SDK call is recorded on llm.inference.v1 and reaches the console', async () => {
    const client = new OpenAI({ apiKey: 'sk-kafka-test', baseURL: `${pipeline.gatewayUrl}/openai/v1`, maxRetries: 0 });
    const user = `kafka-${randomUUID()}`;
    const since = Date.now() - 5_000; // the event carries the call's end time
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello kafka' }] }, { headers: { 'x-llm-user': user } })
      .withResponse();
    const id = response.headers.get('x-llm-request-id')!;
    const event = await pipeline.waitForEvent(id, 30_000);
    expect(event).toMatchObject({ user, upstream: 'openai', http_status: 200, usage: { source: 'provider' } });

    // An independent reader: a plain consumer (from the records of the last seconds) and the registry's REST API.
    const ranges = await partitionsSince(settings().brokers, TOPICS.inference, since);
    const kafka = createKafkaClient(settings().brokers.split(','));
    const consumer = kafka.consumer({ kafkaJS: { groupId: `test-reader-${randomUUID()}`, fromBeginning: true, autoCommit: false } });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.inference] });
    const raw = await new Promise<Buffer>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.key?.toString() === id) resolve(message.value!);
        },
      });
      seekToRanges(consumer, TOPICS.inference, ranges);
    });
    await consumer.disconnect();
    expect(raw[0]).toBe(0); // magic byte
    const schemaId = raw.readUInt32BE(1);
    const res = await fetch(`${settings().registryUrl}/schemas/ids/${schemaId}`);
    const writer = avro.Type.forSchema(JSON.parse(((await res.json()) as { schema: string }).schema) as avro.Schema);
    const decoded = writer.fromBuffer(raw.subarray(5)) as { event_id: string; user: string; usage: { output_tokens: number } };
    expect(decoded.event_id).toBe(id);
    expect(decoded.user).toBe(user);
    expect(decoded.usage.output_tokens).toBe(8);
    expect(raw.toString('latin1')).not.toContain('sk-kafka-test');
  }, 60_000);

  /**
   * Streams calls until a progress record of one of them reaches the console's SSE, or gives up and
   * says what it saw: what the gateway published, what the console's live reader read and failed
   * on, and which SSE events arrived (by type, and for the calls sent).
   */
  async function liveRoundTrip(p: Pipeline, withinMs: number): Promise<string | null> {
    const sse = await openSse(`${p.consoleUrl}/api/live`);
    try {
      const deadline = Date.now() + withinMs;
      // Any of the calls sent so far counts: on a loaded machine a record may take longer than one round.
      const sent = new Set<string>();
      for (;;) {
        const res = await fetch(`${p.gatewayUrl}/openai/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-stand-in-chunk-delay-ms': '40', 'x-stand-in-chunks': '20' },
          body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'live on kafka' }] }),
        });
        sent.add(res.headers.get('x-llm-request-id')!);
        await res.text();
        const seen = await sse
          .waitFor((m) => m.event === 'progress' && sent.has((m.data as { event_id: string }).event_id) && (m.data as { text: string }).text.length > 0, 2_000)
          .then(() => true, () => false);
        if (seen) return null;
        if (Date.now() > deadline) {
          const metrics = await (await fetch(`${p.gatewayUrl}/metrics`)).text();
          const lines = metrics
            .split('\n')
            .filter((l) => /^llm_logger_(gateway_live_records_total|consumer_[a-z_]+\{[^}]*inference\.live)/.test(l));
          const events = [...new Set(sse.messages.map((m) => m.event))].join(',');
          const ours = sse.messages.filter((m) => sent.has((m.data as { event_id?: string }).event_id ?? '')).map((m) => m.event);
          return (
            `no live record of ${sent.size} calls reached the console in ${withinMs} ms; SSE events seen: ${events || 'none'}; ` +
            `of the calls sent: ${ours.join(',') || 'none'}; ${lines.join('; ')}`
          );
        }
      }
    } finally {
      sse.close();
    }
  }

  test('the live tail flows through llm.inference.live.v1 on Kafka', async () => {
    // The console's live reader starts at the topic's end: calls before it holds its partitions are not shown.
    expect(await liveRoundTrip(pipeline, 40_000)).toBeNull();
  }, 60_000);
});
