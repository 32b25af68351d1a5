import { loadFixture } from '../../../../test/fixtures/load-fixtures';
import { splitAtRandom, splitEveryByte } from '../../../../test/fixtures/split-chunks';
import { ResponseAccounting } from '../response-accounting';
import { parseSseText } from './sse-parser';
import type { ParsedResponse } from './types';
import { createUsageStripper, injectIncludeUsage } from './usage-injection';

const inject = (text: string): string | null => {
  const out = injectIncludeUsage(Buffer.from(text, 'utf8'));
  return out === null ? null : out.toString('utf8');
};

describe('injectIncludeUsage', () => {
  it('leaves bodies alone that are not streaming JSON objects', () => {
    expect(inject('{"model":"m","messages":[]}')).toBeNull();
    expect(inject('{"model":"m","stream":false}')).toBeNull();
    expect(inject('{"model":"m","stream":"true"}')).toBeNull();
    expect(inject('[{"stream":true}]')).toBeNull();
    expect(inject('{"stream":true')).toBeNull();
    expect(inject('')).toBeNull();
  });

  it('leaves bodies alone that already ask for usage', () => {
    expect(inject('{"stream":true,"stream_options":{"include_usage":true}}')).toBeNull();
  });

  it('adds stream_options when absent, keeping every other byte', () => {
    const body = '{"model":"m","seed":12345678901234567890,"temperature":1.0,"messages":[{"content":"caf\\u00e9 🚀"}],"stream":true}';
    expect(inject(body)).toBe(
      '{"model":"m","seed":12345678901234567890,"temperature":1.0,"messages":[{"content":"caf\\u00e9 🚀"}],"stream":true,"stream_options":{"include_usage":true}}',
    );
  });

  it('sets include_usage inside existing stream_options, keeping other keys', () => {
    expect(inject('{"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":false},"n":2}')).toBe(
      '{"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true},"n":2}',
    );
    expect(inject('{"stream_options":null,"stream":true}')).toBe('{"stream_options":{"include_usage":true},"stream":true}');
    expect(inject('{"stream":true,"stream_options":{}}')).toBe('{"stream":true,"stream_options":{"include_usage":true}}');
  });

  it('takes the JSON the proxy already parsed, with the same result', () => {
    for (const text of ['{"stream":true,"stream_options":{"include_obfuscation":false},"n":2}', '{"stream":false}', '{"stream":true,"stream_options":{"include_usage":true}}']) {
      const parsed = injectIncludeUsage(Buffer.from(text), JSON.parse(text));
      expect(parsed?.toString() ?? null).toBe(inject(text));
    }
  });

  it('works on pretty-printed bodies', () => {
    const out = inject('{\n  "model": "m",\n  "stream": true\n}\n');
    expect(out).not.toBeNull();
    expect(JSON.parse(out ?? '')).toEqual({ model: 'm', stream: true, stream_options: { include_usage: true } });
  });

  it('turns the no-usage fixture request into one asking for usage', () => {
    const without = loadFixture('openai', 'chat-stream-no-usage');
    const withUsage = loadFixture('openai', 'chat-stream-usage');
    const out = injectIncludeUsage(Buffer.from(JSON.stringify(without.request)));
    expect(JSON.parse(out?.toString('utf8') ?? 'null')).toEqual(withUsage.request);
  });
});

function strip(pieces: readonly Buffer[]): { output: Buffer; perPush: Buffer[] } {
  const stripper = createUsageStripper();
  const perPush = pieces.map((piece) => stripper.push(piece));
  const output = Buffer.concat([...perPush, stripper.end()]);
  return { output, perPush };
}

const withLineEnding = (bytes: Buffer, ending: string): Buffer =>
  Buffer.from(bytes.toString('utf8').replace(/\n/g, ending), 'utf8');

