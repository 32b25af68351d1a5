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

