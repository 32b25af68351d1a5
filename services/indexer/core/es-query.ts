import type { SearchQuery, StatusFilter } from './search-query';

/** The Elasticsearch query for a parsed search (same meaning as the embedded index's). */

const TEXT_FIELDS = ['prompt', 'response', 'error_message'];

function statusClause(s: StatusFilter): Record<string, unknown> {
  if (s.kind === 'code') return { term: { status: s.code } };
  if (s.kind === 'class') return { range: { status: { gte: s.min, lte: s.max } } };
  return { term: { outcome: s.outcome } };
}

export function esSearchBody(q: SearchQuery): Record<string, unknown> {
  const must: Record<string, unknown>[] = [];
  for (const t of q.terms) must.push({ multi_match: { query: t, fields: TEXT_FIELDS, operator: 'and' } });
  for (const p of q.phrases) must.push({ multi_match: { query: p.join(' '), fields: TEXT_FIELDS, type: 'phrase' } });
  const filter: Record<string, unknown>[] = [];
  if (q.user !== null) filter.push({ term: { user: q.user } });
  if (q.app !== null) filter.push({ term: { app: q.app } });
  if (q.upstream !== null) filter.push({ term: { upstream: q.upstream } });
  if (q.model !== null) {
    filter.push({
      bool: { should: ['model', 'request_model', 'response_model'].map((f) => ({ term: { [f]: q.model } })), minimum_should_match: 1 },
    });
  }
  if (q.status !== null) filter.push(statusClause(q.status));
  if (q.from !== null || q.to !== null) {
    filter.push({
      range: { '@timestamp': { ...(q.from !== null ? { gte: q.from } : {}), ...(q.to !== null ? { lt: q.to } : {}), format: 'epoch_millis' } },
    });
  }
  return {
    query: { bool: { must: must.length > 0 ? must : [{ match_all: {} }], filter } },
    sort: [{ '@timestamp': { order: 'desc' } }, { event_id: { order: 'desc' } }],
    from: q.offset,
    size: q.limit,
    track_total_hits: true,
    _source: ['event_id', '@timestamp', 'user', 'app', 'model', 'upstream', 'status', 'outcome', 'latency_ms', 'cost_usd'],
    highlight: {
      encoder: 'html',
      pre_tags: ['<mark>'],
      post_tags: ['</mark>'],
      fields: Object.fromEntries(TEXT_FIELDS.map((f) => [f, { fragment_size: 160, number_of_fragments: 2 }])),
    },
  };
}