describe('createUsageStripper', () => {
  const upstream = loadFixture('openai', 'chat-stream-usage').response;
  const clientExpects = loadFixture('openai', 'chat-stream-no-usage').response;

  it('turns the include_usage stream into exactly the stream without it', () => {
    expect(strip([upstream]).output.equals(clientExpects)).toBe(true);
  });

  it('gives the same bytes split at every byte', () => {
    expect(strip(splitEveryByte(upstream)).output.toString('utf8')).toBe(clientExpects.toString('utf8'));
  });

  for (let seed = 1; seed <= 40; seed++) {
    it(`gives the same bytes with random splits (seed ${seed})`, () => {
      const { output } = strip(splitAtRandom(upstream, seed, 1 + ((seed * 7) % 97)));
      expect(output.toString('utf8')).toBe(clientExpects.toString('utf8'));
    });
  }

  it.each([
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('handles %s line endings, also split between CR and LF', (_name, ending) => {
    const upstreamVariant = withLineEnding(upstream, ending);
    const expected = withLineEnding(clientExpects, ending).toString('utf8');
    expect(strip([upstreamVariant]).output.toString('utf8')).toBe(expected);
    expect(strip(splitEveryByte(upstreamVariant)).output.toString('utf8')).toBe(expected);
    for (let seed = 100; seed < 110; seed++) {
      expect(strip(splitAtRandom(upstreamVariant, seed, 13)).output.toString('utf8')).toBe(expected);
    }
  });

  it('handles line endings that change from event to event', () => {
    const event = (n: number, ending: string): string => `data: {"n":${n},"usage":null}${ending}${ending}`;
    const endings = ['\n', '\r\n', '\r', '\n', '\r', '\r\n', '\n'];
    const upstreamMixed = Buffer.from(endings.map((e, i) => event(i, e)).join('') + 'data: [DONE]\n\n');
    const expected = endings.map((e, i) => `data: {"n":${i}}${e}${e}`).join('') + 'data: [DONE]\n\n';
    expect(strip([upstreamMixed]).output.toString()).toBe(expected);
    expect(strip(splitEveryByte(upstreamMixed)).output.toString()).toBe(expected);
    for (let seed = 1; seed < 20; seed++) expect(strip(splitAtRandom(upstreamMixed, seed, 17)).output.toString()).toBe(expected);
  });

  it('emits each complete event as soon as its blank line arrives', () => {
    const text = upstream.toString('utf8');
    const firstEnd = text.indexOf('\n\n') + 2;
    const stripper = createUsageStripper();
    const first = stripper.push(Buffer.from(text.slice(0, firstEnd), 'utf8'));
    expect(first.toString('utf8')).toBe(clientExpects.toString('utf8').slice(0, first.length));
    expect(first.toString('utf8').endsWith('\n\n')).toBe(true);
    expect(first.includes('"usage"')).toBe(false);
  });

  it('holds back only an incomplete trailing event', () => {
    const stripper = createUsageStripper();
    expect(stripper.push(Buffer.from('data: {"choices":[{"delta":{"content":"a"}}],"usage":null}\n')).length).toBe(0);
    expect(stripper.push(Buffer.from('\ndata: {"cho')).toString()).toBe('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
    expect(stripper.push(Buffer.from('ices":[],"usage":{"prompt_tokens":1}}\n\ndata: [DONE]\n\n')).toString()).toBe(
      'data: [DONE]\n\n',
    );
    expect(stripper.end().length).toBe(0);
  });

  it('treats an event ended by a bare CR as complete, and drops the LF that follows a dropped event', () => {
    const stripper = createUsageStripper();
    expect(stripper.push(Buffer.from('data: {"choices":[],"usage":{"total_tokens":2}}\r\r')).length).toBe(0);
    expect(stripper.push(Buffer.from('\ndata: [DONE]\r\n\r\n')).toString()).toBe('data: [DONE]\r\n\r\n');
    const keeper = createUsageStripper();
    expect(keeper.push(Buffer.from('data: {"choices":[1],"usage":null}\r\r')).toString()).toBe('data: {"choices":[1]}\r\r');
    expect(keeper.push(Buffer.from('\n')).toString()).toBe('\n');
  });

  it('passes through comments, non-JSON data, [DONE] and chunks without choices', () => {
    const passthrough = [
      ': keep-alive\n\n',
      'data: not json\n\n',
      'event: custom\ndata: {"type":"x"}\n\n',
      'data: {"choices":[],"created":0,"id":"","model":"","prompt_filter_results":[]}\n\n',
      'data: {"choices":[],"usage":null}\n\n'.replace('"usage":null', '"usage":"n/a"'),
      '\n\n',
      'data: [DONE]\n\n',
    ].join('');
    expect(strip([Buffer.from(passthrough)]).output.toString()).toBe(passthrough);
  });

  it('strips a chunk whose content is not ASCII; a broken one loses the member only in the compact layout', () => {
    const utf8 = 'data: {"choices":[{"delta":{"content":"café 🚀 \\"x\\""}}],"usage":null}\n\n';
    expect(strip([Buffer.from(utf8, 'utf8')]).output.toString('utf8')).toBe('data: {"choices":[{"delta":{"content":"café 🚀 \\"x\\""}}]}\n\n');
    // Cut without a parse: the client loses the bytes the option added, as from a valid chunk.
    const compact = 'data: {"choices":[{"delta":{"content":"a"}],"usage":null}\n\n';
    expect(strip([Buffer.from(compact)]).output.toString()).toBe('data: {"choices":[{"delta":{"content":"a"}]}\n\n');
    // Any other layout is parsed first, and broken JSON is left as it came.
    const other = 'data: {"usage":null,"choices":[{"delta":{"content":"a"}]}\n\n';
    expect(strip([Buffer.from(other)]).output.toString()).toBe(other);
  });

  it('cuts the compact layout only where the member is surely top-level, and parses the rest', () => {
    const cases: [string, string][] = [
      // string members after it, as OpenAI's obfuscation
      ['{"a":1,"usage":null,"obfuscation":"kSx18"}', '{"a":1,"obfuscation":"kSx18"}'],
      ['{"a":1,"usage":null,"x":"","obfuscation":"k"}', '{"a":1,"x":"","obfuscation":"k"}'],
      // an escape in what follows: parsed, still cut exactly
      ['{"a":1,"usage":null,"obfuscation":"k\\"x"}', '{"a":1,"obfuscation":"k\\"x"}'],
      // a nested object ending in the same text: not top-level, left alone
      ['{"a":{"b":1,"usage":null}}', '{"a":{"b":1,"usage":null}}'],
      ['{"a":{"b":1,"usage":null},"obfuscation":"k"}', '{"a":{"b":1,"usage":null},"obfuscation":"k"}'],
      // inside a string: left alone
      ['{"a":"x,\\"usage\\":null}"}', '{"a":"x,\\"usage\\":null}"}'],
      // a number after it: not the compact layout, parsed and cut
      ['{"a":1,"usage":null,"n":2}', '{"a":1,"n":2}'],
    ];
    for (const [chunk, expected] of cases) {
      expect(strip([Buffer.from(`data: ${chunk}\n\n`)]).output.toString()).toBe(`data: ${expected}\n\n`);
    }
  });

  it('removes only the top-level usage member, never text that looks like it', () => {
    const event =
      'data: {"choices":[{"delta":{"content":"say \\"usage\\":null, ok","tool":{"usage":null}}}],"usage":null,"obfuscation":"x"}\n\n';
    expect(strip([Buffer.from(event)]).output.toString()).toBe(
      'data: {"choices":[{"delta":{"content":"say \\"usage\\":null, ok","tool":{"usage":null}}}],"obfuscation":"x"}\n\n',
    );
  });

  it('drops a usage chunk whose JSON spans several data lines', () => {
    const events = 'data: {"choices":[],\ndata: "usage":{"prompt_tokens":1}}\n\ndata: [DONE]\n\n';
    expect(strip([Buffer.from(events)]).output.toString()).toBe('data: [DONE]\n\n');
  });

  it('transforms an unterminated final event at end()', () => {
    expect(strip([Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":1}}')]).output.length).toBe(0);
    expect(strip([Buffer.from('data: {"choices":[{}],"usage":null}')]).output.toString()).toBe('data: {"choices":[{}]}');
    expect(strip([Buffer.from('data: [DONE]')]).output.toString()).toBe('data: [DONE]');
  });

  it('makes the completions stream parse like a stream requested without usage', () => {
    const completions = loadFixture('openai', 'completions-stream').response;
    const original = parseSseText(completions);
    const stripped = parseSseText(strip(splitAtRandom(completions, 5, 9)).output);
    expect(stripped).toHaveLength(original.length - 1);
    for (const event of stripped) {
      if (event.data === '[DONE]') continue;
      const json = JSON.parse(event.data) as Record<string, unknown>;
      expect('usage' in json).toBe(false);
      expect(json.choices).not.toEqual([]);
    }
  });
});

describe('the accounting and the stripper on one stream, as the proxy runs them', () => {
  const upstream = loadFixture('openai', 'chat-stream-usage').response;
  const clientExpects = loadFixture('openai', 'chat-stream-no-usage').response;

  /** For each upstream chunk the accounting keeps a copy and the stripper forwards; the answer is read at the end. */
  function run(pieces: readonly Buffer[]): { output: string; answer: ParsedResponse; stripperParses: number } {
    const accounting = new ResponseAccounting('chat.completions', 'openai', 200, true);
    const stripper = createUsageStripper();
    const out: Buffer[] = [];
    const spy = jest.spyOn(JSON, 'parse');
    let stripperParses: number;
    try {
      for (const piece of pieces) {
        accounting.push(piece);
        out.push(stripper.push(piece));
      }
      out.push(stripper.end());
      stripperParses = spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
    return { output: Buffer.concat(out).toString('utf8'), answer: accounting.result(), stripperParses };
  }

  it('gives the client the bytes it would have had without include_usage, and the accounting the usage', () => {
    const { output, answer, stripperParses } = run([upstream]);
    expect(output).toBe(clientExpects.toString('utf8'));
    expect(answer.usage).not.toBeNull();
    expect(answer.text.length).toBeGreaterThan(0);
    // Compact chunks ending in `,"usage":null}` are cut without a parse: only the usage chunk is parsed.
    expect(stripperParses).toBe(1);
  });

  it('stays exact however the stream is split', () => {
    const { stripperParses: _whole, ...expected } = run([upstream]);
    const same = (pieces: readonly Buffer[]): void => {
      const { stripperParses: _, ...got } = run(pieces);
      expect(got).toEqual(expected);
    };
    for (let seed = 1; seed <= 20; seed++) same(splitAtRandom(upstream, seed, 1 + ((seed * 5) % 61)));
    same(splitEveryByte(upstream));
  });
});

describe('createUsageStripper with maxEventChars', () => {
  it('stops holding back a line that never ends: what it held goes out and the rest passes unchanged', () => {
    const stripper = createUsageStripper({ maxEventChars: 1_000 });
    const out: Buffer[] = [stripper.push(Buffer.from('data: {"a":1,"usage":null}\n\ndata: '))];
    for (let i = 0; i < 100; i++) out.push(stripper.push(Buffer.alloc(100, 0x7a)));
    expect(stripper.abandoned).toBe(true);
    out.push(stripper.push(Buffer.from('\n\n')), stripper.end());
    expect(Buffer.concat(out).toString()).toBe(`data: {"a":1}\n\ndata: ${'z'.repeat(10_000)}\n\n`);
  });
});

