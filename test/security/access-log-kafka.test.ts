import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAccessRecord, type AccessRecord } from '../../services/console/access/access-record';
import { createKafkaClient } from '../../services/shared/log/kafka/kafka-client';
import { TOPICS } from '../../topology/topics';
import { bearer, NAMES, until, writeAccessConfig } from '../support/console-identities';
import { describeWithInfra } from '../support/infra';
import { ensureTopics, partitionsSince, seekToRanges } from '../support/kafka-topics';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * The access log on the real broker: an auditor's read of bodies becomes a
 * JSON record on llm.access.v1 that a plain Kafka consumer reads back, and
 * the console's own consumer shows it to admins.
 */
describeWithInfra('access log on Kafka', (settings) => {
  let upstream: StandIn;
  let pipeline: Pipeline;
  let dir: string;

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-access-kafka-'));
    upstream = await startStandIn();
    pipeline = await startPipeline(
      upstream.url,
      {
        LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
        LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
        LLM_LOGGER_CONSOLE_VIEW_HOURS: '0.05',
        LLM_LOGGER_CONFIG: writeAccessConfig(dir),
      },
      // The admins' view in a group of its own: other consoles on the shared broker use the contract's group.
      { accessGroupId: `llm-logger-console-access-test-${randomUUID()}` },
    );
  }, 60_000);

  afterAll(async () => {
    await pipeline?.close();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a read of bodies is a record on llm.access.v1, read back by a plain consumer and by the admins\' view', async () => {
    const user = `access-kafka-${randomUUID()}`;
    const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-user': user },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a prompt an auditor will read' }] }),
    });
    const id = res.headers.get('x-llm-request-id')!;
    await res.text();
    // The new console first reads the topic's last minutes, which on the shared broker may hold the
    // bulk writes of the suites before this one (tens of thousands of back-dated records): allow for them.
    await pipeline.waitForEvent(id, 75_000, { ...bearer('viewer') });
    const since = Date.now() - 1_000;
    const read = await fetch(`${pipeline.consoleUrl}/api/requests/${id}`, { headers: { ...bearer('auditor'), 'user-agent': 'kafka-audit-test' } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { request_body: string }).request_body).toContain('an auditor will read');

    // An independent reader of the topic (from the records of the last seconds).
    const ranges = await partitionsSince(settings().brokers, TOPICS.access, since);
    const consumer = createKafkaClient(settings().brokers.split(',')).consumer({ kafkaJS: { groupId: `test-reader-${randomUUID()}`, fromBeginning: true, autoCommit: false } });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.access] });
    let key: string | null = null;
    const record = await new Promise<AccessRecord>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const r = decodeAccessRecord(message.value!);
          if (r?.event_ids.includes(id)) {
            key = message.key?.toString() ?? null;
            resolve(r);
          }
        },
      });
      seekToRanges(consumer, TOPICS.access, ranges);
    });
    await consumer.disconnect();
    expect(key).toBe(NAMES.auditor);
    expect(record).toMatchObject({
      action: 'request_bodies',
      event_ids: [id],
      actor: { name: NAMES.auditor, role: 'auditor', via: 'token' },
      client: { ip: '127.0.0.1', user_agent: 'kafka-audit-test' },
    });

    const seen = await until(
      async () => {
        const page = (await (await fetch(`${pipeline.consoleUrl}/api/access-log?event_id=${id}`, { headers: bearer('admin') })).json()) as { entries: AccessRecord[] };
        return page.entries.find((e) => e.id === record.id);
      },
      30_000,
      'the record in the admins\' view',
    );
    expect(seen).toEqual(record);
  }, 150_000);
});
