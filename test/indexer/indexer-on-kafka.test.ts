import { ElasticsearchIndex } from '../../services/indexer/adapters/elasticsearch-index';
import { runIndexer } from '../../services/indexer/run-indexer';
import { loadConfig } from '../../services/shared/config/config';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { Kafka, logLevel } from 'kafkajs';
import { openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import { TOPICS } from '../../topology/topics';
import { auditEvents } from '../support/audit-events';
import { parseSearchQuery } from '../../services/indexer/core/search-query';
import { elasticsearchUrl, uniquePrefix } from '../support/elasticsearch';
import { describeWithInfra, infraRequired } from '../support/infra';
import { rmSync } from 'node:fs';
import { ensureTopics } from '../support/kafka-topics';

/**
 * The indexer role on Kafka (the distributed mode) into the Elasticsearch node.
 * The broker is shared, so the test's consumer group starts at the topic's
 * current end (offsets committed before it starts) and reads only its own events.
 */
const describeIt: typeof describeWithInfra =
  elasticsearchUrl() || infraRequired
    ? describeWithInfra
    : (name, fn) => describe.skip(`${name} (no Elasticsearch: npm run infra:up)`, () => fn(() => ({ brokers: '', registryUrl: '' })));

describeIt('indexer on Kafka into Elasticsearch', (settings) => {
  it('indexes events produced to llm.inference.v1, each once', async () => {
    const url = elasticsearchUrl();
    if (!url) throw new Error('no Elasticsearch: npm run infra:up');
    const { brokers, registryUrl } = settings();
    await ensureTopics(brokers);
    const groupId = `test-indexer-${Date.now().toString(36)}`;
    const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(TOPICS.inference);
      await admin.setOffsets({ groupId, topic: TOPICS.inference, partitions: ends.map((p) => ({ partition: p.partition, offset: p.offset })) });
    } finally {
      await admin.disconnect();
    }

    const prefix = uniquePrefix('kafka');
    const config = loadConfig({
      LLM_LOGGER_KAFKA_BROKERS: brokers,
      LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl,
      LLM_LOGGER_ELASTICSEARCH_URL: url,
      LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX: prefix,
      LLM_LOGGER_LOG_LEVEL: 'silent',
      LLM_LOGGER_DATA_DIR: `/tmp/${prefix}`, // the Kafka log's disk spool
    });
    const logger = createLogger('silent', 'test');
    const log = openEventLog(config, logger);
    const es = new ElasticsearchIndex({ url, prefix, retentionDays: 30, logger });
    const indexer = await runIndexer(config, log, createMetricsRegistry(), logger, { serveHealth: false, groupId });
    try {
      // Other suites may produce to the shared topic meanwhile: count this test's own user only.
      const user = `kafka-${prefix}`;
      const mine = async (): Promise<number> => (await es.search(parseSearchQuery(new URLSearchParams({ user, limit: '1' })))).total;
      const events = auditEvents(300, undefined, () => ({ user }));
      const serde = await inferenceEventSerde(log.schemaRegistry);
      await log.append(
        TOPICS.inference,
        events.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })),
      );
      await log.append(TOPICS.inference, events.slice(0, 50).map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at }))); // duplicates
      const deadline = Date.now() + 60_000;
      for (;;) {
        await es.refresh().catch(() => undefined);
        const n = await mine().catch(() => 0);
        if (n >= 300 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 1_000));
      await es.refresh();
      expect(await mine()).toBe(300);
    } finally {
      await indexer.close();
      await log.close();
      await es.deleteAll();
      await es.close();
      rmSync(`/tmp/${prefix}`, { recursive: true, force: true });
    }
  }, 90_000);
});
