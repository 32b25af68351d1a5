import { tableToIPC, tableFromIPC } from 'apache-arrow';
import { inferenceEventType } from '../../shared/event/inference-event';
import { archiveEvent } from '../../../test/support/archive-events';
import { sampleEvent } from '../../../test/support/sample-event';
import { readAvroRow } from './avro-row';
import { AVRO_COLUMNS } from './column-spec';
import { RowBatch } from './row-mapping';

interface AvroField {
  name: string;
  type: unknown;
}

test('the Avro fields, in schema order, are the first columns (usage lifted, same nullability)', () => {
  const fields = (inferenceEventType().schema() as { fields: AvroField[] }).fields.flatMap((f) =>
    f.name === 'usage' ? (f.type as { fields: AvroField[] }).fields.map((u) => ({ ...u, name: u.name === 'source' ? 'usage_source' : u.name })) : [f],
  );
  expect(AVRO_COLUMNS.map((c) => c.name)).toEqual(fields.map((f) => f.name));
  expect(AVRO_COLUMNS.map((c) => c.nullable)).toEqual(fields.map((f) => Array.isArray(f.type) && f.type[0] === 'null'));
});

test('rows read from Avro bytes equal rows built from the decoded events', () => {
  const type = inferenceEventType();
  const events = [sampleEvent(), ...Array.from({ length: 300 }, (_, i) => archiveEvent(i * 37, 20_000, 3))];
  const fromObjects = new RowBatch();
  const fromBytes = new RowBatch();
  events.forEach((event, i) => {
    fromObjects.add({ event, partition: 2, offset: i });
    fromBytes.addAvro(readAvroRow(type.toBuffer(event)), 2, i);
  });
  const a = tableFromIPC(tableToIPC(fromObjects.toTable()));
  const b = tableFromIPC(tableToIPC(fromBytes.toTable()));
  expect(b.numRows).toBe(events.length);
  for (let i = 0; i < events.length; i++) expect(JSON.stringify(b.get(i)!.toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toBe(JSON.stringify(a.get(i)!.toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  expect(readAvroRow(type.toBuffer(events[5]!)).endedAt).toBe(events[5]!.ended_at);
});

test('malformed bodies are refused with DECODE_FAILED (they go to the DLQ)', () => {
  const body = inferenceEventType().toBuffer(sampleEvent());
  expect(() => readAvroRow(body.subarray(0, body.length - 3))).toThrow(expect.objectContaining({ code: 'DECODE_FAILED' }));
  expect(() => readAvroRow(Buffer.concat([body, Buffer.from([0])]))).toThrow(/trailing bytes/);
  expect(() => readAvroRow(Buffer.from([0xff, 0xff, 0xff]))).toThrow(expect.objectContaining({ code: 'DECODE_FAILED' }));
});
