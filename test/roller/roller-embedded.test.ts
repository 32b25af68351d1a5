import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import { loadConfig } from '../../services/shared/config/config';
import { INFERENCE_EVENT_SCHEMA_FILE, INFERENCE_EVENT_SUBJECT, readSchemaText } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { frame } from '../../services/shared/event/wire-format';
import type { EventLog } from '../../services/shared/log/event-log';
import { openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { LocalDirStore } from '../../services/roller/object-store/local-dir-store';
import { consumeIntoArchive } from '../../services/roller/run-roller';
import { archiveEvent } from '../support/archive-events';
import { readArchiveWithDuckDb } from '../support/archive-reader';
import { readRecords } from '../support/read-log';
import { waitFor } from '../support/roller-process';

/**
 * The roller on the embedded log: records from an older writer schema are
 * archived like current ones (written again in the current schema on their
 * way to the column threads), and a record that is not Avro goes to the DLQ
 * without stopping the others.
 */

/** Fields the current schema added with defaults: an older writer did not have them. */
const ADDED = ['tool_calls', 'client_cancelled', 'body_truncated', 'trace_id'];

test('old-schema and current records are archived alike; a poison record goes to the DLQ', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-logger-roller-embedded-'));
  let log: EventLog | null = null;
  try {
    log = openEventLog(loadConfig({ LLM_LOGGER_DATA_DIR: dir }), createLogger('silent', 'test'));
    const serde = await inferenceEventSerde(log.schemaRegistry);
    await serde.init();
    const current = JSON.parse(readSchemaText(INFERENCE_EVENT_SCHEMA_FILE)) as { fields: { name: string }[] };
    const older = { ...current, fields: current.fields.filter((f) => !ADDED.includes(f.name)) };
    const olderId = await log.schemaRegistry.register(INFERENCE_EVENT_SUBJECT, JSON.stringify(older));
    const olderType = avro.Type.forSchema(older as avro.Schema);
    // And the real predecessor, schemas/inference-event.v1.avsc, without v2's usage breakdown, service_tier and cost_note.
    const v1Text = readSchemaText('inference-event.v1.avsc');
    const v1Id = await log.schemaRegistry.register(INFERENCE_EVENT_SUBJECT, JSON.stringify(JSON.parse(v1Text)));
    const v1Type = avro.Type.forSchema(JSON.parse(v1Text) as avro.Schema);

    const events = Array.from({ length: 40 }, (_, i) => archiveEvent(i, 40, 1));
    const values = events.map((e, i) =>
      i % 4 === 1 ? frame(olderId, olderType.toBuffer(e)) : i % 4 === 3 ? frame(v1Id, v1Type.toBuffer(e)) : serde.encode(e),
    );
    values.splice(20, 0, Buffer.from([0, 0, 0, 0, 1, 0xff])); // not an inference event
    await log.append(
      TOPICS.inference,
      values.map((value, i) => ({ key: `k${i % 3}`, value })),
    );

    const root = join(dir, 'parquet');
    const registry = new Registry();
    const consumer = await consumeIntoArchive({
      log,
      store: new LocalDirStore(root),
      limits: { maxRecords: 7, maxBytes: 1 << 30, idleFlushMs: 60_000 },
      groupId: 'roller-embedded-test',
      registry,
      logger: createLogger('silent', 'roller'),
      dedupe: loadConfig({}).dedupe,
    });
    const read = async (): Promise<number> => (await registry.getSingleMetric('llm_logger_consumer_records_total')?.get())?.values[0]?.value ?? 0;
    await waitFor(async () => (await read()) >= values.length, 30_000, () => 'the roller did not read every record');
    await consumer.close();

    const rows = await readArchiveWithDuckDb(root);
    expect(rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
    const byId = new Map(events.map((e) => [e.event_id, e]));
    // The defaults the older writer lacked: what the current reader schema gives.
    const fromOlder = events.filter((_e, i) => i % 4 === 1).map((e) => e.event_id);
    const fromV1 = events.filter((_e, i) => i % 4 === 3).map((e) => e.event_id);
    const v2UsageDefaults = {
      cache_write_1h_tokens: null,
      input_audio_tokens: null,
      input_image_tokens: null,
      output_audio_tokens: null,
      output_image_tokens: null,
      note: null,
    };
    for (const { dt: _dt, hour: _hour, file: _file, ...row } of rows) {
      const sent = byId.get(row.event_id)!;
      if (fromOlder.includes(row.event_id)) expect(row).toEqual({ ...sent, tool_calls: null, client_cancelled: false, body_truncated: false, trace_id: null });
      else if (fromV1.includes(row.event_id)) expect(row).toEqual({ ...sent, usage: { ...sent.usage, ...v2UsageDefaults }, service_tier: null, cost_note: null });
      else expect(row).toEqual(sent);
    }
    const dlq = readRecords(dir, TOPICS.dlq);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers).toMatchObject({ 'x-dlq-reason': 'decode_failed', 'x-dlq-role': 'roller' });
  } finally {
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
