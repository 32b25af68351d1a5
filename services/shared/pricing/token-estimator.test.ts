import type { Tiktoken, TiktokenBPE } from 'js-tiktoken/lite' with { 'resolution-mode': 'import' };

import { encodingForModel, estimateTokens, pieces } from './token-estimator';

let reference: Tiktoken | undefined;

/** Encodes the text in one go, as a reference for the piecewise estimate. */
function encodeWhole(text: string): number {
  if (reference === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's types are ESM-only; the CJS build is what runs
    const lite = require('js-tiktoken/lite') as { Tiktoken: typeof Tiktoken };
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- same as above
    reference = new lite.Tiktoken(require('js-tiktoken/ranks/o200k_base') as TiktokenBPE);
  }
  return reference.encode(text, [], []).length;
}

describe('encodingForModel', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['gpt-35-turbo', 'cl100k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo-2024-04-09', 'cl100k_base'],
    ['GPT-4-0613', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
    ['claude-sonnet-4-5', 'o200k_base'],
    ['llama3.1:8b', 'o200k_base'],
    [null, 'o200k_base'],
  ])('%p uses %s', (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding);
  });
});

describe('estimateTokens', () => {
  it('counts known strings exactly', () => {
    expect(estimateTokens('gpt-4o', 'hello world')).toBe(2);
    expect(estimateTokens('gpt-3.5-turbo', 'hello world')).toBe(2);
    expect(estimateTokens(null, 'hello world')).toBe(2);
  });

  it('is zero for empty text', () => {
    expect(estimateTokens('gpt-4o', '')).toBe(0);
  });

  it('counts special-token markers in user text as plain text', () => {
    expect(estimateTokens('gpt-4o', 'a <|endoftext|> b')).toBeGreaterThan(3);
  });

  it('matches a whole-text encoding when long text is split into pieces', () => {
    const words = ['alpha', 'beta', 'gamma', 'delta', '\n\n', 'epsilon', '  ', 'zeta', 'résumé', '数据', '🙂'];
    const text = Array.from({ length: 3_000 }, (_, i) => words[i % words.length]).join(' ');
    expect(text.length).toBeGreaterThan(10_000);
    expect(estimateTokens('gpt-4o', text)).toBe(encodeWhole(text));
  });

  it.each([
    ['one unbroken run', 'a'.repeat(50_000)],
    // Long words between spaces: each window has whitespace, but the runs before it are long.
    ['long words between spaces', ('alpha'.repeat(400) + ' ').repeat(1_000)],
    ['only whitespace', ' '.repeat(1_000_000)],
    ['a huge text', 'The quick brown fox jumps over the lazy dog. '.repeat(700_000)],
  ])('stays fast on %s', (_name, text) => {
    // Encoded whole (or in long pieces), such text took from seconds to minutes. The bound is
    // generous (tens of ms expected) so that only that blow-up misses it, not a loaded machine.
    const started = performance.now();
    expect(estimateTokens('gpt-4o', text)).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('estimates text over its exact-count limit from samples, closely', () => {
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'résumé', '数据'];
    const text = Array.from({ length: 60_000 }, (_, i) => words[(i * 5) % words.length]).join(' ');
    expect(text.length).toBeGreaterThan(300_000);
    const whole = encodeWhole(text);
    const estimate = estimateTokens('gpt-4o', text);
    expect(Math.abs(estimate - whole) / whole).toBeLessThan(0.02);
  });

  it('cuts no surrogate pair in two', () => {
    const text = 'x' + '🙂'.repeat(200); // one unbroken run, longer than a run is kept, its pairs at odd offsets
    const cut = pieces(text);
    expect(cut.length).toBeGreaterThan(1);
    expect(cut.join('')).toBe(text);
    for (const piece of cut) expect(piece.charCodeAt(0)).not.toBe(0xde42); // the second half of 🙂
  });

  it('cuts long text where whitespace runs begin, and long runs where they stand', () => {
    const cut = pieces(('word '.repeat(300) + 'z'.repeat(150) + '   ').repeat(3));
    expect(cut.join('')).toBe(('word '.repeat(300) + 'z'.repeat(150) + '   ').repeat(3));
    for (const piece of cut) {
      expect(piece.length).toBeLessThanOrEqual(1024 + 64);
      expect(/\S{65}|\s{65}/.test(piece)).toBe(false);
    }
    expect(cut.filter((p) => /^\s/.test(p)).length).toBeGreaterThan(0);
  });

  it('estimates unbroken runs closely', () => {
    const blob = Array.from({ length: 20_000 }, (_, i) => 'QWxhZGRpbjpvcGVuIHNlc2FtZQ=='[(i * 7) % 28]).join('');
    const whole = encodeWhole(blob);
    const estimate = estimateTokens('gpt-4o', blob);
    expect(estimate).toBeGreaterThanOrEqual(whole);
    expect(estimate).toBeLessThanOrEqual(whole * 1.05);
  });
});
