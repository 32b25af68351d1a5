import Database from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';
import { sampleEvent } from '../../test/support/sample-event';
import { INFERENCE_EVENT_SCHEMA_FILE, readSchemaText, type InferenceEvent } from '../shared/event/inference-event';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import type { EventLog, ProducerRecord } from '../shared/log/event-log';
import { SqliteSchemaRegistry } from '../shared/log/embedded/sqlite-schema-registry';
import { EventRecorder } from '../shared/log/event-recorder';
import { createLogger } from '../shared/observability/logger';
import { RedactingRecorder } from './redaction-thread';

/** The redaction thread of policy `all`, with a real worker thread and a log that keeps what it is given. */

async function setup(maxRecordBytes: number | null = null) {
  const serde = await inferenceEventSerde(new SqliteSchemaRegistry(new Database(':memory:')));
  const stored: Buffer[] = [];
  const records: ProducerRecord[] = [];
  const log = {
    append: async (_t: string, rs: ProducerRecord[]) => {
      stored.push(...rs.map((r) => Buffer.from(r.value)));
      records.push(...rs.map((r) => ({ ...r, value: Buffer.alloc(0) })));
    },
  } as unknown as EventLog;
  const writer = new EventRecorder(log, serde, { maxQueue: 1_000, maxBatch: 50, lingerMs: 1 });
  let dropped = 0;
  const recorder = new RedactingRecorder(writer, {
    init: { settings: { file: undefined, envMode: 'mask' }, schemaId: await serde.init(), schemaText: readSchemaText(INFERENCE_EVENT_SCHEMA_FILE), maxRecordBytes },
    maxPending: 1_000,
    onDrop: (n) => (dropped += n),
    logger: createLogger('silent', 'test'),
  });
  const decoded = async (): Promise<InferenceEvent[]> => Promise.all(stored.map((v) => serde.decode(v)));
  return { recorder, decoded, records, dropped: () => dropped };
}

const event = (i: number, text: string): InferenceEvent =>
  sampleEvent({ event_id: `e-${i}`, streamed: false, request_body: JSON.stringify({ content: text }), response_text: text, user: `u${i}@example.com` });

test('events are redacted on the thread and written in order, strict callers told when they are durable', async () => {
  const { recorder, decoded } = await setup();
  for (let i = 0; i < 20; i++) expect(recorder.record(event(i, `mail me at person${i}@example.com`))).toBe(true);
  await recorder.recordDurable(event(20, 'card 4111 1111 1111 1111'));
  await recorder.shutdown(2_000);
  const out = await decoded();
  expect(out.map((e) => e.event_id)).toEqual(Array.from({ length: 21 }, (_, i) => `e-${i}`));
  expect(out[3]).toMatchObject({ user: '[REDACTED:email]', response_text: 'mail me at [REDACTED:email]', request_body: '{"content":"mail me at [REDACTED:email]"}' });
  expect(out[20]!.response_text).toBe('card [REDACTED:card]');
  expect(JSON.stringify(out)).not.toMatch(/@example\.com|4111/);
});

test('when the thread dies, the events it had are written without any text, never raw, and the next go through a new one', async () => {
  const { recorder, decoded } = await setup();
  recorder.record(event(0, 'warm up bob@example.com'));
  await new Promise((r) => setTimeout(r, 200)); // the thread has started
  const worker = (recorder as unknown as { worker: Worker }).worker;
  recorder.record(event(1, 'in hand alice@example.com'));
  await worker.terminate(); // before it answers: as if it crashed with the event in hand
  recorder.record(event(2, 'after carol@example.com'));
  await recorder.shutdown(2_000);
  const out = await decoded();
  expect(JSON.stringify(out)).not.toMatch(/@example\.com/);
  const inHand = out.find((e) => e.event_id === 'e-1');
  // Either the thread answered before it was stopped (redacted) or not (stripped): never raw.
  expect(inHand?.response_text === null || inHand?.response_text === 'in hand [REDACTED:email]').toBe(true);
  expect(out.find((e) => e.event_id === 'e-2')).toMatchObject({ response_text: 'after [REDACTED:email]' });
});

test('an event over the record limit is written without its bodies, flagged truncated', async () => {
  const { recorder, decoded } = await setup(4_096);
  await recorder.recordDurable({ ...event(0, 'short answer'), request_body: 'x'.repeat(10_000) });
  await recorder.shutdown(2_000);
  const [out] = await decoded();
  expect(out).toMatchObject({ request_body: null, response_body: null, body_truncated: true, response_text: 'short answer', truncated_fields: 'request_body,response_body' });
});

test('an ingested event keeps its ingest mark and its placement by id through the thread, also when the thread dies', async () => {
  const { recorder, decoded, records } = await setup();
  await recorder.recordIngested(event(0, 'posted by dave@example.com'), 1_700_000_000_123);
  await recorder.recordDurable(event(1, 'own'));
  const worker = (recorder as unknown as { worker: Worker }).worker;
  const inHand = recorder.recordIngested(event(2, 'posted by erin@example.com'), 1_700_000_000_456);
  await worker.terminate();
  await inHand;
  await recorder.shutdown(2_000);
  expect(records.map(({ key, headers, partitionByKey }) => ({ key, headers, partitionByKey }))).toEqual([
    { key: 'e-0', headers: { 'x-llm-ingested-at': '1700000000123' }, partitionByKey: true },
    { key: 'e-1', headers: undefined, partitionByKey: undefined },
    { key: 'e-2', headers: { 'x-llm-ingested-at': '1700000000456' }, partitionByKey: true },
  ]);
  const out = await decoded();
  expect(out[0]!.response_text).toBe('posted by [REDACTED:email]');
  expect(JSON.stringify(out)).not.toMatch(/@example\.com/);
});

test('a full queue refuses a strict or ingested event with a retriable error and drops a best-effort one, counted', async () => {
  const serde = await inferenceEventSerde(new SqliteSchemaRegistry(new Database(':memory:')));
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const log = { append: () => gate } as unknown as EventLog; // not durable until the gate opens
  const writer = new EventRecorder(log, serde, { maxQueue: 1_000, maxBatch: 50, lingerMs: 1 });
  let dropped = 0;
  const recorder = new RedactingRecorder(writer, {
    init: { settings: { file: undefined, envMode: 'mask' }, schemaId: await serde.init(), schemaText: readSchemaText(INFERENCE_EVENT_SCHEMA_FILE), maxRecordBytes: null },
    maxPending: 2,
    onDrop: (n) => (dropped += n),
    logger: createLogger('silent', 'test'),
  });
  recorder.record(event(0, 'a'));
  recorder.record(event(1, 'b'));
  expect(recorder.canRecord()).toBe(false);
  expect(recorder.record(event(2, 'c'))).toBe(false);
  expect(dropped).toBe(1);
  await expect(recorder.recordIngested(event(3, 'd'), Date.now())).rejects.toMatchObject({ code: 'LOG_QUEUE_FULL', retriable: true });
  await expect(recorder.recordDurable(event(4, 'e'))).rejects.toMatchObject({ code: 'LOG_QUEUE_FULL', retriable: true });
  open();
  await recorder.shutdown(2_000);
});
