import type { Tiktoken, TiktokenBPE } from 'js-tiktoken/lite' with { 'resolution-mode': 'import' };

import { encodingForModel, estimateTokens } from './token-estimator';

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

  it('stays linear on a long unbroken run', () => {
    // Encoded whole, this run takes minutes: byte-pair merging is quadratic in it.
    const started = Date.now();
    expect(estimateTokens('gpt-4o', 'a'.repeat(50_000))).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('estimates unbroken runs closely', () => {
    const blob = Array.from({ length: 20_000 }, (_, i) => 'QWxhZGRpbjpvcGVuIHNlc2FtZQ=='[(i * 7) % 28]).join('');
    const whole = encodeWhole(blob);
    const estimate = estimateTokens('gpt-4o', blob);
    expect(estimate).toBeGreaterThanOrEqual(whole);
    expect(estimate).toBeLessThanOrEqual(whole * 1.05);
  });
});
