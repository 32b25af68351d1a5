import Database from 'better-sqlite3';
import { sampleEvent } from '../../../test/support/sample-event';
import type { InferenceEvent } from '../event/inference-event';
import { inferenceEventSerde } from '../event/inference-serde';
import type { EventLog, ProducerRecord } from './event-log';
import { SqliteSchemaRegistry } from './embedded/sqlite-schema-registry';
import { EventRecorder } from './event-recorder';

/** A log that holds each append until `open()`, then keeps a copy of what it was given (as the real adapters copy). */
function heldLog() {
  const stored: Buffer[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const log = {
    append: async (_topic: string, records: ProducerRecord[]) => {
      await gate;
      for (const r of records) stored.push(Buffer.from(r.value));
    },
  } as unknown as EventLog;
  return {
    log,
    stored,
    hold: () => (gate = new Promise((r) => (open = r))),
    open: () => open(),
  };
}

describe('EventRecorder', () => {
  it('keeps every encoded event intact until its batch is written, though the memory is reused after', async () => {
    const serde = await inferenceEventSerde(new SqliteSchemaRegistry(new Database(':memory:')));
    const held = heldLog();
    const recorder = new EventRecorder(held.log, serde, { maxQueue: 10_000, maxBatch: 50, lingerMs: 1 });
    const events: InferenceEvent[] = [];
    const body = 'x'.repeat(3_000);
    for (let round = 0; round < 4; round++) {
      held.hold();
      // More than one slab's worth waits while the write is held.
      for (let i = 0; i < 200; i++) {
        const event = sampleEvent({ event_id: `e-${round}-${i}`, request_body: `${body}${i}`, response_body: `${i}${body}` });
        events.push(event);
        expect(recorder.record(event)).toBe(true);
      }
      await new Promise((r) => setTimeout(r, 5));
      held.open();
      while (recorder.handoff.depth > 0) await new Promise((r) => setTimeout(r, 2));
    }
    await recorder.shutdown(1_000);
    const decoded = await Promise.all(held.stored.map((v) => serde.decode(v)));
    expect(decoded.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(decoded.map((e) => e.request_body)).toEqual(events.map((e) => e.request_body));
  });

  it('records an event over the record limit without its bodies, flagged truncated, and the events after it whole', async () => {
    const serde = await inferenceEventSerde(new SqliteSchemaRegistry(new Database(':memory:')));
    const held = heldLog();
    const shrunk: (string | null)[] = [];
    const recorder = new EventRecorder(held.log, serde, { maxQueue: 100, maxBatch: 10, lingerMs: 1 }, undefined, undefined, {
      maxRecordBytes: 4_096,
      onShrunk: (fitted) => shrunk.push(fitted),
    });
    const big = sampleEvent({ event_id: 'big', request_body: 'x'.repeat(10_000) });
    const after = sampleEvent({ event_id: 'after' });
    await Promise.all([recorder.recordDurable(big), recorder.recordDurable(after)]);
    await recorder.shutdown(1_000);
    const decoded = await Promise.all(held.stored.map((v) => serde.decode(v)));
    expect(decoded).toEqual([{ ...big, request_body: null, response_body: null, body_truncated: true, truncated_fields: 'request_body,response_body' }, after]);
    expect(shrunk).toEqual(['without_bodies']);
  });

  it('shrinks an ingested event over the record limit the same way, keeping its ingest mark and placement', async () => {
    const serde = await inferenceEventSerde(new SqliteSchemaRegistry(new Database(':memory:')));
    const appended: ProducerRecord[] = [];
    const log = { append: async (_topic: string, records: ProducerRecord[]) => void appended.push(...records.map((r) => ({ ...r, value: Buffer.from(r.value) }))) } as unknown as EventLog;
    const recorder = new EventRecorder(log, serde, { maxQueue: 100, maxBatch: 10, lingerMs: 1 }, undefined, undefined, { maxRecordBytes: 4_096 });
    await recorder.recordIngested(sampleEvent({ event_id: 'posted', response_body: 'y'.repeat(10_000) }), 1_700_000_000_123);
    await recorder.shutdown(1_000);
    expect(appended).toHaveLength(1);
    expect(appended[0]).toMatchObject({ key: 'posted', headers: { 'x-llm-ingested-at': '1700000000123' }, partitionByKey: true });
    expect(await serde.decode(appended[0]!.value)).toMatchObject({ response_body: null, body_truncated: true, truncated_fields: 'request_body,response_body' });
  });

  it('marks an ingested event with the time it was accepted and places it by its id; the gateway\'s own stay as they were', async () => {
    const serde = await inferenceEventSerde(new SqliteSchemaRegistry(new Database(':memory:')));
    const appended: ProducerRecord[] = [];
    const log = { append: async (_topic: string, records: ProducerRecord[]) => void appended.push(...records.map((r) => ({ ...r }))) } as unknown as EventLog;
    const recorder = new EventRecorder(log, serde, { maxQueue: 100, maxBatch: 10, lingerMs: 1 });
    await recorder.recordIngested(sampleEvent({ event_id: 'posted' }), 1_700_000_000_123);
    await recorder.recordDurable(sampleEvent({ event_id: 'own' }));
    await recorder.shutdown(1_000);
    expect(appended.map(({ key, headers, partitionByKey }) => ({ key, headers, partitionByKey }))).toEqual([
      { key: 'posted', headers: { 'x-llm-ingested-at': '1700000000123' }, partitionByKey: true },
      { key: 'own', headers: undefined, partitionByKey: undefined },
    ]);
  });
});
