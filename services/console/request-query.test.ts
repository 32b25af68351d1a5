import {
  DEFAULT_LIMIT,
  encodeCursor,
  isQueryError,
  MAX_LIMIT,
  parseRequestQuery,
  type QueryError,
  type RequestQuery,
} from './request-query';

function query(qs: string): RequestQuery {
  const q = parseRequestQuery(new URLSearchParams(qs));
  if (isQueryError(q)) throw new Error(`unexpected error for ${qs}: ${q.parameter}: ${q.message}`);
  return q;
}

function error(qs: string): QueryError {
  const q = parseRequestQuery(new URLSearchParams(qs));
  if (!isQueryError(q)) throw new Error(`expected ${qs} to be refused`);
  return q;
}

const EVENT_ID = '01890a5d-ac96-774b-bcce-b302099a8057';

describe('parseRequestQuery', () => {
  it('has no filters and the default limit without parameters', () => {
    expect(query('')).toEqual({
      user: null,
      app: null,
      model: null,
      servedModel: null,
      upstream: null,
      status: null,
      from: null,
      to: null,
      limit: DEFAULT_LIMIT,
      before: null,
    });
  });

  it('reads the text filters, treating empty values as absent', () => {
    expect(query('user=alice&app=search&model=gpt-4o&served_model=gpt-4o-2024-08-06&upstream=openai')).toMatchObject({
      user: 'alice',
      app: 'search',
      model: 'gpt-4o',
      servedModel: 'gpt-4o-2024-08-06',
      upstream: 'openai',
    });
    expect(query('user=&app=')).toMatchObject({ user: null, app: null });
  });

  it('decodes percent-encoded values', () => {
    expect(query('user=a%20b%40c').user).toBe('a b@c');
  });

  it('refuses an unknown parameter, naming it', () => {
    const e = error('user=alice&usr=bob');
    expect(e.parameter).toBe('usr');
    expect(e.message).toContain('usr');
  });

  describe('status', () => {
    it.each([
      ['200', { kind: 'code', code: 200 }],
      ['429', { kind: 'code', code: 429 }],
      ['4xx', { kind: 'class', min: 400, max: 499 }],
      ['5XX', { kind: 'class', min: 500, max: 599 }],
      ['ok', { kind: 'outcome', outcome: 'ok' }],
      ['error', { kind: 'outcome', outcome: 'error' }],
      ['cancelled', { kind: 'outcome', outcome: 'cancelled' }],
    ])('reads status=%s', (value, expected) => {
      expect(query(`status=${value}`).status).toEqual(expected);
    });

    it.each(['600', '99', '20', '2000', '6xx', 'x', 'errors'])('refuses status=%s', (value) => {
      const e = error(`status=${value}`);
      expect(e.parameter).toBe('status');
      expect(e.message).toContain('status');
    });
  });

  describe('from and to', () => {
    it('reads epoch milliseconds and ISO-8601 times', () => {
      expect(query('from=1700000000000&to=2024-05-01T10:00:00Z')).toMatchObject({
        from: 1_700_000_000_000,
        to: Date.UTC(2024, 4, 1, 10),
      });
    });

    it.each(['from', 'to'])('refuses a bad %s, naming it', (name) => {
      const e = error(`${name}=not-a-time`);
      expect(e.parameter).toBe(name);
      expect(e.message).toContain(name);
    });
  });

  describe('limit', () => {
    it('reads limits from 1 to the maximum', () => {
      expect(query('limit=1').limit).toBe(1);
      expect(query(`limit=${MAX_LIMIT}`).limit).toBe(MAX_LIMIT);
    });

    it.each(['0', '-1', String(MAX_LIMIT + 1), '2.5', 'ten'])('refuses limit=%s', (value) => {
      const e = error(`limit=${value}`);
      expect(e.parameter).toBe('limit');
      expect(e.message).toContain(String(MAX_LIMIT));
    });
  });

  describe('before', () => {
    it('round-trips a cursor made by encodeCursor', () => {
      const cursor = encodeCursor(1_700_000_000_123, EVENT_ID);
      expect(query(`before=${cursor}`).before).toEqual({ startedAt: 1_700_000_000_123, eventId: EVENT_ID });
    });

    it('produces cursors that need no escaping in a query string', () => {
      const cursor = encodeCursor(1_700_000_000_123, EVENT_ID);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it.each([
      ['garbage', 'not-a-cursor'],
      ['no event id', Buffer.from('1700000000000:').toString('base64url')],
      ['no time', Buffer.from(`:${EVENT_ID}`).toString('base64url')],
      ['a negative time', Buffer.from(`-1:${EVENT_ID}`).toString('base64url')],
      ['a short event id', Buffer.from('1:abc').toString('base64url')],
    ])('refuses a cursor with %s', (_label, value) => {
      const e = error(`before=${value}`);
      expect(e.parameter).toBe('before');
      expect(e.message).toContain('before');
    });
  });
});
