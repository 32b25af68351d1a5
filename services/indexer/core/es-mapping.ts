/**
 * Elasticsearch index template and lifecycle policy for the audit index.
 * Explicit mappings: text for prompt/response with a keyword sub-field for
 * exact matches on short texts, keywords for the dimensions, dates, numbers,
 * and tags as `flattened` (one field however many tag names there are).
 */

export type TagsMapping = 'flattened' | 'object';

const keyword = { type: 'keyword' } as const;

export function auditMappings(tags: TagsMapping): Record<string, unknown> {
  return {
    dynamic: 'strict',
    properties: {
      event_id: keyword,
      '@timestamp': { type: 'date' },
      ended_at: { type: 'date' },
      user: keyword,
      app: keyword,
      session: keyword,
      trace_id: keyword,
      upstream: keyword,
      provider: keyword,
      endpoint: keyword,
      method: keyword,
      path: { type: 'keyword', ignore_above: 1024 },
      model: keyword,
      request_model: keyword,
      response_model: keyword,
      streamed: { type: 'boolean' },
      status: { type: 'short' },
      outcome: keyword,
      error_class: keyword,
      error_message: { type: 'text', norms: false, fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
      finish_reason: keyword,
      latency_ms: { type: 'double' },
      ttft_ms: { type: 'double' },
      input_tokens: { type: 'long' },
      output_tokens: { type: 'long' },
      cached_input_tokens: { type: 'long' },
      reasoning_tokens: { type: 'long' },
      usage_source: keyword,
      cost_usd: { type: 'double' },
      tags:
        tags === 'flattened'
          ? { type: 'flattened' }
          : // Without the flattened type (OSS builds), tag values are keywords under tags.<name>.
            { type: 'object', dynamic: true },
      gateway_instance: keyword,
      body_captured: { type: 'boolean' },
      body_truncated: { type: 'boolean' },
      // No norms: results are sorted by time, never by relevance, so length normalisation is wasted work.
      prompt: { type: 'text', norms: false, fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
      response: { type: 'text', norms: false, fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
      redacted: keyword,
    },
    dynamic_templates: [{ tag_values: { path_match: 'tags.*', mapping: { type: 'keyword', ignore_above: 1024 } } }],
  };
}

export function indexTemplate(prefix: string, tags: TagsMapping, ilmPolicy: string | null): Record<string, unknown> {
  return {
    index_patterns: [`${prefix}-*`],
    priority: 200,
    template: {
      settings: {
        number_of_shards: 1,
        // One replica on a cluster, none on a single node.
        auto_expand_replicas: '0-1',
        refresh_interval: '5s',
        ...(ilmPolicy ? { 'index.lifecycle.name': ilmPolicy } : {}),
      },
      mappings: auditMappings(tags),
    },
    _meta: { managed_by: 'llm-logger indexer' },
  };
}

/** Hot until the retention period is over, then deleted (daily indices, so no rollover). */
export function ilmPolicy(retentionDays: number): Record<string, unknown> {
  return {
    policy: {
      phases: {
        hot: { min_age: '0ms', actions: { set_priority: { priority: 100 } } },
        delete: { min_age: `${retentionDays}d`, actions: { delete: {} } },
      },
      _meta: { managed_by: 'llm-logger indexer' },
    },
  };
}

/** Every field path the mapping defines (for the Kibana saved-objects check). */
export function mappedFields(): string[] {
  const out: string[] = [];
  const walk = (props: Record<string, { properties?: Record<string, unknown>; fields?: Record<string, unknown> }>, at: string): void => {
    for (const [name, def] of Object.entries(props)) {
      const path = at + name;
      out.push(path);
      if (def.fields) for (const f of Object.keys(def.fields)) out.push(`${path}.${f}`);
      if (def.properties) walk(def.properties as never, `${path}.`);
    }
  };
  walk(auditMappings('flattened').properties as never, '');
  return out;
}
