import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { sampleEvent } from '../../../test/support/sample-event';
import { COLUMNS, RowBatch } from './row-mapping';

test('every event field has a typed column; usage is flat, tags a map, bodies strings', () => {
  const batch = new RowBatch();
  batch.add({ event: sampleEvent(), partition: 4, offset: 99 });
  const nulls = sampleEvent({
    event_id: '01890a5d-ac96-774b-bcce-000000000002',
    first_token_at: null,
    ttft_ms: null,
    http_status: null,
    usage: { input_tokens: null, output_tokens: null, cached_input_tokens: null, cache_write_tokens: null, reasoning_tokens: null, source: 'none' },
    cost_micro_usd: null,
    tags: {},
    request_body: null,
    response_text: 'ünïcødé ✓ 😀',
  });
  batch.add({ event: nulls, partition: 4, offset: 100 });
  // Through Arrow IPC, as the Parquet encoder receives it.
  const table = tableFromIPC(tableToIPC(batch.toTable()));
  expect(table.numRows).toBe(2);
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  expect(types).toMatchObject({
    event_id: 'Utf8',
    started_at: 'Timestamp<MILLISECOND, UTC>',
    latency_ms: 'Float64',
    http_status: 'Int32',
    input_tokens: 'Int64',
    usage_source: 'Utf8',
    tags: 'Map<{key:Utf8, value:Utf8}>',
    streamed: 'Bool',
    request_body: 'Utf8',
    log_offset: 'Int64',
  });
  expect(table.schema.fields.map((f) => f.name)).toEqual(COLUMNS.map((c) => c.name));
  const first = table.get(0)!.toJSON();
  expect(first).toMatchObject({ event_id: sampleEvent().event_id, started_at: 1_700_000_000_000, input_tokens: 12n, user: 'alice', log_partition: 4, log_offset: 99n });
  expect(first.tags!.toJSON()).toEqual({ team: 'core' });
  const second = table.get(1)!.toJSON();
  expect(second).toMatchObject({ first_token_at: null, http_status: null, input_tokens: null, cost_micro_usd: null, request_body: null, response_text: 'ünïcødé ✓ 😀' });
  expect(second.tags!.toJSON()).toEqual({});
});

test('many rows: buffers grow and stay aligned', () => {
  const batch = new RowBatch();
  for (let i = 0; i < 5_000; i++) {
    batch.add({ event: sampleEvent({ event_id: `e-${i}`, http_status: i % 3 ? 200 : null, tags: i % 2 ? { k: `v${i}` } : {}, streamed: i % 2 === 0 }), partition: 0, offset: i });
  }
  const table = batch.toTable();
  expect(table.numRows).toBe(5_000);
  const row = table.get(4_999)!.toJSON();
  expect(row).toMatchObject({ event_id: 'e-4999', http_status: 200, streamed: false, log_offset: 4999n });
  expect(row.tags!.toJSON()).toEqual({ k: 'v4999' });
  expect(table.get(3_000)!.toJSON()).toMatchObject({ http_status: null, streamed: true });
});

test('a batch reset for the next file gives the same table as a new one (no values, nulls or flags left over)', () => {
  const first = (i: number): Parameters<RowBatch['add']>[0] => ({
    event: sampleEvent({ event_id: `a-${i}`, http_status: 200, streamed: true, tags: { k: `v${i}`, other: 'x' }, request_body: 'a long body '.repeat(50) }),
    partition: 1,
    offset: i,
  });
  const second = (i: number): Parameters<RowBatch['add']>[0] => ({
    event: sampleEvent({ event_id: `b-${i}`, http_status: i % 2 ? null : 404, streamed: false, tags: {}, request_body: i % 3 ? null : 'short' }),
    partition: 2,
    offset: 1_000 + i,
  });
  const reused = new RowBatch();
  for (let i = 0; i < 3_000; i++) reused.add(first(i));
  tableToIPC(reused.toTable()); // as the column thread does before reusing the buffers
  reused.reset();
  const fresh = new RowBatch();
  for (let i = 0; i < 100; i++) {
    reused.add(second(i));
    fresh.add(second(i));
  }
  expect(reused.rows).toBe(100);
  expect(tableToIPC(reused.toTable())).toEqual(tableToIPC(fresh.toTable()));
});
