import type { AuditDocument } from './core/audit-document';
import type { SearchPage, SearchQuery } from './core/search-query';

/**
 * The audit index port: Elasticsearch and the embedded SQLite FTS5 index
 * implement it with the same query semantics (core/search-query.ts).
 */
export interface Rejection {
  eventId: string;
  /** Why the backend refused the document (e.g. `mapper_parsing_exception: …`). */
  reason: string;
}

export interface ErasedDocuments {
  documents: number;
  newestEndedAt: number | null;
}

export interface SearchIndex {
  readonly kind: 'elasticsearch' | 'embedded';
  /** Installs templates/policies or tables; idempotent, run at start-up. */
  setup(): Promise<void>;
  /**
   * Indexes documents under their event id (a document indexed twice stays one).
   * Resolves with the documents the backend refused for good; throws a
   * retriable error when the backend is unavailable or keeps pushing back.
   */
  index(docs: AuditDocument[]): Promise<Rejection[]>;
  search(query: SearchQuery): Promise<SearchPage>;
  /** Shutting down: stop waiting out push-back; index() calls in flight fail (retriably) at once. */
  interrupt?(): void;
  /**
   * Removes the prompt, response and error message of a user's calls that
   * started at or before `erasedAtMs` (llm-logger erase), keeping the rest of
   * each document; with `dryRun`, only counts. Answers how many documents
   * held any of them, and the newest call end among all the user's
   * documents it covers (epoch ms; when the log's copies age out).
   */
  eraseBodies(user: string, erasedAtMs: number, dryRun?: boolean): Promise<ErasedDocuments>;
  /** Deletes what is older than the retention period (backends without a lifecycle policy). */
  expire(nowMs: number): Promise<void>;
  close(): Promise<void>;
}
