import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { TOPICS } from '../../../topology/topics';
import { inferenceEventSerde } from '../event/inference-serde';
import type { InferenceEvent } from '../event/inference-event';
import type { AvroSerde } from '../event/serde';
import { createLogger } from '../observability/logger';
import { LlmLoggerError } from '../errors';
import { classifyFailure, PoisonRecordError, runConsumer, type ConsumerOptions, type Decoded } from './consumer-runner';
import type { ConsumedRecord, ProducerRecord } from './event-log';
import { SqliteEventLog } from './embedded/sqlite-log';
import { sampleEvent } from '../../../test/support/sample-event';

let dir: string;
let log: SqliteEventLog;
let serde: AvroSerde<InferenceEvent>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-consumer-'));
  log = new SqliteEventLog({ path: join(dir, 'events.db'), sync: 'normal', pollIntervalMs: 10 });
  serde = await inferenceEventSerde(log.schemaRegistry);
});

afterEach(async () => {
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every record key routes to one partition, so the source offsets are predictable. */
const KEY = 'one-partition';

function event(n: number): InferenceEvent {
  return sampleEvent({
    event_id: `01890a5d-ac96-774b-bcce-${String(n).padStart(12, '0')}`,
    started_at: 1_700_000_000_000 + n,
    ended_at: 1_700_000_000_100 + n,
    usage: { input_tokens: n, output_tokens: 1, cached_input_tokens: null, cache_write_tokens: null, reasoning_tokens: null, source: 'provider' },
  });
}

function good(n: number): ProducerRecord {
  return { key: KEY, value: serde.encode(event(n)) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Reads the DLQ back from the log. */
async function readDlq(expected: number): Promise<ConsumedRecord[]> {
  const got: ConsumedRecord[] = [];
  const sub = log.subscribe({ topic: TOPICS.dlq, groupId: null, start: 'earliest' }, async (batch) => {
    got.push(...batch);
  });
  await until(() => got.length >= expected);
  await sleep(30); // time for an unexpected extra DLQ record to show up
  await sub.stop();
  return got;
}

/** Quick tries, so a test of the retry budget takes milliseconds. */
const FAST_RETRY = { maxAttempts: 3, backoffMs: 5, maxBackoffMs: 20 };

function consume(handle: (batch: Decoded<InferenceEvent>[]) => Promise<void>, extra: Partial<ConsumerOptions<InferenceEvent>> = {}) {
  return runConsumer<InferenceEvent>({
    log,
    role: 'indexer',
    topic: TOPICS.inference,
    groupId: 'indexer-test',
    start: 'earliest',
    registry: new Registry(),
    logger: createLogger('silent', 'test'),
    decode: (record) => serde.decode(record.value),
    eventTime: (e) => e.ended_at,
    handle,
    retry: FAST_RETRY,
    ...extra,
  });
}

describe('runConsumer', () => {
  it('sends a record that fails to decode to the DLQ and still handles the good ones', async () => {
    const garbage = Buffer.from('not avro at all');
    await log.append(TOPICS.inference, [good(1), { key: KEY, value: garbage }, good(2), good(3)]);
    const handled: number[] = [];
    const sub = consume(async (batch) => {
      for (const d of batch) handled.push(d.value.usage.input_tokens ?? -1);
    });
    await until(() => handled.length >= 3);
    await sub.stop();

    expect(handled).toEqual([1, 2, 3]);
    const dlq = await readDlq(1);
    expect(dlq).toHaveLength(1);
    const [dead] = dlq;
    expect(dead?.value.equals(garbage)).toBe(true);
    expect(dead?.key).toBe(KEY);
    expect(dead?.headers).toMatchObject({
      'x-dlq-reason': 'decode_failed',
      'x-dlq-source-topic': TOPICS.inference,
      'x-dlq-source-offset': '1',
      'x-dlq-consumer-group': 'indexer-test',
      'x-dlq-role': 'indexer',
    });
    expect(dead?.headers['x-dlq-error']).toContain('magic byte');
    // Everything was committed: nothing is left for the group.
    expect(sub.lag()).toBe(0);
  });

  it('sends a record whose schema id is unknown to the DLQ as decode_failed', async () => {
    const unknownSchema = Buffer.from(good(1).value);
    unknownSchema.writeUInt32BE(999_999, 1);
    await log.append(TOPICS.inference, [{ key: KEY, value: unknownSchema }, good(2)]);
    const handled: number[] = [];
    const sub = consume(async (batch) => {
      for (const d of batch) handled.push(d.value.usage.input_tokens ?? -1);
    });
    await until(() => handled.length >= 1);
    await sub.stop();
    expect(handled).toEqual([2]);
    const dlq = await readDlq(1);
    expect(dlq.map((r) => r.headers['x-dlq-reason'])).toEqual(['decode_failed']);
    expect(dlq[0]?.headers['x-dlq-source-offset']).toBe('0');
  });

  it('sends only the record a handler refuses as poison to the DLQ', async () => {
    await log.append(TOPICS.inference, [good(1), good(2), good(3)]);
    const indexed: number[] = [];
    const sub = consume(async (batch) => {
      for (const d of batch) {
        if (d.value.usage.input_tokens === 2) throw new PoisonRecordError('rejected_by_backend', 'mapping conflict');
      }
      // All or nothing, like a bulk request that fails as a whole.
      indexed.push(...batch.map((d) => d.value.usage.input_tokens ?? -1));
    });
    await until(() => indexed.length >= 2);
    await sub.stop();

    expect(indexed).toEqual([1, 3]);
    const dlq = await readDlq(1);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.headers).toMatchObject({
      'x-dlq-reason': 'rejected_by_backend',
      'x-dlq-source-offset': '1',
      'x-dlq-error': 'mapping conflict',
    });
    expect((await serde.decode(dlq[0]!.value)).usage.input_tokens).toBe(2);
  });

  it('redelivers a batch whose handler fails with a retriable error, sending nothing to the DLQ', async () => {
    await log.append(TOPICS.inference, [good(1), good(2)]);
    let attempts = 0;
    const handled: number[] = [];
    const sub = consume(async (batch) => {
      attempts++;
      if (attempts === 1) throw new Error('index unavailable');
      handled.push(...batch.map((d) => d.value.usage.input_tokens ?? -1));
    });
    await until(() => handled.length >= 2);
    await sub.stop();
    expect(attempts).toBe(2);
    expect(handled).toEqual([1, 2]);
    expect([...log.endOffsets(TOPICS.dlq).values()].every((next) => next === 0)).toBe(true);
  });

  it('sends a record whose handler always throws a plain Error to the DLQ after the tries allowed, and handles the records after it', async () => {
    await log.append(TOPICS.inference, [good(1), good(2), good(3)]);
    const registry = new Registry();
    const tries = new Map<number, number>();
    const handled: number[] = [];
    const sub = consume(
      async (batch) => {
        for (const d of batch) {
          const n = d.value.usage.input_tokens!;
          if (n === 2) {
            tries.set(n, (tries.get(n) ?? 0) + 1);
            throw new RangeError('Invalid time value'); // a defect, as a bad date makes: not a class the runner knows
          }
        }
        handled.push(...batch.map((d) => d.value.usage.input_tokens!));
      },
      { registry },
    );
    await until(() => handled.length >= 2);
    await sub.stop();
    expect(handled).toEqual([1, 3]);
    // Three tries of the batch, then three of the record on its own: bounded, and then the DLQ.
    expect(tries.get(2)).toBe(FAST_RETRY.maxAttempts * 2);
    const dlq = await readDlq(1);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers).toMatchObject({
      'x-dlq-reason': 'handler_error',
      'x-dlq-error': 'Invalid time value',
      'x-dlq-attempts': String(FAST_RETRY.maxAttempts),
      'x-dlq-source-offset': '1',
    });
    expect(sub.lag()).toBe(0);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/llm_logger_consumer_dead_letters_total\{role="indexer",topic="llm.inference.v1",reason="handler_error"\} 1/);
    expect(metrics).toMatch(/llm_logger_consumer_retries_total\{role="indexer",topic="llm.inference.v1",class="unknown"\} 4/);
  });

  it('retries a transient failure without a bound, well past the tries allowed for unknown ones, and sends nothing to the DLQ', async () => {
    await log.append(TOPICS.inference, [good(1), good(2)]);
    let attempts = 0;
    const handled: number[] = [];
    const transient = [
      new LlmLoggerError('LOG_UNAVAILABLE', 'backend down', { retriable: true }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9200'), { code: 'ECONNREFUSED' }),
      new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }),
    ];
    // Two tries allowed for an unknown failure; five transient ones in a row (the log backs off 0.1 s, 0.2 s, … between them).
    const failures = 5;
    const sub = consume(
      async (batch) => {
        attempts++;
        if (attempts <= failures) throw transient[attempts % transient.length];
        handled.push(...batch.map((d) => d.value.usage.input_tokens!));
      },
      { retry: { ...FAST_RETRY, maxAttempts: 2 } },
    );
    await until(() => handled.length >= 2, 10_000);
    await sub.stop();
    expect(attempts).toBe(failures + 1);
    expect(handled).toEqual([1, 2]);
    expect([...log.endOffsets(TOPICS.dlq).values()].every((next) => next === 0)).toBe(true);
  });
});

describe('classifyFailure', () => {
  it('says what each kind of error means for the record', () => {
    expect(classifyFailure(new LlmLoggerError('INDEX_UNAVAILABLE', 'es 503', { retriable: true }))).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }))).toBe('transient');
    expect(classifyFailure(new PoisonRecordError('invalid_event', 'bad'))).toBe('poison');
    expect(classifyFailure(new LlmLoggerError('DECODE_FAILED', 'garbage'))).toBe('poison');
    expect(classifyFailure(new Error('something else'))).toBe('unknown');
    expect(classifyFailure(new RangeError('Invalid time value'))).toBe('unknown');
    expect(classifyFailure('a string')).toBe('unknown');
  });
});
