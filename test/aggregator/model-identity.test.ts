import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { AggregatesAnswer } from '../../services/console/aggregates-contract';
import type { AlertTransition } from '../../services/console/alerts/alert-tracker';
import type { RequestSummary } from '../../services/console/requests-store';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * One model, one row (issue 19): the stand-in answers `gpt-4o` as OpenAI
 * does, with the snapshot `gpt-4o-2024-08-06`; failed calls get no answer.
 * Calls sent with the OpenAI SDK through the gateway, some failing, show as
 * ONE `gpt-4o` row with the error rate the SDK saw, the snapshot under
 * `served_model`, and both as filters of /api/requests and alert targets.
 */

const SNAPSHOT = 'gpt-4o-2024-08-06';

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('one model, one row, on the embedded pipeline', () => {
  let dir: string;
  let upstream: StandIn;
  let pipeline: Pipeline;
  /** What the SDK saw: answers (with the model they named) and failures. */
  const seen = { answeredBy: [] as string[], failed: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-models-'));
    const config = join(dir, 'llm-logger.yaml');
    writeFileSync(
      config,
      [
        'alerts:',
        '  evaluateEverySeconds: 1',
        '  rules:',
        '    - { name: gpt-4o-errors, kind: error_rate, above: 0.3, windowMinutes: 5, minCalls: 5, model: gpt-4o }',
        `    - { name: snapshot-silent, kind: no_traffic, minutes: 5, servedModel: ${SNAPSHOT} }`,
        '',
      ].join('\n'),
    );
    upstream = await startStandIn(0, { servedModels: { 'gpt-4o': SNAPSHOT } });
    pipeline = await startPipeline(upstream.url, { LLM_LOGGER_CONFIG: config, LLM_LOGGER_AGGREGATOR_EMIT_INTERVAL_MS: '200' });
    const openai = (headers: Record<string, string> = {}) =>
      new OpenAI({ apiKey: 'sk-models', baseURL: `${pipeline.gatewayUrl}/openai/v1`, maxRetries: 0, defaultHeaders: headers });
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) {
        const answer = await openai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `question ${i}` }] });
        seen.answeredBy.push(answer.model);
      } else {
        const stream = await openai().chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: `stream ${i}` }] });
        let model = '';
        for await (const chunk of stream) model = chunk.model;
        seen.answeredBy.push(model);
      }
    }
    for (let i = 0; i < 4; i++) {
      await openai({ 'x-stand-in-status': i % 2 ? '500' : '429' })
        .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'fail' }] })
        .then(
          () => undefined,
          () => seen.failed++,
        );
    }
  }, 60_000);

  afterAll(async () => {
    await pipeline?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rollup = (groupBy: string) => getJson<AggregatesAnswer>(`${pipeline.consoleUrl}/api/aggregates?window=1m&groupBy=${groupBy}&rollup=true`);

  test('the SDK saw six answers from the snapshot and four failures', () => {
    expect(seen).toEqual({ answeredBy: Array(6).fill(SNAPSHOT), failed: 4 });
  });

  test('groupBy=model: one gpt-4o row with the error rate the SDK saw', async () => {
    const answer = await until('ten calls counted', () => rollup('model'), (a) => a.rows.reduce((n, r) => n + r.calls, 0) === 10);
    expect(answer.rows.map((r) => [r.group, r.calls, r.errors, r.errorRate])).toEqual([['gpt-4o', 10, 4, 0.4]]);
    const byUpstream = await rollup('model_upstream');
    expect(byUpstream.rows.map((r) => [r.group, r.calls])).toEqual([['gpt-4o@openai', 10]]);
  }, 40_000);

  test('groupBy=served_model: the snapshot with the answered calls; the failures answered by no model', async () => {
    const answer = await until('ten calls counted', () => rollup('served_model'), (a) => a.rows.reduce((n, r) => n + r.calls, 0) === 10);
    expect(answer.rows.map((r) => [r.group, r.calls, r.errors])).toEqual([
      ['__none__', 4, 4],
      [SNAPSHOT, 6, 0],
    ]);
  }, 40_000);

  test('GET /api/requests filters by model and by served_model', async () => {
    const list = (q: string) => getJson<{ requests: RequestSummary[] }>(`${pipeline.consoleUrl}/api/requests?${q}`).then((b) => b.requests);
    const all = await until('ten calls in the view', () => list('model=gpt-4o'), (r) => r.length === 10);
    expect(all.filter((r) => r.served_model === SNAPSHOT)).toHaveLength(6);
    expect(all.filter((r) => r.served_model === null && r.error_class !== null)).toHaveLength(4);
    expect(await list(`served_model=${SNAPSHOT}`)).toHaveLength(6);
    expect(await list(`model=${SNAPSHOT}`)).toHaveLength(0);
    const detail = await getJson<{ request_model: string; response_model: string }>(`${pipeline.consoleUrl}/api/requests/${all.find((r) => r.served_model)!.event_id}`);
    expect(detail).toMatchObject({ request_model: 'gpt-4o', response_model: SNAPSHOT });
  }, 40_000);

  test('an error-rate rule on model gpt-4o counts the failures; a servedModel rule sees the snapshot', async () => {
    const alerts = await until(
      'the gpt-4o error rule fires on all ten calls',
      () => getJson<{ active: AlertTransition[] }>(`${pipeline.consoleUrl}/api/alerts`),
      (a) => a.active.some((t) => t.rule === 'gpt-4o-errors' && t.message.includes('(4 of 10 calls')),
    );
    expect(alerts.active.find((t) => t.rule === 'gpt-4o-errors')).toMatchObject({ group: 'gpt-4o', value: 0.4 });
    // The snapshot had traffic: its no-traffic rule does not fire.
    expect(alerts.active.some((t) => t.rule === 'snapshot-silent')).toBe(false);
  }, 40_000);
});
