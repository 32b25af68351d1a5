/**
 * The object store port: where finished Parquet files go (and, beside them,
 * the ids of the ingested events each holds). `put` is atomic —
 * a reader sees the whole object under its key or nothing, and a second put
 * of the same key replaces it whole — which is what makes a replay after a
 * crash harmless.
 */
export interface StoredObject {
  key: string;
  size: number;
}

export interface ObjectStore {
  /** Human-readable location, e.g. `file:///data/parquet` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Durable once it resolves. */
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  /** Every finished object whose key starts with `prefix`. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Removes an object; one that is not there is not an error (a retried delete is harmless). */
  delete(key: string): Promise<void>;
  /** Removes what an interrupted put may have left (temporary files); returns how many. */
  cleanup(): Promise<number>;
  close(): Promise<void>;
}
