import { splitAtRandom, splitEveryByte } from '../../../../test/fixtures/split-chunks';
import { createSseParser, parseSseText } from './sse-parser';
import type { SseEvent } from './types';

function parsePieces(pieces: ReadonlyArray<Buffer | string>, discardUnterminatedEvent = false): SseEvent[] {
  const parser = createSseParser({ discardUnterminatedEvent });
  const events: SseEvent[] = [];
  for (const piece of pieces) events.push(...parser.push(piece));
  events.push(...parser.end());
  return events;
}

const ev = (data: string, event: string | null = null, id: string | null = null): SseEvent => ({ event, data, id });

describe('createSseParser', () => {
  it('dispatches data-only events on blank lines', () => {
    expect(parseSseText('data: {"a":1}\n\ndata: [DONE]\n\n')).toEqual([ev('{"a":1}'), ev('[DONE]')]);
  });

  it('reads event, id and multi-line data fields', () => {
    const text = 'event: message_start\nid: 7\ndata: line one\ndata: line two\n\n';
    expect(parseSseText(text)).toEqual([ev('line one\nline two', 'message_start', '7')]);
  });

  it('removes exactly one space after the colon', () => {
    expect(parseSseText('data:no-space\n\ndata:  two-spaces\n\n')).toEqual([ev('no-space'), ev(' two-spaces')]);
  });

  it('treats a field name without colon as an empty value', () => {
    expect(parseSseText('data\n\n')).toEqual([ev('')]);
    expect(parseSseText('data\ndata\n\n')).toEqual([ev('\n')]);
  });

  it('ignores comments, unknown fields and retry', () => {
    const text = ': keep-alive\n\n:another comment\nfoo: bar\nretry: 3000\ndata: x\n\n';
    expect(parseSseText(text)).toEqual([ev('x')]);
  });

  it('does not dispatch an event without data, and resets its event type', () => {
    expect(parseSseText('event: ping\n\ndata: after\n\n')).toEqual([ev('after')]);
  });

  it('keeps the last event id across events, and an empty id clears it', () => {
    const text = 'id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n';
    expect(parseSseText(text)).toEqual([ev('a', null, '1'), ev('b', null, '1'), ev('c', null, null)]);
  });

  it('ignores an id containing NUL', () => {
    expect(parseSseText('id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n')).toEqual([ev('a', null, '1'), ev('b', null, '1')]);
  });

  it('accepts CRLF, CR and LF line endings, mixed', () => {
    const text = 'data: a\r\n\r\ndata: b\r\rdata: c\n\nevent: e\r\ndata: d\r\n\n';
    expect(parseSseText(text)).toEqual([ev('a'), ev('b'), ev('c'), ev('d', 'e')]);
  });

  it('does not read CRLF split across chunks as two line breaks', () => {
    expect(parsePieces(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([ev('a\nb')]);
  });

  it('dispatches an event ended by CR immediately, before the next chunk', () => {
    const parser = createSseParser();
    expect(parser.push('data: a\r\r')).toEqual([ev('a')]);
    expect(parser.push('\ndata: b\n\n')).toEqual([ev('b')]);
  });

  it('ignores one leading byte order mark', () => {
    expect(parsePieces([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), 'data: x\n\n'])).toEqual([ev('x')]);
  });

  it('reassembles UTF-8 characters split between chunks', () => {
    const bytes = Buffer.from('data: café 🚀 日本\n\n', 'utf8');
    expect(parsePieces(splitEveryByte(bytes))).toEqual([ev('café 🚀 日本')]);
  });

  it('by default dispatches an unterminated final event at end()', () => {
    expect(parsePieces(['data: a\n\ndata: [DONE]'])).toEqual([ev('a'), ev('[DONE]')]);
    expect(parsePieces(['data: a\n\ndata: b\n'])).toEqual([ev('a'), ev('b')]);
  });

  it('discards an unterminated final event when asked to follow the spec strictly', () => {
    expect(parsePieces(['data: a\n\ndata: [DONE]'], true)).toEqual([ev('a')]);
  });

  it('returns nothing after end() and refuses further pushes', () => {
    const parser = createSseParser();
    parser.push('data: a\n\n');
    expect(parser.end()).toEqual([]);
    expect(parser.end()).toEqual([]);
    expect(() => parser.push('data: b\n\n')).toThrow();
  });

  describe('random chunk boundaries', () => {
    const stream = Buffer.from(
      [
        ': comment\r\n',
        'event: greeting\r\nid: 42\r\ndata: héllo wörld ✓\r\n\r\n',
        'data: {"emoji":"🚀🚀","cjk":"日本語"}\n\n',
        'data: first\rdata: second\r\r',
        'event: empty\n\n',
        'data\n\n',
        'data: last 🎉\n\n',
      ].join(''),
      'utf8',
    );
    const expected = parseSseText(stream);

    it('has a meaningful reference parse', () => {
      expect(expected).toEqual([
        ev('héllo wörld ✓', 'greeting', '42'),
        ev('{"emoji":"🚀🚀","cjk":"日本語"}', null, '42'),
        ev('first\nsecond', null, '42'),
        ev('', null, '42'),
        ev('last 🎉', null, '42'),
      ]);
    });

    it('gives the same events split at every byte', () => {
      expect(parsePieces(splitEveryByte(stream))).toEqual(expected);
    });

    for (let seed = 1; seed <= 50; seed++) {
      it(`gives the same events with random splits (seed ${seed})`, () => {
        expect(parsePieces(splitAtRandom(stream, seed, 1 + (seed % 17)))).toEqual(expected);
      });
    }
  });
});

describe('maxEventChars', () => {
  it('drops an event whose line never ends, holding no more than the limit, and parses what follows the line break', () => {
    const parser = createSseParser({ maxEventChars: 1_000 });
    const out: SseEvent[] = [...parser.push('data: first\n\ndata: ')];
    for (let i = 0; i < 10_000; i++) out.push(...parser.push('y'.repeat(1_000))); // 10 MB without a line break
    out.push(...parser.push('\n\ndata: last\n\n'));
    out.push(...parser.end());
    expect(out.map((e) => e.data)).toEqual(['first', 'last']);
    expect(parser.skipped).toBe(1);
  });

  it('drops an event of many short data lines once they add up past the limit, and only that event', () => {
    const parser = createSseParser({ maxEventChars: 100 });
    const lines = Array.from({ length: 50 }, () => 'data: 0123456789\n').join('');
    const out = [...parser.push(`${lines}\ndata: ok\n\n`), ...parser.end()];
    expect(out.map((e) => e.data)).toEqual(['ok']);
    expect(parser.skipped).toBe(1);
  });

  it('changes nothing below the limit', () => {
    const parser = createSseParser({ maxEventChars: 20 });
    expect([...parser.push('data: 12345\ndata: 67890\n\n'), ...parser.end()].map((e) => e.data)).toEqual(['12345\n67890']);
    expect(parser.skipped).toBe(0);
  });
});

