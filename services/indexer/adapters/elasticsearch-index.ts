import { Client, errors } from '@elastic/elasticsearch';
import { LlmLoggerError } from '../../shared/errors';
import type { Logger } from '../../shared/observability/logger';
import { expiredIndices } from '../core/audit-document';
import type { AuditDocument } from '../core/audit-document';
import { backoffMs, bulkBody, classifyBulkItems, retriableStatus, type BulkResponseItem } from '../core/es-bulk';
import { ilmPolicy, indexTemplate, type TagsMapping } from '../core/es-mapping';
import { esSearchBody } from '../core/es-query';
import type { SearchHit, SearchPage, SearchQuery } from '../core/search-query';
import type { ErasedDocuments, Rejection, SearchIndex } from '../search-index';

export interface ElasticsearchIndexOptions {
  url: string;
  username?: string | null;
  password?: string | null;
  apiKey?: string | null;
  prefix: string;
  retentionDays: number;
  logger: Logger;
  /** How long one batch keeps retrying while the cluster pushes back, before the batch is left uncommitted. */
  retryBudgetMs?: number;
  /** Documents per bulk request (a batch is sent as several, in parallel). */
  bulkDocs?: number;
  /** Called while waiting out a push-back (for the metrics). */
  onBackoff?: (reason: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function statusOf(err: unknown): number | null {
  return err instanceof errors.ResponseError ? (err.meta.statusCode ?? null) : null;
}

/** Connection problems, timeouts, 429 and 5xx: the cluster's trouble, worth waiting out. */
function isRetriable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== null) return retriableStatus(status);
  return err instanceof errors.ConnectionError || err instanceof errors.TimeoutError || err instanceof errors.NoLivingConnectionsError;
}

function describe(err: unknown): string {
  if (err instanceof errors.ResponseError) {
    const body = err.meta.body as { error?: { type?: string; reason?: string } } | undefined;
    return `${err.meta.statusCode} ${body?.error?.type ?? ''}: ${body?.error?.reason ?? err.message}`;
  }
  return (err as Error).message;
}

/**
 * The audit index on Elasticsearch (7.10+, 8.x, 9.x) and OpenSearch (2.x, 3.x) through
 * @elastic/elasticsearch 7.13: the last client that does not refuse a server
 * that is not Elastic's (7.14+ checks the product), and whose requests (plain
 * JSON, no compatibility headers) every one of those accepts. Only APIs they
 * share are used; ILM, which OpenSearch and OSS builds lack, is optional.
 */
export class ElasticsearchIndex implements SearchIndex {
  readonly kind = 'elasticsearch' as const;
  private readonly client: Client;
  private readonly policyName: string;
  private lifecycle: 'ilm' | 'sweeper' = 'sweeper';
  private interrupted = false;

  constructor(private readonly options: ElasticsearchIndexOptions) {
    const auth = options.apiKey
      ? { apiKey: options.apiKey }
      : options.username
        ? { username: options.username, password: options.password ?? '' }
        : undefined;
    this.client = new Client({ node: options.url, auth, maxRetries: 0, requestTimeout: 30_000, compression: undefined });
    this.policyName = `${options.prefix}-retention`;
  }

  async setup(): Promise<void> {
    const log = this.options.logger;
    // ILM is part of the default distribution (not of OSS builds such as the dev node).
    try {
      await this.client.ilm.putLifecycle({ policy: this.policyName, body: ilmPolicy(this.options.retentionDays) });
      this.lifecycle = 'ilm';
    } catch (err) {
      const status = statusOf(err);
      if (status === 400 || status === 404 || status === 405) {
        // OSS builds and OpenSearch (which has ISM instead) have no _ilm API.
        log.warn({ reason: describe(err) }, 'no index lifecycle management on this cluster: the indexer deletes expired daily indices itself');
        this.lifecycle = 'sweeper';
      } else if (status === 401 || status === 403) {
        // A key without the manage_ilm cluster privilege: still a working indexer, so do not crash-loop
        // over the retention policy. Deleting expired indices needs delete_index on the prefix instead.
        log.warn(
          { reason: describe(err), policy: this.policyName },
          'not allowed to install the lifecycle policy (grant the cluster privilege manage_ilm): the indexer deletes expired daily indices itself, which needs delete_index on the indices',
        );
        this.lifecycle = 'sweeper';
      } else {
        throw this.unavailable('installing the lifecycle policy', err);
      }
    }
    const put = (tags: TagsMapping): Promise<unknown> =>
      this.client.indices.putIndexTemplate({
        name: this.options.prefix,
        body: indexTemplate(this.options.prefix, tags, this.lifecycle === 'ilm' ? this.policyName : null),
      });
    try {
      await put('flattened');
    } catch (err) {
      const detail = err instanceof errors.ResponseError ? JSON.stringify(err.meta.body) : '';
      if (statusOf(err) !== 400 || !/flattened/.test(detail)) throw this.unavailable('installing the index template', err);
      log.warn('this cluster has no flattened field type: tags are mapped as an object of keywords');
      await put('object').catch((e: unknown) => {
        throw this.unavailable('installing the index template', e);
      });
    }
    log.info({ prefix: this.options.prefix, lifecycle: this.lifecycle, retentionDays: this.options.retentionDays }, 'audit index template installed');
  }

