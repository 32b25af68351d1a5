import { Field, makeData, RecordBatch, Schema, Struct, Table } from 'apache-arrow';
import type { InferenceEvent } from '../../shared/event/inference-event';
import { BoolBuilder, NumberBuilder, StringMapBuilder, Utf8Builder, type ColumnBuilder, types } from './arrow-columns';

/**
 * How an inference event becomes one Parquet row: flat typed columns (usage
 * fields lifted to the top level), tags as a map, bodies as strings, plus the
 * log position the row came from. Pure: no I/O.
 *
 * PARQUET_LAYOUT_VERSION changes whenever a column is added, renamed or
 * retyped; readers find it in the file metadata (`llm_logger.layout_version`).
 */
export const PARQUET_LAYOUT_VERSION = 1;

/** A row as it goes in: the event and where it was read from. */
export interface ArchivedEvent {
  event: InferenceEvent;
  partition: number;
  offset: number;
}

type Kind = 'utf8' | 'int32' | 'int64' | 'float64' | 'timestamp' | 'bool' | 'tags';

interface ColumnSpec {
  name: string;
  kind: Kind;
  nullable: boolean;
  get(row: ArchivedEvent): unknown;
}

const e = (name: keyof InferenceEvent, kind: Kind, nullable = false): ColumnSpec => ({
  name,
  kind,
  nullable,
  get: (r) => r.event[name],
});
const u = (name: keyof InferenceEvent['usage']): ColumnSpec => ({
  name: name === 'source' ? 'usage_source' : name,
  kind: name === 'source' ? 'utf8' : 'int64',
  nullable: name !== 'source',
  get: (r) => r.event.usage[name],
});

/** Column order in every file. */
export const COLUMNS: readonly ColumnSpec[] = [
  e('event_id', 'utf8'),
  e('schema_version', 'int32'),
  e('started_at', 'timestamp'),
  e('first_token_at', 'timestamp', true),
  e('ended_at', 'timestamp'),
  e('latency_ms', 'float64'),
  e('ttft_ms', 'float64', true),
  e('gateway_instance', 'utf8'),
  e('upstream', 'utf8'),
  e('provider', 'utf8'),
  e('wire_format', 'utf8'),
  e('endpoint', 'utf8'),
  e('method', 'utf8'),
  e('path', 'utf8'),
  e('request_model', 'utf8', true),
  e('response_model', 'utf8', true),
  e('streamed', 'bool'),
  e('http_status', 'int32', true),
  e('error_class', 'utf8', true),
  e('error_type', 'utf8', true),
  e('error_message', 'utf8', true),
  e('finish_reason', 'utf8', true),
  u('input_tokens'),
  u('output_tokens'),
  u('cached_input_tokens'),
  u('cache_write_tokens'),
  u('reasoning_tokens'),
  u('source'),
  e('cost_micro_usd', 'int64', true),
  e('price_version', 'utf8', true),
  e('chunk_count', 'int32'),
  e('request_bytes', 'int64'),
  e('response_bytes', 'int64'),
  e('user', 'utf8', true),
  e('app', 'utf8', true),
  e('session', 'utf8', true),
  e('trace_id', 'utf8', true),
  e('tags', 'tags'),
  e('client_cancelled', 'bool'),
  e('body_captured', 'bool'),
  e('body_truncated', 'bool'),
  e('request_body', 'utf8', true),
  e('response_body', 'utf8', true),
  e('response_text', 'utf8', true),
  e('tool_calls', 'utf8', true),
  { name: 'log_partition', kind: 'int32', nullable: false, get: (r) => r.partition },
  { name: 'log_offset', kind: 'int64', nullable: false, get: (r) => r.offset },
];

function builderFor(c: ColumnSpec): ColumnBuilder<unknown> {
  switch (c.kind) {
    case 'utf8':
      return new Utf8Builder(c.nullable) as ColumnBuilder<unknown>;
    case 'int32':
      return new NumberBuilder(types.int32(), c.nullable) as ColumnBuilder<unknown>;
    case 'int64':
      return new NumberBuilder(types.int64(), c.nullable) as ColumnBuilder<unknown>;
    case 'float64':
      return new NumberBuilder(types.float64(), c.nullable) as ColumnBuilder<unknown>;
    case 'timestamp':
      return new NumberBuilder(types.timestampMs(), c.nullable) as ColumnBuilder<unknown>;
    case 'bool':
      return new BoolBuilder() as ColumnBuilder<unknown>;
    case 'tags':
      return new StringMapBuilder() as ColumnBuilder<unknown>;
  }
}

/** Accumulates rows column by column; `toTable()` hands them over as one Arrow table. */
export class RowBatch {
  private readonly builders = COLUMNS.map(builderFor);
  rows = 0;

  add(row: ArchivedEvent): void {
    for (let i = 0; i < COLUMNS.length; i++) this.builders[i]!.push(COLUMNS[i]!.get(row));
    this.rows++;
  }

  toTable(): Table {
    const fields = COLUMNS.map((c, i) => new Field(c.name, this.builders[i]!.type, c.nullable));
    const schema = new Schema(fields);
    const children = this.builders.map((b) => b.finish());
    const data = makeData({ type: new Struct(fields), length: this.rows, nullCount: 0, children });
    return new Table([new RecordBatch(schema, data)]);
  }
}
