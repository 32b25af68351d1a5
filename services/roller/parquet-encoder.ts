import { tableToIPC, type Table } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';

/**
 * Arrow table -> Parquet bytes with parquet-wasm (the Rust `parquet` crate
 * compiled to WebAssembly: no native build, no download at install).
 * zstd, dictionary encoding and column statistics on; row groups of at most
 * ROW_GROUP_ROWS rows so readers can skip by statistics and read in parallel.
 */
export const ROW_GROUP_ROWS = 50_000;

export function encodeParquet(table: Table, metadata: Map<string, string>): Uint8Array {
  const props = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setDictionaryEnabled(true)
    .setCreatedBy('llm-logger roller (parquet-wasm)')
    .setKeyValueMetadata(metadata)
    .build();
  // writeParquet takes ownership of the wasm table (and frees it).
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), props);
}
