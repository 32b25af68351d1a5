import { ftsMatchExpression } from '../adapters/sqlite-index';
import { backoffMs, bulkBody, classifyBulkItems } from './es-bulk';
import { esSearchBody } from './es-query';
import { markFragment, parseSearchQuery, type SearchQueryError, tokenize } from './search-query';
import { toAuditDocument } from './audit-document';
import { buildRedactor } from '../../shared/redaction/redaction-config';
import { sampleEvent } from '../../../test/support/sample-event';

const parse = (qs: string) => parseSearchQuery(new URLSearchParams(qs));
const errorOf = (qs: string): SearchQueryError => {
  try {
    parse(qs);
  } catch (err) {
    return err as SearchQueryError;
  }
  throw new Error('no error');
};

describe('parseSearchQuery', () => {
  it('splits words, quoted phrases and inline filters', () => {
    const q = parse(`q=${encodeURIComponent('Refund "order number 42" user:alice status:5xx GPT-4o')}`);
    expect(q.terms).toEqual(['refund']);
    expect(q.phrases).toEqual([
      ['gpt', '4o'],
      ['order', 'number', '42'],
    ]);
    expect(q.user).toBe('alice');
    expect(q.status).toEqual({ kind: 'class', min: 500, max: 599 });
    expect(q).toMatchObject({ limit: 20, offset: 0, from: null, to: null });
  });

  it('takes filters as parameters, times as ISO or epoch ms', () => {
    const q = parse('q=&model=gpt-4o&upstream=openai&status=error&from=2025-01-01T00:00:00Z&to=1735776000000&limit=5&offset=10');
    expect(q).toMatchObject({ model: 'gpt-4o', upstream: 'openai', status: { kind: 'outcome', outcome: 'error' }, limit: 5, offset: 10 });
    expect(q.from).toBe(Date.UTC(2025, 0, 1));
    expect(q.to).toBe(1735776000000);
  });

  it('names the bad parameter', () => {
    expect(errorOf('status=7xx').parameter).toBe('status');
    expect(errorOf('from=yesterday').parameter).toBe('from');
    expect(errorOf('from=2000&to=1000').parameter).toBe('from');
    expect(errorOf('limit=0').parameter).toBe('limit');
    expect(errorOf('limit=101').parameter).toBe('limit');
    expect(errorOf('offset=9990&limit=20').parameter).toBe('offset');
    expect(errorOf('q=user:a&user=b').parameter).toBe('user');
    expect(errorOf(`q=${'x'.repeat(2001)}`).parameter).toBe('q');
  });

  it('tokenizes like both backends: letters and digits, lowercased, any script', () => {
    expect(tokenize('Hello, Wörld! 😀 日本 x_y')).toEqual(['hello', 'wörld', '日本', 'x', 'y']);
  });
});

describe('backend translations', () => {
  it('builds the FTS5 expression with every term and phrase quoted', () => {
    expect(ftsMatchExpression(parse(`q=${encodeURIComponent('a "b c"')}`))).toBe('"a" AND "b c"');
  });

  it('builds an Elasticsearch query with the same filters, newest first', () => {
    const body = esSearchBody(parse('q=refund&user=alice&status=404&from=1000')) as {
      query: { bool: { must: unknown[]; filter: unknown[] } };
      sort: unknown[];
    };
    expect(body.query.bool.must).toHaveLength(1);
    expect(body.query.bool.filter).toEqual([
      { term: { user: 'alice' } },
      { term: { status: 404 } },
      { range: { '@timestamp': { gte: 1000, format: 'epoch_millis' } } },
    ]);
    expect(body.sort[0]).toEqual({ '@timestamp': { order: 'desc' } });
  });

  it('escapes fragments and marks matches', () => {
    expect(markFragment('a <b> \u0002hit\u0003 & c', '\u0002', '\u0003')).toBe('a &lt;b&gt; <mark>hit</mark> &amp; c');
  });
});

describe('bulk', () => {
  it('creates each document under its event id in the index of its day (never replacing one)', () => {
    const doc = toAuditDocument(sampleEvent(), buildRedactor(undefined, 'mask'));
    const [action, source] = bulkBody('llm-inference', [doc]).trim().split('\n');
    expect(JSON.parse(action!)).toEqual({ create: { _index: 'llm-inference-2023.11.14', _id: doc.event_id } });
    expect(JSON.parse(source!).event_id).toBe(doc.event_id);
  });

  it('retries 429 and 5xx items, rejects the others with the reason', () => {
    const v = classifyBulkItems([
      { index: { status: 201 } },
      { index: { status: 429, error: { type: 'es_rejected_execution_exception' } } },
      { index: { status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse', caused_by: { type: 'x', reason: 'y' } } } },
      { index: { status: 503 } },
    ]);
    expect(v.retry).toEqual([1, 3]);
    expect(v.rejected).toEqual([{ position: 2, reason: '400 mapper_parsing_exception: failed to parse (x: y)' }]);
  });

  it('counts a create that finds the document already there (409) as done', () => {
    const v = classifyBulkItems([
      { create: { status: 201 } },
      { create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'document already exists' } } },
      { create: { status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad' } } },
    ]);
    expect(v).toEqual({ retry: [], rejected: [{ position: 2, reason: '400 mapper_parsing_exception: bad' }] });
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(0, 0)).toBe(50);
    expect(backoffMs(3, 1)).toBe(800);
    expect(backoffMs(20, 1)).toBe(5000);
  });
});
