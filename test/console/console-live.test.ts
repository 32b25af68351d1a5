import { startPipeline, type Pipeline } from '../support/pipeline';
import { openSse } from '../support/sse-client';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { closeAll } from '../support/close-all';

/**
 * The live tail end to end on the embedded pipeline: the gateway publishes a
 * streaming call's start and progress to llm.inference.live.v1, the console
 * relays them over GET /api/live, then the finished call from its event.
 */

let upstream: StandIn;
let pipeline: Pipeline;

beforeAll(async () => {
  upstream = await startStandIn();
  pipeline = await startPipeline(upstream.url);
});

afterAll(() => closeAll(pipeline, upstream));

async function streamedCall(headers: Record<string, string>): Promise<{ id: string; sentAt: number; body: Promise<string> }> {
  const sentAt = Date.now();
  const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-stand-in-chunk-delay-ms': '40', 'x-stand-in-chunks': '20', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Tell me about the live tail.' }] }),
  });
  return { id: res.headers.get('x-llm-request-id')!, sentAt, body: res.text() };
}

test('a streamed call appears when it starts, grows while it streams, then settles with usage and cost', async () => {
  const sse = await openSse(`${pipeline.consoleUrl}/api/live`);
  try {
    await sse.waitFor((m) => m.event === 'snapshot');
    const call = await streamedCall({ 'x-llm-user': 'alice' });
    const started = await sse.waitFor((m) => m.event === 'started' && (m.data as { event_id: string }).event_id === call.id, 2_000);
    expect(started.at - call.sentAt).toBeLessThan(1_000);
    expect(started.data).toMatchObject({ model: 'gpt-4o-mini', upstream: 'openai', user: 'alice', prompt: 'Tell me about the live tail.' });
    const finished = await sse.waitFor((m) => m.event === 'finished' && (m.data as { event_id: string }).event_id === call.id, 5_000);
    await call.body;
    const progress = sse.messages.filter((m) => m.event === 'progress' && (m.data as { event_id: string }).event_id === call.id);
    // ~800 ms of streaming, published at most every 100 ms: several coalesced updates, not one per chunk.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.length).toBeLessThan(20);
    const text = progress.map((m) => (m.data as { text: string }).text).join('');
    const event = await pipeline.waitForEvent(call.id);
    expect(event.response_text!.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(10);
    expect(finished.data).toMatchObject({ event_id: call.id, http_status: 200, user: 'alice' });
    expect((finished.data as { cost_usd: number }).cost_usd).toBeGreaterThan(0);
  } finally {
    sse.close();
  }
});

test('a call whose bodies are not captured shows progress without any text', async () => {
  const sse = await openSse(`${pipeline.consoleUrl}/api/live`);
  try {
    const call = await streamedCall({ 'x-llm-sample': '0' });
    const started = await sse.waitFor((m) => m.event === 'started' && (m.data as { event_id: string }).event_id === call.id, 2_000);
    expect((started.data as { prompt: unknown }).prompt).toBeNull();
    await sse.waitFor((m) => m.event === 'finished' && (m.data as { event_id: string }).event_id === call.id, 5_000);
    const progress = sse.messages.filter((m) => m.event === 'progress' && (m.data as { event_id: string }).event_id === call.id);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((m) => (m.data as { text: string }).text === '')).toBe(true);
    expect(Math.max(...progress.map((m) => (m.data as { chars: number }).chars))).toBeGreaterThan(10);
  } finally {
    sse.close();
  }
});

test('a dashboard that connects mid-call gets the call in its snapshot, with the text so far', async () => {
  const call = await streamedCall({});
  await new Promise((r) => setTimeout(r, 400));
  const sse = await openSse(`${pipeline.consoleUrl}/api/live`);
  try {
    const snap = await sse.waitFor((m) => m.event === 'snapshot');
    const inFlight = (snap.data as { inFlight: { event_id: string; text: string }[] }).inFlight.find((c) => c.event_id === call.id);
    expect(inFlight).toBeDefined();
    expect(inFlight!.text.length).toBeGreaterThan(0);
    await call.body;
  } finally {
    sse.close();
  }
});
