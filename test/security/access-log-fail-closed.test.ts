import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { bearer, writeAccessConfig } from '../support/console-identities';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A read of bodies is answered only once its access record is durable: with
 * the log unwritable (closed here; on Kafka, a broker out of reach with the
 * disk spool full — while the spool takes records, they are durable there
 * and replayed) the console answers 503 and sends no body. Metadata still
 * flows: it needs no record.
 */

let upstream: StandIn;
let pipeline: Pipeline;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-logger-fail-closed-'));
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url, { LLM_LOGGER_CONFIG: writeAccessConfig(dir) }, { indexer: true });
});

afterAll(async () => {
  await pipeline?.close().catch(() => undefined);
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('with the access log unwritable, bodies, previews, search and live text get 503 and nothing of them', async () => {
  const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'an unrecordable ostrich prompt' }] }),
  });
  const id = res.headers.get('x-llm-request-id')!;
  await res.text();
  await pipeline.waitForEvent(id, 5_000, bearer('viewer'));
  await pipeline.log.close();
  for (const path of [`/api/requests/${id}`, '/api/requests', '/api/search?q=ostrich', '/api/live']) {
    const r = await fetch(`${pipeline.consoleUrl}${path}`, { headers: bearer('auditor') });
    const text = await r.text();
    expect({ path, status: r.status }).toEqual({ path, status: 503 });
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'access_log_unavailable' } });
    expect(text).not.toContain('ostrich');
  }
  const metadata = await fetch(`${pipeline.consoleUrl}/api/requests/${id}`, { headers: bearer('viewer') });
  expect(metadata.status).toBe(200);
  expect(((await metadata.json()) as { event_id: string }).event_id).toBe(id);
});
