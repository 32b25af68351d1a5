import { boundedMemo } from './bounded-memo';

describe('boundedMemo', () => {
  it('computes each key once, including null results', () => {
    const calls: string[] = [];
    const f = boundedMemo(10, (k: string) => {
      calls.push(k);
      return k === 'none' ? null : k.length;
    });
    expect([f('abc'), f('abc'), f('none'), f('none')]).toEqual([3, 3, null, null]);
    expect(calls).toEqual(['abc', 'none']);
  });

  it('never holds more than maxKeys entries: it starts over when full', () => {
    const calls: number[] = [];
    const f = boundedMemo(2, (k: number) => (calls.push(k), k * 2));
    [1, 2, 3, 1].forEach((k) => f(k));
    expect(calls).toEqual([1, 2, 3, 1]);
  });
});
