import { tableToIPC, type Table } from 'apache-arrow';
import { Compression, EnabledStatistics, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';

/**
 * Arrow table -> Parquet bytes with parquet-wasm (the Rust `parquet` crate
 * compiled to WebAssembly: no native build, no download at install).
 * zstd, dictionary encoding and column statistics on; row groups of at most
 * ROW_GROUP_ROWS rows so readers can skip by statistics and read in parallel.
 */
export const ROW_GROUP_ROWS = 50_000;

/**
 * Columns whose values are (nearly) all different: a dictionary never pays
 * off and min/max statistics of prompts help no reader, yet both cost time
 * on the largest columns.
 */
const UNIQUE_VALUED = ['event_id', 'request_body', 'response_body', 'response_text', 'tool_calls', 'error_message', 'trace_id'];

export function encodeParquet(table: Table, metadata: Map<string, string>): Uint8Array {
  return encodeParquetIpc(tableToIPC(table, 'stream'), metadata);
}

/** The same from the table in Arrow's IPC stream format (what crosses to the encoding thread). */
export function encodeParquetIpc(ipc: Uint8Array, metadata: Map<string, string>): Uint8Array {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setDictionaryEnabled(true)
    .setCreatedBy('llm-logger roller (parquet-wasm)')
    .setKeyValueMetadata(metadata);
  for (const col of UNIQUE_VALUED) {
    builder = builder.setColumnDictionaryEnabled(col, false);
    if (col !== 'event_id') builder = builder.setColumnStatisticsEnabled(col, EnabledStatistics.None);
  }
  const props = builder.build();
  // writeParquet takes ownership of the wasm table (and frees it).
  return writeParquet(WasmTable.fromIPCStream(ipc), props);
}
