import type { LiveStarted } from '../../shared/event/live-record';
import { CallProgress, LiveCoalescer, type LiveSource } from './live-coalescer';

function started(id: string, at = 1_000): LiveStarted {
  return {
    type: 'started',
    event_id: id,
    started_at: at,
    upstream: 'openai',
    provider: 'openai',
    endpoint: 'chat.completions',
    model: 'gpt-4o',
    streamed: true,
    user: null,
    app: null,
    prompt: 'hi',
  };
}

function source(capture = true): LiveSource & { answer: string } {
  const s = { answer: '', capture, text: () => s.answer, ttftMs: () => (s.answer ? 42 : null) };
  return s;
}

const options = { maxCalls: 10, maxRecordsPerTick: 100, maxAgeMs: 60_000, minAgeMs: 100 };

describe('LiveCoalescer', () => {
  it('publishes nothing for a call that ends before the tick', () => {
    const c = new LiveCoalescer(options);
    const e = c.start(started('a'), source());
    e!.dirty = true;
    c.end(e);
    expect(c.tick(1_100)).toEqual([]);
  });

  it('announces a call once it has run a tick, then sends only the new text, coalescing chunks', () => {
    const c = new LiveCoalescer(options);
    const s = source();
    const e = c.start(started('a'), s)!;
    expect(c.tick(1_050)).toEqual([]);
    expect(c.tick(1_100)).toEqual([started('a')]);
    s.answer = 'Hel';
    e.dirty = true;
    s.answer = 'Hello wor';
    e.dirty = true;
    expect(c.tick(1_200)).toEqual([{ type: 'progress', event_id: 'a', at: 1_200, text: 'Hello wor', chars: 9, ttft_ms: 42 }]);
    expect(c.tick(1_300)).toEqual([]);
    s.answer = 'Hello world';
    e.dirty = true;
    expect(c.tick(1_400)).toMatchObject([{ text: 'ld', chars: 11 }]);
  });

  it('sends no text for a call whose bodies are not captured', () => {
    const c = new LiveCoalescer(options);
    const s = source(false);
    const e = c.start(started('a'), s)!;
    s.answer = 'secret';
    e.dirty = true;
    const records = c.tick(1_100);
    expect(records[1]).toMatchObject({ type: 'progress', text: '', chars: 6 });
  });

  it('is bounded: calls past maxCalls are not tracked, records per tick are capped, old calls expire', () => {
    const c = new LiveCoalescer({ maxCalls: 2, maxRecordsPerTick: 1, maxAgeMs: 500, minAgeMs: 0 });
    expect(c.start(started('a'), source())).not.toBeNull();
    expect(c.start(started('b'), source())).not.toBeNull();
    expect(c.start(started('c'), source())).toBeNull();
    expect(c.tick(1_100)).toHaveLength(1);
    expect(c.tick(1_200)).toEqual([started('b')]);
    expect(c.tick(2_000)).toEqual([]);
    expect(c.size).toBe(0);
  });
  it('keeps the start order when calls end in any order, and ending a call twice or after it expired is harmless', () => {
    const c = new LiveCoalescer({ ...options, minAgeMs: 0, maxAgeMs: 500 });
    const [a, b, d] = ['a', 'b', 'd'].map((id) => c.start(started(id), source()));
    c.end(b!);
    c.end(b!);
    expect(c.size).toBe(2);
    expect(c.tick(1_100)).toEqual([started('a'), started('d')]);
    const e = c.start(started('e', 1_200), source());
    expect(c.tick(1_600)).toEqual([started('e', 1_200)]); // a and d expired
    c.end(a!);
    c.end(d!);
    expect(c.size).toBe(1);
    c.end(e!);
    expect(c.size).toBe(0);
    expect(c.tick(1_700)).toEqual([]);
    c.start(started('f', 1_700), source());
    expect(c.tick(1_800)).toEqual([started('f', 1_700)]);
  });
});

describe('CallProgress', () => {
  it('shows a streamed answer once the proxy attaches it, and the time to first byte once set', () => {
    const p = new CallProgress(true);
    expect(p.text()).toBe('');
    expect(p.ttftMs()).toBeNull();
    p.answer = { partialText: () => 'Hello' };
    p.firstByteMs = 12;
    expect(p.text()).toBe('Hello');
    expect(p.ttftMs()).toBe(12);
  });
});
