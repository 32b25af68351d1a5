import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { startCli, type RunningCli } from '../support/processes';
import { readInferenceEvents } from '../support/read-log';
import { waitFor } from '../support/roller-process';
import { startStandIn, type RecordedRequest, type StandIn } from '../support/stand-in-upstream';

/**
 * `stream_options.include_usage`, which the gateway adds to streamed
 * OpenAI-format calls, must never break a call. Upstreams that refuse it (a
 * stand-in answering 400 "Unrecognized request argument supplied:
 * stream_options", as self-hosted servers and older Azure api-versions do):
 * in `auto` the call is sent again without it before the client saw a byte,
 * and the upstream is not asked again (said once in the log and in
 * /metrics); `never` never adds it; `always` always does and never retries.
 * `llm-logger gateway` as a real process, the official `openai` SDK streaming.
 */

let refusing: StandIn;
let accepting: StandIn;
let cli: RunningCli;
let dataDir: string;

const STREAMED_TEXT = 'Hello from the stand-in upstream: this answer streams one word at a time,';

beforeAll(async () => {
  refusing = await startStandIn(0, { rejectStreamOptions: true });
  accepting = await startStandIn();
  dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-usage-injection-'));
  cli = await startCli(
    {
      LLM_LOGGER_DATA_DIR: dataDir,
      LLM_LOGGER_LOG_LEVEL: 'info',
      // openai: auto (the default), against a server that refuses the option.
      LLM_LOGGER_UPSTREAM_OPENAI_URL: refusing.url,
      LLM_LOGGER_UPSTREAM_STRICT_URL: refusing.url,
      LLM_LOGGER_UPSTREAM_STRICT_FORMAT: 'openai',
      LLM_LOGGER_UPSTREAM_STRICT_USAGE_INJECTION: 'always',
      LLM_LOGGER_UPSTREAM_QUIET_URL: accepting.url,
      LLM_LOGGER_UPSTREAM_QUIET_FORMAT: 'openai',
      LLM_LOGGER_UPSTREAM_QUIET_USAGE_INJECTION: 'never',
      LLM_LOGGER_UPSTREAM_ACCEPTING_URL: accepting.url,
      LLM_LOGGER_UPSTREAM_ACCEPTING_FORMAT: 'openai',
    },
    ['gateway'],
  );
});

afterAll(async () => {
  cli?.child.kill('SIGTERM');
  await cli?.exited;
  await refusing.close();
  await accepting.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function client(upstream: string): OpenAI {
  return new OpenAI({ baseURL: `${cli.gatewayUrl}/${upstream}/v1`, apiKey: 'sk-test', maxRetries: 0 });
}

/** A streamed chat through the official SDK: the text it assembled and the event id. */
async function streamChat(upstream: string, prompt: string, headers: Record<string, string> = {}): Promise<{ text: string; id: string }> {
  const { data: stream, response } = await client(upstream)
    .chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: prompt }] }, { headers })
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return { text, id: response.headers.get('x-llm-request-id')! };
}

async function eventOf(id: string): Promise<InferenceEvent> {
  let event: InferenceEvent | undefined;
  await waitFor(async () => (event = (await readInferenceEvents(dataDir)).find((e) => e.event_id === id)) !== undefined, 10_000, () => `event ${id} not in the log`);
  return event!;
}

/** The requests a stand-in received for a prompt, as JSON. */
function received(standIn: StandIn, prompt: string): Record<string, unknown>[] {
  return standIn.requests
    .filter((r: RecordedRequest) => r.body.toString('utf8').includes(prompt))
    .map((r) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>);
}

async function metrics(): Promise<string> {
  return (await fetch(`${cli.gatewayUrl}/metrics`)).text();
}

const refusalLogs = (): string[] => cli.output().split('\n').filter((l) => l.includes('refused stream_options.include_usage'));

describe('auto (the default)', () => {
  test('a refusal is retried without the option before the client sees anything, and the upstream is not asked again', async () => {
    const first = await streamChat('openai', 'auto, first call');
    expect(first.text.startsWith(STREAMED_TEXT.split(' ').slice(0, 3).join(' '))).toBe(true);
    // The upstream saw the gateway's request, refused it, then the client's own.
    const sent = received(refusing, 'auto, first call');
    expect(sent.map((b) => b.stream_options)).toEqual([{ include_usage: true }, undefined]);
    const event = await eventOf(first.id);
    expect(event).toMatchObject({ http_status: 200, error_class: null, streamed: true });
    expect(event.usage.source).toBe('estimated');
    expect(event.usage.input_tokens).toBeGreaterThan(0);
    expect(event.usage.output_tokens).toBeGreaterThan(0);

    const second = await streamChat('openai', 'auto, second call');
    expect(second.text).toBe(first.text);
    expect(received(refusing, 'auto, second call').map((b) => b.stream_options)).toEqual([undefined]);
    expect((await eventOf(second.id)).usage.source).toBe('estimated');

    // Said once, naming the upstream, at warn level.
    const logs = refusalLogs();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('"level":40');
    expect(logs[0]).toContain('"upstream":"openai"');
    const text = await metrics();
    expect(text).toContain('llm_logger_gateway_usage_injection_off{upstream="openai"} 1');
    expect(text).toContain('llm_logger_gateway_usage_injection_retries_total{upstream="openai"} 1');
  });

  test('a 400 that does not name the option reaches the client as it is, with no retry, and changes nothing', async () => {
    await expect(streamChat('accepting', 'auto, a bad request', { 'x-stand-in-status': '400' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('stand-in error 400') });
    expect(received(accepting, 'auto, a bad request')).toHaveLength(1);
    // Still asked for usage afterwards: exact usage, not an estimate.
    const ok = await streamChat('accepting', 'auto, after the bad request');
    expect(received(accepting, 'auto, after the bad request').map((b) => b.stream_options)).toEqual([{ include_usage: true }]);
    expect((await eventOf(ok.id)).usage.source).toBe('provider');
    expect(await metrics()).not.toContain('llm_logger_gateway_usage_injection_off{upstream="accepting"}');
  });
});

test('never: the option is never added; usage is estimated and the event says so', async () => {
  const call = await streamChat('quiet', 'never, a call');
  expect(call.text.length).toBeGreaterThan(0);
  expect(received(accepting, 'never, a call').map((b) => b.stream_options)).toEqual([undefined]);
  expect((await eventOf(call.id)).usage.source).toBe('estimated');
});

test('always: the option is always added and a refusal is never retried', async () => {
  for (const n of [1, 2]) {
    await expect(streamChat('strict', `always, call ${n}`)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('Unrecognized request argument supplied: stream_options'),
    });
    expect(received(refusing, `always, call ${n}`).map((b) => b.stream_options)).toEqual([{ include_usage: true }]);
  }
  let events: InferenceEvent[] = [];
  await waitFor(async () => (events = (await readInferenceEvents(dataDir)).filter((e) => e.upstream === 'strict')).length === 2, 10_000, () => 'the two events');
  expect(events.map((e) => [e.http_status, e.error_class])).toEqual([
    [400, 'client_error'],
    [400, 'client_error'],
  ]);
  expect(await metrics()).not.toContain('usage_injection_retries_total{upstream="strict"}');
  expect(refusalLogs()).toHaveLength(1); // still only the auto upstream's
});