  /** The URL without any user:password in it, for messages and logs. */
  private get safeUrl(): string {
    try {
      const u = new URL(this.options.url);
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/$/, '');
    } catch {
      return '(invalid URL)';
    }
  }

  private unavailable(what: string, err: unknown, retriable = isRetriable(err)): LlmLoggerError {
    return new LlmLoggerError('INDEX_UNAVAILABLE', `Elasticsearch at ${this.safeUrl}: ${what} failed: ${describe(err)}`, {
      cause: err,
      retriable,
    });
  }

  /**
   * Splits a batch into bulk requests of `bulkDocs` sent side by side, so the
   * cluster's write threads (one per core) and this process work at once.
   */
  async index(docs: AuditDocument[]): Promise<Rejection[]> {
    const size = this.options.bulkDocs ?? 500;
    if (docs.length <= size) return this.indexChunk(docs);
    const chunks: AuditDocument[][] = [];
    for (let i = 0; i < docs.length; i += size) chunks.push(docs.slice(i, i + size));
    return (await Promise.all(chunks.map((c) => this.indexChunk(c)))).flat();
  }

  private async indexChunk(docs: AuditDocument[]): Promise<Rejection[]> {
    const rejections: Rejection[] = [];
    let pending = docs;
    const deadline = Date.now() + (this.options.retryBudgetMs ?? 60_000);
    for (let attempt = 0; pending.length > 0; attempt++) {
      let items: BulkResponseItem[] | null = null;
      let failure: unknown = null;
      try {
        const res = await this.client.bulk({ body: bulkBody(this.options.prefix, pending), refresh: false });
        items = (res.body as { items: BulkResponseItem[] }).items;
      } catch (err) {
        if (statusOf(err) === 413) {
          // Request larger than the cluster accepts (http.max_content_length): halve it; a single
          // document that is still too large is refused for good.
          if (pending.length === 1) return [...rejections, { eventId: pending[0]!.event_id, reason: `413 ${describe(err)}` }];
          const half = Math.ceil(pending.length / 2);
          return [...rejections, ...(await this.indexChunk(pending.slice(0, half))), ...(await this.indexChunk(pending.slice(half)))];
        }
        // Any other failure of the whole request (authentication, a bad URL, ...) is not the documents'
        // fault: retriable, so the batch stays uncommitted instead of going to the DLQ.
        if (!isRetriable(err)) throw this.unavailable('bulk indexing', err, true);
        failure = err;
      }
      let retry = pending;
      if (items) {
        const verdict = classifyBulkItems(items);
        for (const r of verdict.rejected) rejections.push({ eventId: pending[r.position]!.event_id, reason: r.reason });
        retry = verdict.retry.map((p) => pending[p]!);
        if (retry.length > 0) failure = new Error(`${retry.length} documents pushed back (429/5xx)`);
      }
      pending = retry;
      if (pending.length === 0) break;
      if (Date.now() >= deadline) throw this.unavailable(`bulk indexing (gave up after ${attempt + 1} attempts)`, failure, true);
      const wait = backoffMs(attempt, Math.random());
      this.options.onBackoff?.(describe(failure));
      this.options.logger.warn({ attempt, waitMs: wait, pending: pending.length, reason: describe(failure) }, 'Elasticsearch pushed back; retrying');
      for (const until = Date.now() + wait; Date.now() < until && !this.interrupted; ) await sleep(Math.min(100, until - Date.now()));
      if (this.interrupted) throw this.unavailable('bulk indexing (interrupted by shutdown; the batch stays uncommitted)', failure, true);
    }
    return rejections;
  }

  interrupt(): void {
    this.interrupted = true;
  }

  async search(q: SearchQuery): Promise<SearchPage> {
    let body: {
      hits: { total: { value: number } | number; hits: { _source: Record<string, unknown>; highlight?: Record<string, string[]> }[] };
    };
    try {
      const res = await this.client.search({
        index: `${this.options.prefix}-*`,
        body: esSearchBody(q),
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      body = res.body as typeof body;
    } catch (err) {
      throw this.unavailable('search', err);
    }
    const total = typeof body.hits.total === 'number' ? body.hits.total : body.hits.total.value;
    const hits: SearchHit[] = body.hits.hits.map((h) => {
      const s = h._source;
      return {
        event_id: s.event_id as string,
        timestamp: s['@timestamp'] as string,
        user: (s.user as string | null) ?? null,
        app: (s.app as string | null) ?? null,
        model: (s.model as string | null) ?? null,
        upstream: s.upstream as string,
        status: (s.status as number | null) ?? null,
        outcome: s.outcome as string,
        latency_ms: s.latency_ms as number,
        cost_usd: (s.cost_usd as number | null) ?? null,
        highlights: {
          prompt: h.highlight?.prompt ?? [],
          response: h.highlight?.response ?? [],
          error_message: h.highlight?.error_message ?? [],
        },
      };
    });
    return { total, limit: q.limit, offset: q.offset, hits };
  }

  /**
   * update_by_query on the daily indices that hold such documents (found
   * first with an aggregation), refreshed, then a force merge that expunges
   * the replaced versions (Lucene keeps them in its segments until a merge).
   */
  async eraseBodies(user: string, erasedAtMs: number, dryRun = false): Promise<ErasedDocuments> {
    const owned = [{ term: { user } }, { range: { '@timestamp': { lte: erasedAtMs, format: 'epoch_millis' } } }];
    const withText = { bool: { should: ['prompt', 'response', 'error_message'].map((field) => ({ exists: { field } })), minimum_should_match: 1 } };
    const long = { requestTimeout: 10 * 60_000 };
    interface Found {
      hits: { total: { value: number } | number };
      aggregations: { newest: { value: number | null }; text: { doc_count: number; indices: { buckets: { key: string }[] } } };
    }
    let found: Found;
    try {
      const res = await this.client.search({
        index: `${this.options.prefix}-*`,
        ignore_unavailable: true,
        allow_no_indices: true,
        body: {
          size: 0,
          track_total_hits: true,
          query: { bool: { filter: owned } },
          aggs: { newest: { max: { field: 'ended_at' } }, text: { filter: withText, aggs: { indices: { terms: { field: '_index', size: 10_000 } } } } },
        },
      });
      found = res.body as Found;
    } catch (err) {
      throw this.unavailable('finding the documents to erase', err);
    }
    const total = typeof found.hits.total === 'number' ? found.hits.total : found.hits.total.value;
    const newestEndedAt = total > 0 ? found.aggregations.newest.value : null;
    const documents = found.aggregations.text.doc_count;
    if (dryRun || documents === 0) return { documents, newestEndedAt };
    const indices = found.aggregations.text.indices.buckets.map((b) => b.key).join(',');
    try {
      await this.client.updateByQuery(
        {
          index: indices,
          refresh: true,
          conflicts: 'proceed',
          wait_for_completion: true,
          body: {
            query: { bool: { filter: [...owned, withText] } },
            script: { lang: 'painless', source: 'ctx._source.prompt = null; ctx._source.response = null; ctx._source.error_message = null;' },
          },
        },
        long,
      );
    } catch (err) {
      throw this.unavailable('erasing documents (update_by_query)', err);
    }
    try {
      await this.client.indices.forcemerge({ index: indices, only_expunge_deletes: true }, long);
    } catch (err) {
      this.options.logger.warn({ err: describe(err), indices }, 'erased documents are replaced, but their old versions stay on disk until Elasticsearch merges the segments');
    }
    return { documents, newestEndedAt };
  }

  async expire(nowMs: number): Promise<void> {
    if (this.lifecycle === 'ilm') return;
    const res = await this.client.cat.indices({ index: `${this.options.prefix}-*`, format: 'json', h: 'index' });
    const names = (res.body as { index: string }[]).map((r) => r.index);
    const expired = expiredIndices(this.options.prefix, names, nowMs, this.options.retentionDays);
    for (const name of expired) {
      await this.client.indices.delete({ index: name });
      this.options.logger.info({ index: name }, 'deleted an audit index past the retention period');
    }
  }

  /** Makes what was indexed searchable now (tests; the index refreshes every second anyway). */
  async refresh(): Promise<void> {
    await this.client.indices.refresh({ index: `${this.options.prefix}-*`, allow_no_indices: true });
  }

  async count(): Promise<number> {
    const res = await this.client.count({ index: `${this.options.prefix}-*`, allow_no_indices: true, ignore_unavailable: true });
    return (res.body as { count: number }).count;
  }

  /**
   * Removes the indices and the template (tests). By name: Elasticsearch 8+ refuses a wildcard
   * delete (action.destructive_requires_name is true by default).
   */
  async deleteAll(): Promise<void> {
    const res = await this.client.cat.indices({ index: `${this.options.prefix}-*`, format: 'json', h: 'index' });
    const names = (res.body as { index: string }[]).map((r) => r.index);
    for (let i = 0; i < names.length; i += 50) await this.client.indices.delete({ index: names.slice(i, i + 50).join(',') });
    await this.client.indices.deleteIndexTemplate({ name: this.options.prefix }, { ignore: [404] });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
