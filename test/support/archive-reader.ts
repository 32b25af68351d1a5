import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { REPO_ROOT } from './processes';

/**
 * Independent readers of the Parquet archive for the tests: DuckDB (not the
 * code that wrote the files) and pyarrow where a Python with it is found.
 */

/** Every row of the archive under `root` as an inference event, plus where the file put it. */
export interface ArchivedRow extends InferenceEvent {
  dt: string;
  hour: number;
  file: string;
}

const SELECT = `SELECT event_id, schema_version, epoch_ms(started_at) AS started_at, epoch_ms(first_token_at) AS first_token_at,
  epoch_ms(ended_at) AS ended_at, latency_ms, ttft_ms, gateway_instance, upstream, provider, wire_format, endpoint, method, path,
  request_model, response_model, streamed, http_status, error_class, error_type, error_message, finish_reason,
  input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, usage_source,
  cache_write_1h_tokens, input_audio_tokens, input_image_tokens, output_audio_tokens, output_image_tokens, usage_note,
  cost_micro_usd, price_version, chunk_count, request_bytes, response_bytes, "user", app, session, trace_id,
  to_json(tags)::VARCHAR AS tags, client_cancelled, body_captured, body_truncated, request_body, response_body, response_text, tool_calls,
  gateway_key_id, truncated_fields, service_tier, cost_note,
  dt::VARCHAR AS dt, hour::INTEGER AS hour, filename AS file`;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function readArchiveWithDuckDb(root: string): Promise<ArchivedRow[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const glob = join(root, 'llm_inference', '**', '*.parquet').replace(/'/g, "''");
    const reader = await conn.runAndReadAll(`${SELECT} FROM read_parquet('${glob}', hive_partitioning = true, filename = true)`);
    return reader.getRowObjects().map((r) => ({
      event_id: r.event_id as string,
      schema_version: Number(r.schema_version),
      started_at: num(r.started_at)!,
      first_token_at: num(r.first_token_at),
      ended_at: num(r.ended_at)!,
      latency_ms: Number(r.latency_ms),
      ttft_ms: num(r.ttft_ms),
      gateway_instance: r.gateway_instance as string,
      upstream: r.upstream as string,
      provider: r.provider as string,
      wire_format: r.wire_format as string,
      endpoint: r.endpoint as string,
      method: r.method as string,
      path: r.path as string,
      request_model: r.request_model as string | null,
      response_model: r.response_model as string | null,
      streamed: r.streamed as boolean,
      http_status: num(r.http_status),
      error_class: r.error_class as InferenceEvent['error_class'],
      error_type: r.error_type as string | null,
      error_message: r.error_message as string | null,
      finish_reason: r.finish_reason as string | null,
      usage: {
        input_tokens: num(r.input_tokens),
        output_tokens: num(r.output_tokens),
        cached_input_tokens: num(r.cached_input_tokens),
        cache_write_tokens: num(r.cache_write_tokens),
        reasoning_tokens: num(r.reasoning_tokens),
        source: r.usage_source as InferenceEvent['usage']['source'],
        cache_write_1h_tokens: num(r.cache_write_1h_tokens),
        input_audio_tokens: num(r.input_audio_tokens),
        input_image_tokens: num(r.input_image_tokens),
        output_audio_tokens: num(r.output_audio_tokens),
        output_image_tokens: num(r.output_image_tokens),
        note: r.usage_note as string | null,
      },
      cost_micro_usd: num(r.cost_micro_usd),
      price_version: r.price_version as string | null,
      chunk_count: Number(r.chunk_count),
      request_bytes: Number(r.request_bytes),
      response_bytes: Number(r.response_bytes),
      user: r.user as string | null,
      app: r.app as string | null,
      session: r.session as string | null,
      trace_id: r.trace_id as string | null,
      tags: JSON.parse(r.tags as string) as Record<string, string>,
      client_cancelled: r.client_cancelled as boolean,
      body_captured: r.body_captured as boolean,
      body_truncated: r.body_truncated as boolean,
      request_body: r.request_body as string | null,
      response_body: r.response_body as string | null,
      response_text: r.response_text as string | null,
      tool_calls: r.tool_calls as string | null,
      gateway_key_id: r.gateway_key_id as string | null,
      truncated_fields: r.truncated_fields as string | null,
      service_tier: r.service_tier as string | null,
      cost_note: r.cost_note as string | null,
      dt: r.dt as string,
      hour: Number(r.hour),
      file: r.file as string,
    }));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** A Python that can `import pyarrow`: $PYARROW_PYTHON, the venv under .cache/, or python3; null if none. */
export function pyarrowPython(): string | null {
  const candidates = [process.env.PYARROW_PYTHON, join(REPO_ROOT, '.cache', 'pyarrow-venv', 'bin', 'python'), 'python3'];
  for (const c of candidates) {
    if (!c || (c.includes('/') && !existsSync(c))) continue;
    if (spawnSync(c, ['-c', 'import pyarrow.dataset'], { encoding: 'utf8' }).status === 0) return c;
  }
  return null;
}

/** Row count, distinct event ids and a checksum of a few columns, as pyarrow reads the archive. */
export function summaryWithPyarrow(python: string, root: string): { rows: number; distinct: number; inputTokens: number } {
  const script = `
import json, sys, pyarrow.dataset as ds, pyarrow.compute as pc
t = ds.dataset(sys.argv[1] + "/llm_inference", format="parquet", partitioning="hive").to_table(columns=["event_id", "input_tokens"])
print(json.dumps({"rows": t.num_rows, "distinct": len(pc.unique(t["event_id"])), "inputTokens": pc.sum(t["input_tokens"]).as_py() or 0}))
`;
  const r = spawnSync(python, ['-c', script, root], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`pyarrow failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { rows: number; distinct: number; inputTokens: number };
}
