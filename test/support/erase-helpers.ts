import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ErasureReport } from '../../services/erasure/erasure-report';
import { CLI, REPO_ROOT } from './processes';

/** Helpers for the erasure tests (test/security/erase.test.ts). */

/** A word no other test writes: one FTS/Elasticsearch token, and a needle to look for in raw bytes. */
export function marker(label: string): string {
  return `${label}${randomBytes(6).toString('hex')}`;
}

export interface CallOptions {
  user: string;
  content: string;
  /** `chat` (default), `stream` (streamed, slow enough for live records), `anthropic`, `tool` (a tool-call answer), `error` (a 429). */
  kind?: 'chat' | 'stream' | 'anthropic' | 'tool' | 'error';
  headers?: Record<string, string>;
}

/** One call through the gateway; resolves with its event id once the answer is read. */
export async function call(gatewayUrl: string, o: CallOptions): Promise<string> {
  const kind = o.kind ?? 'chat';
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-llm-user': o.user, ...o.headers };
  let url = `${gatewayUrl}/openai/v1/chat/completions`;
  let body: Record<string, unknown> = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: o.content }] };
  if (kind === 'stream') {
    body = { ...body, stream: true, stream_options: { include_usage: true } };
    headers['x-stand-in-chunk-delay-ms'] = '60'; // in flight for ~0.5 s: the gateway publishes live records
  } else if (kind === 'anthropic') {
    url = `${gatewayUrl}/anthropic/v1/messages`;
    body = { model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: o.content }] };
  } else if (kind === 'tool') {
    headers['x-stand-in-fixture'] = 'openai/chat-tool-call';
  } else if (kind === 'error') {
    headers['x-stand-in-status'] = '429';
  }
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  await res.arrayBuffer();
  const id = res.headers.get('x-llm-request-id');
  if (!id) throw new Error(`no x-llm-request-id (status ${res.status})`);
  return id;
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `llm-logger <args>` as a process with these settings. Not spawnSync: a
 * blocked event loop lets the console close idle keep-alive connections
 * that fetch then reuses ("other side closed").
 */
export function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** `llm-logger erase --user <user> --json`: the report (throws with the output when it is not JSON). */
export async function eraseCli(user: string, env: Record<string, string>): Promise<{ run: CliRun; report: ErasureReport }> {
  const run = await runCli(['erase', '--user', user, '--json'], env);
  try {
    return { run, report: JSON.parse(run.stdout) as ErasureReport };
  } catch {
    throw new Error(`llm-logger erase exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  }
}

/** Whether any of these files (a SQLite database and its WAL, say) holds the bytes of `needle`. */
export function filesContain(paths: string[], needle: string): string[] {
  return paths.filter((p) => existsSync(p) && readFileSync(p).includes(Buffer.from(needle, 'utf8')));
}

/** A database file and its write-ahead log. */
export const withWal = (path: string): string[] => [path, `${path}-wal`];

export async function poll<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} (after ${timeoutMs} ms)${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Rows of the archive whose string columns mention `needle`, as pyarrow reads it (an independent reader). */
export function pyarrowRowsMentioning(python: string, root: string, needle: string): number {
  const script = `
import sys, pyarrow.dataset as ds, pyarrow.compute as pc
t = ds.dataset(sys.argv[1] + "/llm_inference", format="parquet", partitioning="hive").to_table()
n = 0
for name in t.column_names:
    col = t[name]
    if str(col.type) == "string":
        n += pc.sum(pc.cast(pc.match_substring(col, sys.argv[2]), "int64")).as_py() or 0
print(n)
`;
  const r = spawnSync(python, ['-c', script, root, needle], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`pyarrow failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}
