import { sampleEvent } from '../../../test/support/sample-event';
import { checkUser, decodeErasure, encodeErasure, ErasureList, ERASED_FIELDS, hasBodies, stripBodies } from './erasure';

test('stripping empties exactly the erased fields and keeps every other one', () => {
  const e = sampleEvent({ error_message: 'the prompt quoted back', tool_calls: '[{"name":"f"}]' });
  const s = stripBodies(e);
  for (const f of ERASED_FIELDS) expect(s[f]).toBeNull();
  const kept = Object.keys(e).filter((k) => !(ERASED_FIELDS as readonly string[]).includes(k));
  for (const k of kept) expect(s[k as keyof typeof s]).toEqual(e[k as keyof typeof e]);
  expect(hasBodies(e)).toBe(true);
  expect(hasBodies(s)).toBe(false);
  expect(e.request_body).not.toBeNull(); // a copy: the original is untouched
});

test('an erasure covers the user calls that started at or before it, and only those', () => {
  const list = new ErasureList();
  expect(list.add({ user: 'alice', erased_at: 1_000, source: 'cli' })).toBe(true);
  expect(list.covers('alice', 1_000)).toBe(true);
  expect(list.covers('alice', 1_001)).toBe(false); // a call after the erase is new data
  expect(list.covers('bob', 0)).toBe(false);
  expect(list.covers(null, 0)).toBe(false);
  const before = sampleEvent({ user: 'alice', started_at: 999 });
  expect(list.apply(before).request_body).toBeNull();
  const after = sampleEvent({ user: 'alice', started_at: 2_000 });
  expect(list.apply(after)).toBe(after);
});

test('the newest erasure of a user wins; an older or repeated one changes nothing', () => {
  const list = new ErasureList();
  const seen: number[] = [];
  list.onChange((e) => seen.push(e.erased_at));
  list.add({ user: 'alice', erased_at: 1_000, source: 'cli' });
  expect(list.add({ user: 'alice', erased_at: 500, source: 'cli' })).toBe(false);
  expect(list.add({ user: 'alice', erased_at: 1_000, source: 'console' })).toBe(false);
  expect(list.generation).toBe(1);
  list.add({ user: 'alice', erased_at: 3_000, source: 'cli' });
  expect(list.erasedAt('alice')).toBe(3_000);
  expect(seen).toEqual([1_000, 3_000]);
});

test('erasure records round-trip; a bad one is refused naming the field', () => {
  const e = { user: 'ünïcode user', erased_at: 1_700_000_000_000, source: 'console' };
  expect(decodeErasure(encodeErasure(e))).toEqual(e);
  expect(() => decodeErasure(Buffer.from('{"user":"","erased_at":1}'))).toThrow('"user"');
  expect(() => decodeErasure(Buffer.from('{"user":"a","erased_at":"soon"}'))).toThrow('"erased_at"');
  expect(() => decodeErasure(Buffer.from('not json'))).toThrow();
});

test('a user id must be a non-empty string of bounded length', () => {
  expect(checkUser('alice')).toBeNull();
  expect(checkUser('')).toMatch(/empty/);
  expect(checkUser(42)).toMatch(/string/);
  expect(checkUser('x'.repeat(1025))).toMatch(/1024/);
});
