import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { readArchiveWithDuckDb } from '../support/archive-reader';
import { readRecords } from '../support/read-log';
import { startFullPipeline, until, type FullPipeline } from '../support/redaction-pipeline';
import { sampleEvent } from '../support/sample-event';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * One record must never stall a consumer (issue 22, point 3). Here: an event
 * whose times are not dates (`started_at: 9e15`, which ingest refuses), written
 * straight into the log as another producer could, before a good call. Every
 * consumer (indexer, roller, console, aggregator) sends it to the DLQ with the
 * reason and goes on; the good call reaches all of them. The same for bytes
 * that are not an event at all (decode_failed). The other poison kinds are
 * tested where they arise: a handler that always throws a plain
 * Error (services/shared/log/consumer-runner.test.ts), a document
 * Elasticsearch refuses (test/indexer/indexer-restart.test.ts), an event over
 * Kafka's record limit (test/kafka/oversized-event.test.ts).
 */

describe('an event with a timestamp of 9e15 in the log', () => {
  let upstream: StandIn;
  let p: FullPipeline;

  beforeAll(async () => {
    upstream = await startStandIn();
    p = await startFullPipeline(upstream.url);
  }, 60_000);

  afterAll(async () => {
    await p?.close();
    await upstream?.close();
  });

  test('is refused by ingest naming the field, and changes nothing', async () => {
    const res = await fetch(`${p.gatewayUrl}/ingest/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ ...sampleEvent(), event_id: undefined, started_at: 9e15, ended_at: 9e15 }]),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('started_at');
    expect(readRecords(p.dataDir, TOPICS.inference)).toHaveLength(0);
  });

  test('written straight into the log, goes to the DLQ from every consumer, which all go on with the next call', async () => {
    const serde = await inferenceEventSerde(p.log.schemaRegistry);
    const bad = sampleEvent({ event_id: '01890a5d-ac96-774b-bcce-0000000009e1', started_at: 9e15, first_token_at: null, ended_at: 9e15 });
    await p.log.append(TOPICS.inference, [{ key: bad.event_id, value: serde.encode(bad), timestamp: Date.now() }]);
    const res = await fetch(`${p.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-user': 'after-the-poison' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still recorded' }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const id = res.headers.get('x-llm-request-id')!;

    // The console: the good call in the detail and the list (which answers, not 500).
    await until('the console', async () => (await fetch(`${p.consoleUrl}/api/requests/${id}`)).status === 200);
    const list = await fetch(`${p.consoleUrl}/api/requests`);
    expect(list.status).toBe(200);
    const ids = ((await list.json()) as { requests: { event_id: string }[] }).requests.map((r) => r.event_id);
    expect(ids).toContain(id);
    expect(ids).not.toContain(bad.event_id);
    // The index: the good call is findable.
    await until('the index', async () => {
      const page = (await (await fetch(`${p.consoleUrl}/api/search?user=after-the-poison`)).json()) as { total: number };
      return page.total === 1;
    });
    // The archive: the good call's row, not the bad one's.
    await until('the archive', async () => (await readArchiveWithDuckDb(join(p.dataDir, 'parquet')).catch(() => [])).some((r) => r.event_id === id), 20_000);
    expect((await readArchiveWithDuckDb(join(p.dataDir, 'parquet'))).map((r) => r.event_id)).not.toContain(bad.event_id);
    // The DLQ: the bad event once from each role, with why, after one try (it can never succeed).
    await until('four DLQ records', () => readRecords(p.dataDir, TOPICS.dlq).length >= 4);
    const dlq = readRecords(p.dataDir, TOPICS.dlq);
    expect(dlq.map((r) => r.headers['x-dlq-role']).sort()).toEqual(['aggregator', 'console', 'indexer', 'roller']);
    for (const r of dlq) {
      expect(r.key).toBe(bad.event_id);
      expect(r.headers).toMatchObject({ 'x-dlq-reason': 'invalid_event', 'x-dlq-attempts': '1' });
      expect(r.headers['x-dlq-error']).toMatch(/9000000000000000 is not a date/);
    }
    // Counted where an operator looks.
    const metrics = await (await fetch(`${p.gatewayUrl}/metrics`)).text();
    for (const role of ['indexer', 'roller', 'console', 'aggregator']) {
      expect(metrics).toMatch(new RegExp(`llm_logger_consumer_dead_letters_total\\{role="${role}",topic="llm.inference.v1",reason="invalid_event"\\} 1`));
    }
  }, 60_000);

  test('bytes that are not an event, written straight into the log, go to the DLQ from every consumer as decode_failed, and the next call goes on', async () => {
    const dlqBefore = readRecords(p.dataDir, TOPICS.dlq).length;
    const key = 'not-an-event';
    await p.log.append(TOPICS.inference, [{ key, value: Buffer.from('\u0000\u0000\u0000\u0000\u0001garbage, not Avro'), timestamp: Date.now() }]);
    const res = await fetch(`${p.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-user': 'after-the-garbage' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still recorded' }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const id = res.headers.get('x-llm-request-id')!;
    await until('the console', async () => (await fetch(`${p.consoleUrl}/api/requests/${id}`)).status === 200);
    await until('the index', async () => {
      const page = (await (await fetch(`${p.consoleUrl}/api/search?user=after-the-garbage`)).json()) as { total: number };
      return page.total === 1;
    });
    await until('the archive', async () => (await readArchiveWithDuckDb(join(p.dataDir, 'parquet')).catch(() => [])).some((r) => r.event_id === id), 20_000);
    await until('four more DLQ records', () => readRecords(p.dataDir, TOPICS.dlq).length >= dlqBefore + 4);
    const dlq = readRecords(p.dataDir, TOPICS.dlq).filter((r) => r.key === key);
    expect(dlq.map((r) => r.headers['x-dlq-role']).sort()).toEqual(['aggregator', 'console', 'indexer', 'roller']);
    for (const r of dlq) expect(r.headers).toMatchObject({ 'x-dlq-reason': 'decode_failed', 'x-dlq-attempts': '1' });
  }, 60_000);
});
