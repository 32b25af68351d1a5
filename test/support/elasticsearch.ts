import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { TOPICS } from '../../topology/topics';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath } from '../../services/shared/log/open-log';
import { infraRequired } from './infra';
import { REPO_ROOT } from './processes';
import { sampleEvent } from './sample-event';

/** The dev node's URL (`npm run infra:up` writes it to infra/dev/.run/env), or null. */
export function elasticsearchUrl(): string | null {
  if (process.env.LLM_LOGGER_ELASTICSEARCH_URL) return process.env.LLM_LOGGER_ELASTICSEARCH_URL;
  const file = join(REPO_ROOT, 'infra', 'dev', '.run', 'env');
  if (!existsSync(file)) return null;
  const m = /^LLM_LOGGER_ELASTICSEARCH_URL=(.+)$/m.exec(readFileSync(file, 'utf8'));
  return m ? m[1]!.trim() : null;
}

/**
 * `describe` for suites that need the Elasticsearch node: skipped when it is
 * not configured, failing when REQUIRE_INFRA=1 and it is missing or down.
 */
export function describeWithElasticsearch(name: string, fn: (url: () => string) => void): void {
  const url = elasticsearchUrl();
  if (!url && !infraRequired) {
    describe.skip(`${name} (no Elasticsearch: npm run infra:up)`, () => fn(() => ''));
    return;
  }
  describe(name, () => {
    beforeAll(async () => {
      if (!url) throw new Error('REQUIRE_INFRA=1 but no Elasticsearch configured: run npm run infra:up');
      const res = await fetch(`${url}/_cluster/health`).catch((err: unknown) => {
        throw new Error(`REQUIRE_INFRA: Elasticsearch at ${url} is unreachable (${(err as Error).message})`);
      });
      if (!res.ok) throw new Error(`Elasticsearch at ${url} answered ${res.status}`);
    });
    fn(() => url!);
  });
}

/** A unique, lowercase index prefix per test, so suites never see each other's documents. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * `n` distinct events, one second apart (by default ending now: older ones would
 * be past the retention period), with a searchable sentence each.
 */
export function auditEvents(n: number, start = Date.now() - n * 1000, over: (i: number) => Partial<InferenceEvent> = () => ({})): InferenceEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const t = start + i * 1000;
    return sampleEvent({
      event_id: uuidv7({ msecs: t }),
      started_at: t,
      first_token_at: t + 100,
      ended_at: t + 500,
      request_body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question number ${i} about topic ${i % 7}` }] }),
      response_text: `answer number ${i}`,
      ...over(i),
    });
  });
}

/** Appends events to the embedded log of a data directory (as the gateway would). */
export async function appendToEmbeddedLog(dataDir: string, events: InferenceEvent[]): Promise<void> {
  const log = new SqliteEventLog({ path: embeddedLogPath(dataDir), sync: 'normal' });
  try {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    for (let i = 0; i < events.length; i += 1000) {
      await log.append(
        TOPICS.inference,
        events.slice(i, i + 1000).map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })),
      );
    }
  } finally {
    await log.close();
  }
}
