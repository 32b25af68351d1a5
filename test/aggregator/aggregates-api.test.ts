import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { AggregateRow } from '../../services/aggregator/core/aggregate-query';
import { describeWithInfra } from '../support/infra';
import { ensureTopics } from '../support/kafka-topics';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/** SDK calls through the gateway show up in GET /api/aggregates, on either log. */

async function callsThenAggregates(pipeline: Pipeline): Promise<void> {
  const client = new OpenAI({ apiKey: 'sk-agg-test', baseURL: `${pipeline.gatewayUrl}/openai/v1`, maxRetries: 0 });
  const user = `agg-${randomUUID()}`;
  for (let i = 0; i < 3; i++) {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }] }, { headers: { 'x-llm-user': user } });
  }
  const stream = await client.chat.completions.create(
    { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream please' }] },
    { headers: { 'x-llm-user': user } },
  );
  for await (const chunk of stream) void chunk;

  let row: AggregateRow | undefined;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${pipeline.consoleUrl}/api/aggregates?window=1m&groupBy=user`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: AggregateRow[] };
    row = body.rows.find((r) => r.group === user);
    if (row?.calls === 4) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(row).toMatchObject({ calls: 4, errors: 0, errorRate: 0, final: false });
  expect(row!.inputTokens).toBeGreaterThan(0);
  expect(row!.outputTokens).toBeGreaterThan(0);
  expect(row!.costMicroUsd).toBeGreaterThan(0);
  expect(row!.latencyMs!.p50).toBeGreaterThan(0);
  expect(row!.ttftMs!.p99).toBeGreaterThanOrEqual(row!.ttftMs!.p50);

  const hour = (await (await fetch(`${pipeline.consoleUrl}/api/aggregates?window=1h&groupBy=model_upstream`)).json()) as { rows: AggregateRow[] };
  expect(hour.rows.some((r) => r.group.endsWith('@openai') && r.calls >= 4)).toBe(true);
}

describe('GET /api/aggregates on the embedded pipeline', () => {
  let upstream: StandIn;
  let pipeline: Pipeline;
  beforeAll(async () => {
    upstream = await startStandIn();
    pipeline = await startPipeline(upstream.url, { LLM_LOGGER_AGGREGATOR_EMIT_INTERVAL_MS: '200' });
  });
  afterAll(async () => {
    await pipeline?.close();
    await upstream?.close();
  });

  test('SDK calls appear per user, model and upstream within seconds', () => callsThenAggregates(pipeline), 70_000);

  test.each([
    ['window=1d', 'window'],
    ['groupBy=team', 'groupBy'],
    ['from=last-week', 'from'],
    ['group=model', 'group'],
  ])('?%s is refused naming %s', async (query, parameter) => {
    const res = await fetch(`${pipeline.consoleUrl}/api/aggregates?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { parameter: string } }).error.parameter).toBe(parameter);
  });
});

describeWithInfra('GET /api/aggregates on Kafka', (settings) => {
  let upstream: StandIn;
  let pipeline: Pipeline;
  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    upstream = await startStandIn();
    pipeline = await startPipeline(upstream.url, {
      LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
      LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
      LLM_LOGGER_AGGREGATOR_EMIT_INTERVAL_MS: '500',
      LLM_LOGGER_INSTANCE: `api-test-${randomUUID()}`,
    }, { aggregator: true });
  }, 60_000);
  afterAll(async () => {
    await pipeline?.close();
    await upstream?.close();
  });

  test('SDK calls appear per user, model and upstream within seconds', () => callsThenAggregates(pipeline), 90_000);
});
