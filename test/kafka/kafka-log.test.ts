import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { TOPICS, type TopicName } from '../../topology/topics';
import { loadConfig } from '../../services/shared/config/config';
import type { ConsumedRecord } from '../../services/shared/log/event-log';
import { runConsumer, PoisonRecordError } from '../../services/shared/log/consumer-runner';
import { createKafkaClient } from '../../services/shared/log/kafka/kafka-client';
import { KafkaEventLog } from '../../services/shared/log/kafka/kafka-log';
import { ConfluentRegistryClient } from '../../services/shared/log/kafka/registry-client';
import { createLogger } from '../../services/shared/observability/logger';
import { waitFor } from '../support/roller-process';
import { describeWithInfra } from '../support/infra';
import { ensureTopics } from '../support/kafka-topics';

/** The Kafka adapter of the EventLog port, against the real broker. */
describeWithInfra('Kafka event log', (settings) => {
  let log: KafkaEventLog;
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'test');

  /** The Kafka log on the test broker; `partitioning` overrides topology/'s (e.g. 'batch' on the DLQ topic). */
  function openLog(partitioning?: () => 'batch' | 'key'): KafkaEventLog {
    const config = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: settings().brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl });
    return new KafkaEventLog({
      brokers: config.log.kafkaBrokers!,
      settings: config.log.kafka,
      registry: new ConfluentRegistryClient({ url: settings().registryUrl }),
      logger,
      partitioning,
    });
  }

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    log = openLog();
  });
  afterAll(async () => {
    await log?.close();
  });

  /** Collects records whose key starts with `prefix` until `count` arrived. */
  function collect(groupId: string, prefix: string, count: number, onBatch?: (b: ConsumedRecord[]) => void) {
    const seen: ConsumedRecord[] = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const sub = log.subscribe({ topic: TOPICS.dlq, groupId, start: 'earliest' }, async (batch) => {
      onBatch?.(batch);
      for (const r of batch) if (r.key?.startsWith(prefix)) seen.push(r);
      if (seen.length >= count) resolve();
    });
    return { seen, done, sub };
  }

  test('appended records are consumed in order; a group resumes after its committed offset', async () => {
    const prefix = randomUUID();
    const group = `test-${randomUUID()}`;
    // One key, so one partition: order is observable.
    const records = Array.from({ length: 20 }, (_, i) => ({ key: `${prefix}`, value: Buffer.from(String(i)), headers: { n: String(i) } }));
    await log.append(TOPICS.dlq, records.slice(0, 10));
    const first = collect(group, prefix, 10);
    await first.done;
    await first.sub.stop();
    expect(first.seen.map((r) => r.value.toString())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(first.seen[3]!.headers.n).toBe('3');

    await log.append(TOPICS.dlq, records.slice(10));
    const second = collect(group, prefix, 10);
    await second.done;
    await second.sub.stop();
    expect(second.seen.map((r) => r.value.toString())).toEqual(['10', '11', '12', '13', '14', '15', '16', '17', '18', '19']);
  }, 60_000);

  test("a 'batch'-partitioned topic takes each appended batch on one partition, the next batch on the next, keys kept", async () => {
    // llm.inference.v1 is partitioned this way (topology/); here the DLQ topic stands in for it, to read few records.
    const batched = openLog(() => 'batch');
    const prefix = randomUUID();
    try {
      // The first batch goes by key while the partition count is looked up.
      await batched.append(TOPICS.dlq, [{ key: `${prefix}-warm-up`, value: Buffer.from('w') }]);
      await new Promise((r) => setTimeout(r, 1_000));
      for (let b = 0; b < 4; b++) {
        await batched.append(
          TOPICS.dlq,
          ['x', 'y', 'z'].map((k) => ({ key: `${prefix}-${b}-${k}`, value: Buffer.from(String(b)) })),
        );
      }
    } finally {
      await batched.close();
    }
    const { seen, done, sub } = collect(`test-${randomUUID()}`, prefix, 13);
    await done;
    await sub.stop();
    const partitionOf = (b: number): number[] => [...new Set(seen.filter((r) => r.key!.startsWith(`${prefix}-${b}-`)).map((r) => r.partition))];
    const used = [0, 1, 2, 3].map(partitionOf);
    for (const parts of used) expect(parts).toHaveLength(1);
    const partitions = 3; // the DLQ topic's (topology/)
    for (let b = 1; b < 4; b++) expect(used[b]![0]).toBe((used[b - 1]![0]! + 1) % partitions);
    expect(seen.find((r) => r.key === `${prefix}-2-y`)?.value.toString()).toBe('2');
  }, 60_000);

  test("on a 'batch'-partitioned topic, records marked partitionByKey go by key, every copy of a key to one partition", async () => {
    const batched = openLog(() => 'batch');
    const prefix = randomUUID();
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => `${prefix}-ingested-${k}`);
    try {
      await batched.append(TOPICS.dlq, [{ key: `${prefix}-warm-up`, value: Buffer.from('w') }]);
      await new Promise((r) => setTimeout(r, 1_000));
      // Three appends (an event posted three times), each beside a record of the batch's own partition.
      for (let copy = 0; copy < 3; copy++) {
        await batched.append(TOPICS.dlq, [
          { key: `${prefix}-own-${copy}`, value: Buffer.from('own') },
          ...keys.map((key) => ({ key, value: Buffer.from(String(copy)), partitionByKey: true })),
        ]);
      }
    } finally {
      await batched.close();
    }
    const { seen, done, sub } = collect(`test-${randomUUID()}`, prefix, 1 + 3 + 3 * keys.length);
    await done;
    await sub.stop();
    for (const key of keys) {
      const copies = seen.filter((r) => r.key === key);
      expect(copies.map((r) => r.value.toString())).toEqual(['0', '1', '2']);
      expect(new Set(copies.map((r) => r.partition)).size).toBe(1);
    }
    // Keys spread over partitions (librdkafka's partitioner), while the batches' own records keep rotating.
    expect(new Set(keys.map((key) => seen.find((r) => r.key === key)!.partition)).size).toBeGreaterThan(1);
    const own = [0, 1, 2].map((c) => seen.find((r) => r.key === `${prefix}-own-${c}`)!.partition);
    expect(own[1]).toBe((own[0]! + 1) % 3);
  }, 60_000);

  test("while a 'batch'-partitioned topic's partition count cannot be looked up, batches go by key; once it can, by batch again", async () => {
    const batched = openLog(() => 'batch');
    // The metadata request fails until `failing` is cleared, answering in the call as the library does
    // for a client that is not connected.
    type MetadataCall = (options: unknown, cb: (err: Error | null, data?: unknown) => void) => void;
    type ProducerInternals = { producer: { getMetadata: MetadataCall }; partitionCount(topic: string): number | null };
    const producer = await (batched as unknown as { getProducer(): Promise<ProducerInternals> }).getProducer();
    const real = producer.producer.getMetadata.bind(producer.producer);
    let failing = true;
    let lookups = 0;
    producer.producer.getMetadata = (options, cb) => {
      lookups++;
      if (failing) cb(new Error('metadata request failed'));
      else real(options, cb);
    };
    const prefix = randomUUID();
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    // The same keys in every batch; the value tells the batch.
    const sendBatch = (b: number) => batched.append(TOPICS.dlq, keys.map((k) => ({ key: `${prefix}-${k}`, value: Buffer.from(String(b)) })));
    try {
      for (let b = 0; b < 3; b++) await sendBatch(b); // every append succeeds, by key
      expect(lookups).toBeGreaterThan(0);
      failing = false;
      // A failed lookup is tried again after ~5 s (asking for the count starts it).
      const deadline = Date.now() + 15_000;
      while (producer.partitionCount(TOPICS.dlq) === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(producer.partitionCount(TOPICS.dlq)).toBe(3); // the DLQ topic's (topology/)
      await sendBatch(3);
    } finally {
      await batched.close();
    }
    const { seen, done, sub } = collect(`test-${randomUUID()}`, prefix, 4 * keys.length);
    await done;
    await sub.stop();
    const ofBatch = (b: number) => seen.filter((r) => r.value.toString() === String(b));
    const partitionsOf = (b: number): Set<number> => new Set(ofBatch(b).map((r) => r.partition));
    // By key, twelve keys spread over the topic's three partitions; the same key, the same partition each time.
    for (let b = 0; b < 3; b++) expect(partitionsOf(b).size).toBeGreaterThan(1);
    const byKey = (b: number) => new Map(ofBatch(b).map((r) => [r.key, r.partition]));
    expect(byKey(1)).toEqual(byKey(0));
    expect(byKey(2)).toEqual(byKey(0));
    // With the count known again, a batch goes whole to one partition.
    expect(ofBatch(3)).toHaveLength(keys.length);
    expect(partitionsOf(3).size).toBe(1);
  }, 60_000);

  test('resetGroup makes a group read a topic again from its start; an unknown group is nothing to reset', async () => {
    const prefix = randomUUID();
    const group = `test-${randomUUID()}`;
    await log.append(TOPICS.dlq, [{ key: `${prefix}`, value: Buffer.from('once') }]);
    const first = collect(group, prefix, 1);
    await first.done;
    await first.sub.stop();
    await log.append(TOPICS.dlq, [{ key: `${prefix}`, value: Buffer.from('twice') }]);
    await log.resetGroup(group, TOPICS.dlq);
    const again = collect(group, prefix, 2);
    await again.done;
    await again.sub.stop();
    expect(again.seen.map((r) => r.value.toString())).toEqual(['once', 'twice']);
    await expect(log.resetGroup(`test-never-${randomUUID()}`, TOPICS.dlq)).resolves.toBeUndefined();
    // A group with a running member is refused, naming the group, and keeps its offsets.
    const busy = `test-${randomUUID()}`;
    const running = collect(busy, prefix, 2);
    await running.done; // a member of the group, and still running
    await expect(log.resetGroup(busy, TOPICS.dlq)).rejects.toThrow(new RegExp(`group ${busy} has 1 running member`));
    await running.sub.stop();
  }, 60_000);

  test('resetGroup with a time moves a group to the first records at or after it, for a group that read them or never existed', async () => {
    const prefix = randomUUID();
    const group = `test-${randomUUID()}`;
    // Kafka finds the first offset whose timestamp is at or after the time, then reading goes on in offset
    // order. Other tests write to this topic at the current time, so the records here are stamped a few
    // minutes ahead (the broker accepts up to an hour) and the reset is to a time no other record reaches.
    const from = Date.now() + 5 * 60_000;
    // One key, so one partition: a record two hours old, then two newer than `from`.
    await log.append(TOPICS.dlq, [
      { key: `${prefix}`, value: Buffer.from('old'), timestamp: from - 2 * 3_600_000 },
      { key: `${prefix}`, value: Buffer.from('recent-1'), timestamp: from + 60_000 },
      { key: `${prefix}`, value: Buffer.from('recent-2'), timestamp: from + 120_000 },
    ]);
    const first = collect(group, prefix, 3);
    await first.done;
    await first.sub.stop();
    for (const g of [group, `test-never-${randomUUID()}`]) {
      await log.resetGroup(g, TOPICS.dlq, from);
      const again = collect(g, prefix, 2);
      await again.done;
      await again.sub.stop();
      expect(again.seen.map((r) => r.value.toString())).toEqual(['recent-1', 'recent-2']);
    }
  }, 60_000);

  test('a reader knows when it has caught up: at once on an empty topic, after reading on one with records', async () => {
    const admin = createKafkaClient([settings().brokers]).admin();
    await admin.connect();
    const empty = `test.empty.${randomUUID()}` as TopicName;
    await admin.createTopics({ topics: [{ topic: empty, numPartitions: 3, replicationFactor: 1 }] });
    let batches = 0;
    const onEmpty = log.subscribe({ topic: empty, groupId: null, start: 'earliest' }, async () => {
      batches++;
    });
    const prefix = randomUUID();
    await log.append(TOPICS.dlq, [{ key: prefix, value: Buffer.from('one') }]);
    let read = 0;
    const onFull = log.subscribe({ topic: TOPICS.dlq, groupId: null, start: 'earliest' }, async (batch) => {
      read += batch.length;
    });
    try {
      expect(onEmpty.caughtUp()).toBe(false); // holds no partition yet
      expect(onFull.caughtUp()).toBe(false);
      // A topic created a moment ago: the reader may first find no metadata for it (a refresh every
      // 10 s), then joins its throw-away group; on a loaded machine that takes tens of seconds.
      await waitFor(() => onEmpty.caughtUp(), 40_000, () => `the empty topic was not read to its end (lag ${onEmpty.lag()})`);
      expect(batches).toBe(0); // without a single record
      expect(onEmpty.lag()).toBe(0);
      await waitFor(() => onFull.caughtUp(), 40_000, () => `the DLQ was not read to its end (read ${read}, lag ${onFull.lag()})`);
      expect(read).toBeGreaterThan(0); // the DLQ holds the record above, and others: it caught up by reading
    } finally {
      await Promise.all([onEmpty.stop(), onFull.stop()]);
      await admin.deleteTopics({ topics: [empty] });
      await admin.disconnect();
    }
  }, 100_000);

  test('a batch whose handler fails is delivered again', async () => {
    const prefix = randomUUID();
    await log.append(TOPICS.dlq, [{ key: prefix, value: Buffer.from('retry-me') }]);
    let attempts = 0;
    const delivered: string[] = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const sub = log.subscribe({ topic: TOPICS.dlq, groupId: `test-${randomUUID()}`, start: 'earliest' }, async (batch) => {
      const mine = batch.filter((r) => r.key === prefix);
      if (mine.length === 0) return;
      attempts++;
      if (attempts === 1) throw new Error('transient');
      delivered.push(...mine.map((r) => r.value.toString()));
      resolve();
    });
    await done;
    await sub.stop();
    expect(attempts).toBe(2);
    expect(delivered).toEqual(['retry-me']);
  }, 60_000);

  test('a poison record goes to the DLQ with the reason; the consumer goes on', async () => {
    const prefix = randomUUID();
    await log.append(TOPICS.inferenceLive, [
      { key: `${prefix}-bad`, value: Buffer.from('poison') },
      { key: `${prefix}-good`, value: Buffer.from('fine') },
    ]);
    const handled: string[] = [];
    let poisonSeen = false;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const sub = runConsumer<string>({
      log,
      role: 'console',
      topic: TOPICS.inferenceLive,
      groupId: `test-${randomUUID()}`,
      start: 'earliest',
      registry: new Registry(),
      logger,
      decode: async (r) => r.value.toString(),
      eventTime: () => Date.now(),
      handle: async (batch) => {
        for (const d of batch) {
          if (!d.record.key?.startsWith(prefix)) continue;
          if (d.value === 'poison') {
            poisonSeen = true;
            if (handled.length > 0) resolve(); // stop() waits for this batch, DLQ write included
            throw new PoisonRecordError('invalid_event', 'cannot use this record');
          }
          handled.push(d.value);
          // The two records may sit in different partitions: wait for both.
          if (poisonSeen) resolve();
        }
      },
    });
    await done;
    await sub.stop();
    // When both records come in one batch with 'fine' first, the failed batch is handled again one
    // record at a time (handlers are idempotent), so 'fine' may be seen twice; 'poison' never is.
    expect([...new Set(handled)]).toEqual(['fine']);
    const dlq = collect(`test-${randomUUID()}`, `${prefix}-bad`, 1);
    await dlq.done;
    await dlq.sub.stop();
    expect(dlq.seen[0]!.value.toString()).toBe('poison');
    expect(dlq.seen[0]!.headers).toMatchObject({ 'x-dlq-reason': 'invalid_event', 'x-dlq-source-topic': TOPICS.inferenceLive, 'x-dlq-role': 'console' });
  }, 60_000);
});
