import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { AGGREGATE_SCHEMA_FILE, AGGREGATE_SUBJECT, DIMENSIONS, type AggregateRecord } from '../../services/aggregator/core/aggregate-record';
import { WindowAggregate } from '../../services/aggregator/core/window-aggregate';
import { aggregateSerde } from '../../services/aggregator/run-aggregator';
import { AggregatesView } from '../../services/console/aggregates-view';
import { readSchemaText } from '../../services/shared/event/inference-event';
import { AvroSerde } from '../../services/shared/event/serde';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { ConfluentRegistryClient } from '../../services/shared/log/kafka/registry-client';
import { describeWithInfra } from '../support/infra';
import { sampleEvent } from '../support/sample-event';

/**
 * The `served_model` dimension (issue 19) is a new value of the aggregate
 * record's `dimension` string, not a schema change: records written before it
 * (on llm.aggregates.v1 and in the aggregator's changelog) stay readable, and
 * a console not yet upgraded reads the new partials (and ignores the new
 * dimension, which it never queries). The schema text only gained docs; the
 * text as it was registered before is kept in fixtures/ to check both ways.
 */

const BEFORE = readFileSync(join(__dirname, 'fixtures', 'aggregate.v1.before-served-model.avsc'), 'utf8');
const CURRENT = readSchemaText(AGGREGATE_SCHEMA_FILE);
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0);

function partial(dimension: AggregateRecord['dimension'], group: string, sourcePartition = 0): AggregateRecord {
  const a = new WindowAggregate(T0, MIN, dimension, group, sourcePartition);
  for (let i = 0; i < 5; i++) a.add(sampleEvent({ ended_at: T0 + 1_000 + i, latency_ms: 100 + i * 10 }));
  return a.toRecord(true, T0 + 2 * MIN);
}

describe('aggregate.v1 and the served_model dimension', () => {
  const before = avro.Type.forSchema(JSON.parse(BEFORE) as avro.Schema);
  const current = avro.Type.forSchema(JSON.parse(CURRENT) as avro.Schema);

  it('dimension is a string in both texts, and the fields are otherwise the same', () => {
    const fields = (text: string) => (JSON.parse(text) as { fields: { name: string; type: unknown }[] }).fields.map((f) => [f.name, f.type]);
    expect(fields(CURRENT)).toEqual(fields(BEFORE));
    expect(fields(CURRENT).find(([name]) => name === 'dimension')).toEqual(['dimension', 'string']);
  });

  it.each(DIMENSIONS.map((d) => [d]))('a %s partial written by either text is read by the other', (dimension) => {
    const r = partial(dimension, dimension === 'overall' ? '' : 'gpt-4o');
    expect(current.fromBuffer(before.toBuffer(r), current.createResolver(before))).toEqual(r);
    expect(before.fromBuffer(current.toBuffer(r), before.createResolver(current))).toEqual(r);
  });

  describe('through the embedded registry, as a deployment upgrades', () => {
    let dir: string;
    let log: SqliteEventLog;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'llm-logger-agg-schema-'));
      log = new SqliteEventLog({ path: join(dir, 'events.db'), sync: 'normal' });
    });
    afterEach(async () => {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('old partials decode with the new serde, new served_model partials with the old one, and a view merges both', async () => {
      const old = new AvroSerde<AggregateRecord>(log.schemaRegistry, AGGREGATE_SUBJECT, BEFORE);
      await old.init();
      const oldModel = partial('model', 'gpt-4o', 0);
      const oldBytes = old.encode(oldModel);

      const upgraded = await aggregateSerde(log);
      const served = partial('served_model', 'gpt-4o-2024-08-06', 1);
      const newModel = partial('model', 'gpt-4o', 1);
      const decodedOld = await upgraded.decode(oldBytes);
      expect(decodedOld).toEqual(oldModel);
      expect(await old.decode(upgraded.encode(served))).toEqual(served);

      const view = new AggregatesView();
      view.put([decodedOld, await upgraded.decode(upgraded.encode(newModel)), served], T0 + 2 * MIN);
      const q = { window: '1m', from: T0, to: T0 + MIN, rollup: true } as const;
      expect(view.query({ ...q, groupBy: 'model' }).map((r) => [r.group, r.calls])).toEqual([['gpt-4o', 10]]);
      expect(view.query({ ...q, groupBy: 'served_model' }).map((r) => [r.group, r.calls])).toEqual([['gpt-4o-2024-08-06', 5]]);
    });
  });
});

describeWithInfra('aggregate.v1 on the schema registry', (settings) => {
  let client: ConfluentRegistryClient;
  const subject = `test-${randomUUID()}-value`;
  beforeAll(() => {
    client = new ConfluentRegistryClient({ url: settings().registryUrl });
  });
  afterAll(async () => {
    await client?.deleteSubject(subject).catch(() => undefined);
  });

  test('the current text is BACKWARD compatible with the text registered before it', async () => {
    await client.setCompatibility(subject, 'BACKWARD');
    await client.register(subject, BEFORE);
    expect(await client.isCompatible(subject, CURRENT)).toBe(true);
    // Registered as it is (Apicurio may answer with the same id: only docs changed).
    expect(await client.register(subject, CURRENT)).toBeGreaterThan(0);
  });
});
