import { loadFixture } from '../../../test/fixtures/load-fixtures';
import { splitAtRandom } from '../../../test/fixtures/split-chunks';
import { MAX_UNPARSED_STREAM_BYTES, ResponseAccounting } from './response-accounting';
import { ENTRY_CHARS } from './wire/text-budget';

function countingParses(fn: () => void): number {
  const spy = jest.spyOn(JSON, 'parse');
  try {
    fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('ResponseAccounting', () => {
  const stream = loadFixture('openai', 'chat-stream-usage');
  const streamed = (): ResponseAccounting => new ResponseAccounting('chat.completions', 'openai', 200, true);

  it('parses nothing while a stream passes, and all of it when the answer is read', () => {
    const accounting = streamed();
    expect(countingParses(() => splitAtRandom(stream.response, 3, 40).forEach((c) => accounting.push(c)))).toBe(0);
    expect(accounting.result()).toEqual(stream.meta.expected);
  });

  it('reads the text so far for live views, and carries on from there', () => {
    const accounting = streamed();
    const pieces = splitAtRandom(stream.response, 7, 60);
    const half = Math.floor(pieces.length / 2);
    pieces.slice(0, half).forEach((c) => accounting.push(c));
    const partial = accounting.partialText();
    expect(stream.meta.expected.text.startsWith(partial)).toBe(true);
    pieces.slice(half).forEach((c) => accounting.push(c));
    expect(accounting.result()).toEqual(stream.meta.expected);
  });

  it('tells whether the most recent chunk held the terminal event (strict mode holds back its last byte)', () => {
    const accounting = streamed();
    const text = stream.response.toString('utf8');
    const done = text.indexOf('data: [DONE]');
    accounting.push(Buffer.from(text.slice(0, done)));
    expect(accounting.sawTerminal).toBe(false);
    accounting.push(Buffer.from(text.slice(done)));
    expect(accounting.sawTerminal).toBe(true);
    accounting.push(Buffer.from(': trailing comment\n\n'));
    expect(accounting.sawTerminal).toBe(false);
  });

  it('parses a long stream as it comes once its unread bytes pass the bound', () => {
    const accounting = streamed();
    const chunk = Buffer.from(`data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(1000)}"}}]}\n\n`);
    const count = Math.ceil(MAX_UNPARSED_STREAM_BYTES / chunk.length) + 1;
    const parses = countingParses(() => {
      for (let i = 0; i < count; i++) accounting.push(chunk);
    });
    expect(parses).toBeGreaterThanOrEqual(count - 1);
    expect(accounting.result().text).toHaveLength(count * 1000);
  });

  it('parses a whole body once complete', () => {
    const plain = loadFixture('openai', 'chat-basic');
    const accounting = new ResponseAccounting('chat.completions', 'openai', 200, false);
    splitAtRandom(plain.response, 5, 30).forEach((c) => accounting.push(c));
    expect(accounting.result()).toEqual(plain.meta.expected);
    expect(accounting.bodyText).toBe(plain.response.toString('utf8'));
  });

  describe('limits (a stream that never ends must not grow memory without bound)', () => {
    const limits = { textMaxChars: 5_000, eventMaxChars: 10_000 };
    const delta = (text: string): Buffer => Buffer.from(`data: {"choices":[{"index":0,"delta":{"content":"${text}"}}]}\n\n`);
    const usage = Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4000,"total_tokens":4003}}\n\ndata: [DONE]\n\n');

    it('keeps at most textMaxChars of the answer, counts the rest, and still reads the usage at the end', () => {
      const a = new ResponseAccounting('chat.completions', 'openai', 200, true, limits);
      for (let i = 0; i < 2_000; i++) a.push(delta('x'.repeat(100)));
      a.push(usage);
      const r = a.result();
      // The one choice kept costs ENTRY_CHARS of the budget too.
      expect(r.text.length).toBe(5_000 - ENTRY_CHARS);
      expect(a.cutChars).toBe(200_000 - (5_000 - ENTRY_CHARS));
      expect(r.usage).toMatchObject({ inputTokens: 3, outputTokens: 4000 });
    });

    it('skips an event longer than eventMaxChars (a line that never ends) and reads the events after it', () => {
      const a = new ResponseAccounting('chat.completions', 'openai', 200, true, limits);
      a.push(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"'));
      for (let i = 0; i < 1_000; i++) a.push(Buffer.alloc(1_000, 0x61));
      a.push(Buffer.from('"}}]}\n\n'));
      a.push(delta('after'));
      a.push(usage);
      const r = a.result();
      expect(a.skippedEvents).toBe(1);
      expect(r.text).toBe('after');
      expect(r.usage?.outputTokens).toBe(4000);
    });
  });
});
