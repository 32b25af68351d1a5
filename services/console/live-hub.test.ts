import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveStarted } from '../shared/event/live-record';
import { DEFAULT_LIVE_HUB_OPTIONS, LiveHub } from './live-hub';

/** A response that records what is written; `writableLength` simulates a client that stopped reading. */
class FakeResponse extends EventEmitter {
  written = '';
  writableLength = 0;
  destroyed = false;
  status = 0;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(text: string): boolean {
    this.written += text;
    return true;
  }
  end(text?: string): void {
    if (text) this.written += text;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const started = (id: string): LiveStarted => ({
  type: 'started',
  event_id: id,
  started_at: 1,
  upstream: 'openai',
  provider: 'openai',
  endpoint: 'chat.completions',
  model: 'm',
  streamed: true,
  user: null,
  app: null,
  prompt: null,
});

function attach(hub: LiveHub, text = true): FakeResponse {
  const res = new FakeResponse();
  hub.attach(new EventEmitter() as unknown as IncomingMessage, res as unknown as ServerResponse, { text });
  return res;
}

function snapshot(res: FakeResponse): { inFlight: { event_id: string; text: string }[] } {
  return JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(res.written)![1]!);
}

describe('LiveHub', () => {
  const options = { ...DEFAULT_LIVE_HUB_OPTIONS, maxInFlight: 2, maxTextChars: 5, maxBufferedBytes: 100, maxClients: 2 };

  it('keeps a bounded number of calls in flight, each with bounded text, for snapshots', () => {
    const hub = new LiveHub(() => [], options);
    hub.onLive([started('a'), started('b'), started('c')]);
    hub.onLive([{ type: 'progress', event_id: 'c', at: 2, text: 'Hello world', chars: 11, ttft_ms: 1 }]);
    const snap = snapshot(attach(hub));
    expect(snap.inFlight.map((c) => c.event_id)).toEqual(['b', 'c']);
    expect(snap.inFlight[1]!.text).toBe('Hello');
    hub.onFinished([{ event_id: 'c' } as never]);
    expect(snapshot(attach(hub)).inFlight.map((c) => c.event_id)).toEqual(['b']);
    hub.close();
  });

  it('relays records to clients and cuts off one that stopped reading', () => {
    const hub = new LiveHub(() => [], options);
    const fast = attach(hub);
    const slow = attach(hub);
    slow.writableLength = 1_000;
    hub.onLive([started('a')]);
    expect(fast.written).toContain('event: started\ndata: {"type":"started","event_id":"a"');
    expect(slow.destroyed).toBe(true);
    expect(hub.clientCount).toBe(1);
    hub.close();
  });

  it('refuses clients beyond the maximum', () => {
    const hub = new LiveHub(() => [], options);
    attach(hub);
    attach(hub);
    expect(attach(hub).status).toBe(503);
    hub.close();
  });

  it('sends clients without text (viewers) no prompt, no answer text and no preview, only sizes', () => {
    const hub = new LiveHub(() => [], { ...options, maxTextChars: 100 });
    hub.onLive([{ ...started('a'), prompt: 'the secret prompt' }, { type: 'progress', event_id: 'a', at: 2, text: 'secret answer', chars: 13, ttft_ms: 1 }]);
    const viewer = attach(hub, false);
    const auditor = attach(hub, true);
    hub.onLive([{ ...started('b'), prompt: 'another secret' }, { type: 'progress', event_id: 'b', at: 3, text: 'more secret', chars: 11, ttft_ms: 1 }]);
    hub.onFinished([{ event_id: 'b', response_preview: 'secret preview' } as never]);
    expect(viewer.written).not.toContain('secret');
    expect(viewer.written).toContain('"chars":11');
    expect(snapshot(viewer).inFlight).toEqual([expect.objectContaining({ event_id: 'a', text: '', prompt: null, chars: 13 })]);
    for (const s of ['the secret prompt', 'secret answer', 'another secret', 'more secret', 'secret preview']) expect(auditor.written).toContain(s);
    hub.close();
  });
});
