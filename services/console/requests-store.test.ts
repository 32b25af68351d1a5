import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { outcomeOf } from '../shared/event/call-status';
import { sampleEvent } from '../../test/support/sample-event';
import { isQueryError, parseRequestQuery, type RequestQuery } from './request-query';
import { RequestsStore } from './requests-store';

const calls = [
  sampleEvent({ event_id: 'ok-200', http_status: 200, error_class: null, client_cancelled: false }),
  sampleEvent({ event_id: 'upstream-429', http_status: 429, error_class: null, client_cancelled: false }),
  sampleEvent({ event_id: 'upstream-503', http_status: 503, error_class: null, client_cancelled: false }),
  sampleEvent({ event_id: 'timeout', http_status: null, error_class: 'upstream_timeout', client_cancelled: false }),
  sampleEvent({ event_id: 'cancelled', http_status: 200, error_class: null, client_cancelled: true }),
].map((e, i) => ({ ...e, started_at: e.started_at + i }));

function query(params: string): RequestQuery {
  const q = parseRequestQuery(new URLSearchParams(params));
  if (isQueryError(q)) throw new Error(q.message);
  return q;
}

describe('RequestsStore status filter', () => {
  const store = new RequestsStore(':memory:');
  store.put(calls);
  const ids = (params: string): string[] => store.list(query(params)).map((r) => r.event_id).sort();

  it.each(['ok', 'error', 'cancelled'] as const)('status=%s finds exactly the calls whose outcome it is (as the audit search)', (outcome) => {
    expect(ids(`status=${outcome}`)).toEqual(calls.filter((e) => outcomeOf(e) === outcome).map((e) => e.event_id).sort());
  });

  it('reads codes and classes from the HTTP status', () => {
    expect(ids('status=429')).toEqual(['upstream-429']);
    expect(ids('status=4xx')).toEqual(['upstream-429']);
    expect(ids('status=5xx')).toEqual(['upstream-503']);
    expect(ids('status=2xx')).toEqual(['cancelled', 'ok-200']);
  });
});

describe('RequestsStore window', () => {
  const HOUR = 3_600_000;
  const now = 1_800_000_000_000;
  const call = (id: string, hoursAgo: number) => sampleEvent({ event_id: id, started_at: now - hoursAgo * HOUR });
  const all = (store: RequestsStore): string[] => store.list(query('limit=1000')).map((r) => r.event_id).sort();

  it('does not store calls that started before its window', () => {
    const store = new RequestsStore(':memory:', 24 * HOUR);
    store.put([call('recent', 1), call('edge', 24), call('old', 25)], now);
    expect(all(store)).toEqual(['edge', 'recent']);
    expect(store.get('old')).toBeNull();
  });

  it('prunes the calls that aged out, in chunks, and keeps the rest', () => {
    const store = new RequestsStore(':memory:', 24 * HOUR);
    store.put([...Array.from({ length: 25 }, (_, i) => call(`c${String(i).padStart(2, '0')}`, i)), call('newest', 0)], now);
    // Two hours later, the calls of hours 23 and 24 have aged out (22 is on the edge): two chunks of one.
    expect(store.prune(now + 2 * HOUR, 1)).toBe(2);
    expect(all(store)).toEqual([...Array.from({ length: 23 }, (_, i) => `c${String(i).padStart(2, '0')}`), 'newest']);
    expect(store.prune(now + 2 * HOUR)).toBe(0);
  });
});

describe('RequestsStore models', () => {
  // OpenAI answers gpt-4o with a dated snapshot; a failed call has no answer.
  const ok = sampleEvent({ event_id: 'ok', request_model: 'gpt-4o', response_model: 'gpt-4o-2024-08-06' });
  const failed = sampleEvent({ event_id: 'failed', request_model: 'gpt-4o', response_model: null, http_status: 500, error_class: 'server_error' });
  const unnamed = sampleEvent({ event_id: 'unnamed', request_model: null, response_model: 'text-embedding-3-small' });
  const ids = (store: RequestsStore, params: string): string[] => store.list(query(params)).map((r) => r.event_id).sort();

  it('model= finds the calls that asked for it, failed or not; served_model= the snapshot that answered', () => {
    const store = new RequestsStore(':memory:');
    store.put([ok, failed, unnamed]);
    expect(ids(store, 'model=gpt-4o')).toEqual(['failed', 'ok']);
    expect(ids(store, 'served_model=gpt-4o-2024-08-06')).toEqual(['ok']);
    expect(ids(store, 'model=gpt-4o-2024-08-06')).toEqual([]);
    // A call that named no model goes by the model that answered it.
    expect(ids(store, 'model=text-embedding-3-small')).toEqual(['unnamed']);
    const summaries = new Map(store.list(query('limit=10')).map((r) => [r.event_id, r]));
    expect(summaries.get('ok')).toMatchObject({ model: 'gpt-4o', served_model: 'gpt-4o-2024-08-06' });
    expect(summaries.get('failed')).toMatchObject({ model: 'gpt-4o', served_model: null });
  });

  it('opens a view written by an older console, moving its model column to the new meaning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'requests-store-'));
    const path = join(dir, 'requests.db');
    try {
      // The layout before served_model, with `model` holding the answered model.
      const old = new Database(path);
      old.exec(`CREATE TABLE requests (
        event_id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, upstream TEXT NOT NULL, model TEXT,
        user TEXT, app TEXT, http_status INTEGER, error_class TEXT, event_json TEXT NOT NULL);
        CREATE INDEX requests_model ON requests (model, started_at DESC);`);
      const insert = old.prepare('INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      for (const e of [ok, failed]) {
        insert.run(e.event_id, e.started_at, e.upstream, e.response_model ?? e.request_model, e.user, e.app, e.http_status, e.error_class, JSON.stringify(e));
      }
      old.close();

      const store = new RequestsStore(path);
      expect(ids(store, 'model=gpt-4o')).toEqual(['failed', 'ok']);
      expect(ids(store, 'served_model=gpt-4o-2024-08-06')).toEqual(['ok']);
      store.put([unnamed]);
      store.close();
      // Opened again: nothing to migrate, nothing lost.
      const again = new RequestsStore(path);
      expect(ids(again, 'model=gpt-4o')).toEqual(['failed', 'ok']);
      expect(ids(again, 'served_model=text-embedding-3-small')).toEqual(['unnamed']);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RequestsStore first write wins', () => {
  it('keeps the first event of an id: a redelivery or a later event reusing the id changes nothing', () => {
    const store = new RequestsStore(':memory:');
    const now = Date.now();
    const first = sampleEvent({ event_id: 'same-id', started_at: now - 1_000, ended_at: now, user: 'alice', cost_micro_usd: 4 });
    store.put([first], now);
    store.put([first, sampleEvent({ event_id: 'same-id', started_at: now - 500, ended_at: now, user: 'mallory', cost_micro_usd: 9_000_000 })], now);
    expect(store.get('same-id')).toEqual(first);
    expect(store.count()).toBe(1);
    store.close();
  });
});

