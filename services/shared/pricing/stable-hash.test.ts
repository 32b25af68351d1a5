import { stableHash } from './stable-hash';

describe('stableHash', () => {
  it('is a short hex digest', () => {
    expect(stableHash({ a: 1 })).toMatch(/^[0-9a-f]{12}$/);
  });

  it('ignores object key order and undefined fields', () => {
    expect(stableHash({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(
      stableHash({ b: [1, { d: 3, c: 2 }], a: 1, e: undefined }),
    );
  });

  it('changes with values and array order', () => {
    expect(stableHash({ a: 1 })).not.toBe(stableHash({ a: 2 }));
    expect(stableHash([1, 2])).not.toBe(stableHash([2, 1]));
  });
});
