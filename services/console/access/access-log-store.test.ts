import { v7 as uuidv7 } from 'uuid';
import { parseAccessQuery, type AccessQuery } from './access-query';
import { decodeAccessRecord, encodeAccessRecord, type AccessAction, type AccessRecord } from './access-record';
import { AccessLogStore } from './access-log-store';

const BASE = Date.now() - 3_600_000;

function record(i: number, actor: string, action: AccessAction, eventIds: string[] = []): AccessRecord {
  const at = BASE + i * 1000;
  return {
    v: 1,
    id: uuidv7({ msecs: at }),
    at: new Date(at).toISOString(),
    actor: { name: actor, role: 'auditor', via: 'token', email: null, groups: [] },
    action,
    event_ids: eventIds,
    query: action === 'search' ? `query ${i}` : null,
    filters: {},
    results: null,
    client: { ip: '127.0.0.1', forwarded_for: null, user_agent: null },
    console: 'test',
  };
}

const query = (params: Record<string, string>): AccessQuery => {
  const q = parseAccessQuery(new URLSearchParams(params));
  if ('parameter' in q) throw new Error(q.message);
  return q;
};

test('records round-trip through their JSON encoding; anything else decodes to null', () => {
  const r = record(1, 'alice', 'search');
  expect(decodeAccessRecord(encodeAccessRecord(r))).toEqual(r);
  expect(decodeAccessRecord(Buffer.from('{"v":2}'))).toBeNull();
  expect(decodeAccessRecord(Buffer.from('not json'))).toBeNull();
});

test('a redelivered record changes nothing; filters and pages find the rest, newest first', () => {
  const store = new AccessLogStore(':memory:');
  const ev = uuidv7();
  const records = [record(1, 'alice', 'request_bodies', [ev]), record(2, 'bob', 'search', [ev]), record(3, 'alice', 'search'), record(4, 'alice', 'live_text')];
  store.put(records);
  store.put(records.slice(0, 2));
  expect(store.count()).toBe(4);
  expect(store.list(query({})).map((r) => r.id)).toEqual(records.map((r) => r.id).reverse());
  expect(store.list(query({ actor: 'alice', action: 'search' })).map((r) => r.id)).toEqual([records[2]!.id]);
  expect(store.list(query({ event_id: ev })).map((r) => r.actor.name)).toEqual(['bob', 'alice']);
  expect(store.list(query({ from: String(BASE + 2000), to: String(BASE + 4000) })).length).toBe(2);
  const first = store.list(query({ limit: '3' }));
  const cursor = Buffer.from(`${Date.parse(first[2]!.at)}:${first[2]!.id}`).toString('base64url');
  expect(store.list(query({ limit: '3', before: cursor })).map((r) => r.id)).toEqual([records[0]!.id]);
  expect(store.prune(BASE + 2500)).toBe(2);
  expect(store.list(query({ event_id: ev }))).toEqual([]);
  store.close();
});

test('a bad parameter is named', () => {
  expect(parseAccessQuery(new URLSearchParams({ action: 'delete' }))).toMatchObject({ parameter: 'action' });
  expect(parseAccessQuery(new URLSearchParams({ limit: '0' }))).toMatchObject({ parameter: 'limit' });
  expect(parseAccessQuery(new URLSearchParams({ from: 'yesterday' }))).toMatchObject({ parameter: 'from' });
  expect(parseAccessQuery(new URLSearchParams({ before: 'zzz' }))).toMatchObject({ parameter: 'before' });
  expect(parseAccessQuery(new URLSearchParams({ who: 'x' }))).toMatchObject({ parameter: 'who' });
});
