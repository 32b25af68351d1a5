import { SessionStore } from './session-store';

/** Sessions with an injected clock: expiry, revocation, tokens taken out of the configuration. */

const client = { ip: '127.0.0.1', userAgent: 'test' };

test('a session is found by its secret until it expires, then it is gone', () => {
  let now = 1_000_000;
  const store = new SessionStore(':memory:', () => now);
  const { secret, session } = store.create('digest-a', 'alice', 60_000, client);
  expect(session).toMatchObject({ name: 'alice', credential: 'digest-a', expiresAt: 1_060_000 });
  expect(secret).toMatch(/^[\w-]{43}$/);
  expect(store.lookup(secret)?.handle).toBe(session.handle);
  expect(store.lookup(`${secret}x`)).toBeNull();
  now += 60_000;
  expect(store.lookup(secret)).toBeNull();
  expect(store.list()).toEqual([]);
  store.close();
});

test('sign-out, an admin revocation by handle or by name end sessions; others stay', () => {
  const store = new SessionStore(':memory:');
  const a = store.create('d1', 'alice', 60_000, client);
  const b = store.create('d1', 'alice', 60_000, client);
  const c = store.create('d2', 'bob', 60_000, client);
  const d = store.create('d2', 'bob', 60_000, client);
  expect(store.revokeSecret(a.secret)).toBe(true);
  expect(store.lookup(a.secret)).toBeNull();
  expect(store.revokeHandle(c.session.handle)).toBe(true);
  expect(store.revokeHandle(c.session.handle)).toBe(false);
  expect(store.revokeName('alice')).toBe(1);
  expect(store.lookup(b.secret)).toBeNull();
  expect(store.list().map((s) => s.handle)).toEqual([d.session.handle]);
  store.close();
});

test('retain ends the sessions of tokens no longer configured', () => {
  const store = new SessionStore(':memory:');
  const kept = store.create('kept', 'alice', 60_000, client);
  const removed = store.create('removed', 'bob', 60_000, client);
  expect(store.retain(new Set(['kept']))).toBe(1);
  expect(store.lookup(kept.secret)).not.toBeNull();
  expect(store.lookup(removed.secret)).toBeNull();
  store.close();
});
