import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { runGateway, type RunningRole } from '../../services/gateway/run-gateway';
import { loadConfig } from '../../services/shared/config/config';
import type { EventLog } from '../../services/shared/log/event-log';
import { openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { TOPICS } from '../../topology/topics';
import { describeWithInfra } from '../support/infra';
import { ensureTopics } from '../support/kafka-topics';
import { createKafkaClient } from '../../services/shared/log/kafka/kafka-client';

/**
 * On a broker without its topics the gateway must not look ready: /readyz
 * answers 503 and names the missing topic and the command that creates it,
 * and becomes ready once the topic exists. The topic here has a name of its
 * own (the shared broker has the real ones), created by the test half-way.
 */
describeWithInfra('gateway readiness on Kafka without its topics', (settings) => {
  let dir: string;
  let log: EventLog;
  let gateway: RunningRole;
  const missing = `test-missing-${randomUUID()}`;

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-topics-'));
    const config = loadConfig({
      LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
      LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
      LLM_LOGGER_DATA_DIR: dir,
      LLM_LOGGER_GATEWAY_PORT: '0',
    });
    const logger = createLogger('silent', 'test');
    log = openEventLog(config, logger);
    gateway = await runGateway(config, log, new Registry(), logger, { requiredTopics: [TOPICS.inference, missing] });
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await log?.close();
    const admin = createKafkaClient(settings().brokers.split(',')).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [missing] }).catch(() => undefined);
    await admin.disconnect();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const readyz = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('/healthz is up, /readyz is 503 naming the missing topic and the fix, then 200 once it exists', async () => {
    expect((await fetch(`http://127.0.0.1:${gateway.port}/healthz`)).status).toBe(200);
    let r = await readyz();
    for (let i = 0; i < 100 && r.status === 200; i++) {
      await new Promise((res) => setTimeout(res, 100)); // the first check is under way
      r = await readyz();
    }
    expect(r.status).toBe(503);
    expect(r.body.missing_topics).toEqual([missing]);
    expect(String(r.body.fix)).toContain('npx llm-logger topology apply');

    const admin = createKafkaClient(settings().brokers.split(',')).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: missing, numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();
    for (let i = 0; i < 150 && r.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 200)); // rechecked every 5 s
      r = await readyz();
    }
    expect(r.status).toBe(200);
    expect(r.body.missing_topics).toBeUndefined();
  }, 60_000);
});
