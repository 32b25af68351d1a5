import { Field, makeData, RecordBatch, Schema, Struct, Table } from 'apache-arrow';
import { BoolBuilder, NumberBuilder, StringMapBuilder, Utf8Builder, type ColumnBuilder, types } from './arrow-columns';
import type { AvroRow } from './avro-row';
import { AVRO_COLUMNS, COLUMNS, type ArchivedEvent, type ColumnSpec } from './column-spec';

export { PARQUET_LAYOUT_VERSION, COLUMNS, type ArchivedEvent } from './column-spec';

/** How rows become Arrow columns (see column-spec.ts for the columns). Pure: no I/O. */


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

interface Slot<B> {
  builder: B;
  get(row: ArchivedEvent): unknown;
}

/** Accumulates rows column by column; `toTable()` hands them over as one Arrow table. */
export class RowBatch {
  private readonly builders = COLUMNS.map(builderFor);
  // One list per builder class, so each push call site sees one class (this runs ~47 times per event).
  private readonly strings: Slot<Utf8Builder>[] = [];
  private readonly numbers: Slot<NumberBuilder>[] = [];
  private readonly flags: Slot<BoolBuilder>[] = [];
  private readonly maps: Slot<StringMapBuilder>[] = [];
  rows = 0;

  constructor() {
    COLUMNS.forEach((c, i) => {
      const builder = this.builders[i]!;
      if (builder instanceof Utf8Builder) this.strings.push({ builder, get: c.get });
      else if (builder instanceof NumberBuilder) this.numbers.push({ builder, get: c.get });
      else if (builder instanceof BoolBuilder) this.flags.push({ builder, get: c.get });
      else this.maps.push({ builder: builder as unknown as StringMapBuilder, get: c.get });
    });
  }

  /** A row read straight from Avro bytes (see avro-row.ts). */
  addAvro(row: AvroRow, partition: number, offset: number): void {
    this.addCells(row.body, row.cells, partition, offset);
  }

  /** The same from `readAvroCells` output: string cells are byte ranges of `body`. */
  addCells(body: Buffer, cells: Float64Array, partition: number, offset: number): void {
    for (let i = 0; i < AVRO_COLUMNS.length; i++) {
      const a = cells[2 * i]!;
      const b = cells[2 * i + 1]!;
      const builder = this.builders[i]!;
      if (builder instanceof Utf8Builder) {
        if (a < 0) builder.push(null);
        else builder.pushBytes(body, a, b);
      } else if (builder instanceof NumberBuilder) {
        builder.push(b < 0 ? null : a);
      } else if (builder instanceof BoolBuilder) {
        builder.push(a === 1);
      } else {
        (builder as unknown as StringMapBuilder).pushAvro(body, a);
      }
    }
    (this.builders[AVRO_COLUMNS.length] as unknown as NumberBuilder).push(partition);
    (this.builders[AVRO_COLUMNS.length + 1] as unknown as NumberBuilder).push(offset);
    this.rows++;
  }

  add(row: ArchivedEvent): void {
    for (const s of this.strings) s.builder.push(s.get(row) as string | null);
    for (const s of this.numbers) s.builder.push(s.get(row) as number | null);
    for (const s of this.flags) s.builder.push(s.get(row) as boolean);
    for (const s of this.maps) s.builder.push(s.get(row) as Record<string, string>);
    this.rows++;
  }

  /**
   * Empties the batch for the next file, keeping its buffers (already grown
   * and paged in): only once the table from `toTable` is no longer used, as
   * it is a view of them.
   */
  reset(): void {
    for (const b of this.builders) b.reset();
    this.rows = 0;
  }

  toTable(): Table {
    const fields = COLUMNS.map((c, i) => new Field(c.name, this.builders[i]!.type, c.nullable));
    const schema = new Schema(fields);
    const children = this.builders.map((b) => b.finish());
    const data = makeData({ type: new Struct(fields), length: this.rows, nullCount: 0, children });
    return new Table([new RecordBatch(schema, data)]);
  }
}
