import { tableToIPC, tableFromIPC } from 'apache-arrow';
import { inferenceEventType } from '../../shared/event/inference-event';
import { archiveEvent } from '../../../test/support/archive-events';
import { sampleEvent } from '../../../test/support/sample-event';
import { readArchiveRow, readAvroCells, readAvroRow } from './avro-row';
import { AVRO_COLUMNS } from './column-spec';
import { RowBatch } from './row-mapping';

interface AvroField {
  name: string;
  type: unknown;
}

test('the Avro fields, in schema order, are the first columns (usage lifted, same nullability)', () => {
  const fields = (inferenceEventType().schema() as { fields: AvroField[] }).fields.flatMap((f) =>
    f.name === 'usage' ? (f.type as { fields: AvroField[] }).fields.map((u) => ({ ...u, name: u.name === 'source' || u.name === 'note' ? `usage_${u.name}` : u.name })) : [f],
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

test('a body inside a larger buffer (after the wire-format header, next to other records) reads the same', () => {
  const type = inferenceEventType();
  const events = [sampleEvent(), archiveEvent(7, 20_000, 3)];
  const bodies = events.map((e) => type.toBuffer(e));
  const header = Buffer.from([0, 0, 0, 0, 9]);
  const packed = Buffer.concat([header, bodies[0]!, bodies[1]!]);
  const cells = new Float64Array(AVRO_COLUMNS.length * 2);
  const fromPacked = new RowBatch();
  const fromRows = new RowBatch();
  let start = header.length;
  events.forEach((event, i) => {
    const end = start + bodies[i]!.length;
    expect(readAvroCells(packed, start, end, cells)).toBe(event.ended_at);
    fromPacked.addCells(packed, cells, 1, i);
    fromRows.addAvro(readAvroRow(bodies[i]!), 1, i);
    start = end;
  });
  expect(tableToIPC(fromPacked.toTable())).toEqual(tableToIPC(fromRows.toTable()));
  expect(readArchiveRow(Buffer.concat([header, bodies[1]!]), header.length)).toMatchObject({ start: 5, endedAt: events[1]!.ended_at });
  // A body cut short inside the larger buffer is refused, though the bytes after it would parse.
  expect(() => readAvroCells(packed, header.length, header.length + bodies[0]!.length - 1, cells)).toThrow(expect.objectContaining({ code: 'DECODE_FAILED' }));
});
