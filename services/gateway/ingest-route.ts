import type { IncomingMessage, ServerResponse } from 'node:http';
import { v7 as uuidv7 } from 'uuid';
import type { Config } from '../shared/config/config';
import type { IngestToken } from '../shared/config/gateway-security';
import { inferenceEventType } from '../shared/event/inference-event';
import type { EventRecording } from '../shared/log/event-recorder';
import type { Logger } from '../shared/observability/logger';
import { sendJson, sendJsonError } from '../shared/http/json-response';
import type { GatewayAccess } from './core/access-policy';
import { sha256Hex } from './core/gateway-keys';
import { ingestNotes, validateIngestItem, type IngestHorizons, type IngestNote, type IngestRejection } from './core/ingest-validation';
import type { GatewayMetrics } from './gateway-metrics';

export const INGEST_PATH = '/ingest/v1/events';
const MAX_INGEST_ITEMS = 10_000;

export interface IngestDeps {
  config: Config;
  recorder: EventRecording;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Tokens required (`tokens`) or not (`open`, on loopback or opted out). */
  access: GatewayAccess['ingest'];
  tokens: readonly IngestToken[];
}

/**
 * `POST /ingest/v1/events`. Before the body is read: the method, the
 * caller's token (`Authorization: Bearer <token>` of LLM_LOGGER_INGEST_TOKENS)
 * and `Content-Type: application/json`, which a web page cannot send to
 * another origin without a CORS preflight this route never grants (a page
 * could send `text/plain` freely). The events are recorded with
 * `gateway_instance = ingest:<token name>`, whatever they say.
 */
export function createIngestRoute(deps: IngestDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { config, recorder, logger, metrics } = deps;
  const maxBytes = config.gateway.maxRequestBytes;
  const byDigest = new Map(deps.tokens.map((t) => [sha256Hex(t.token), t.id]));
  const eventType = inferenceEventType();
  const horizons: IngestHorizons = {
    consoleViewMs: config.console.viewHours * 3_600_000,
    aggregatorGraceMs: config.aggregator.graceMs,
    indexRetentionDays: config.index.retentionDays,
  };
  const refuse = (res: ServerResponse, status: number, type: string, reason: string, message: string, headers?: Record<string, string>): void => {
    metrics.refused.inc({ reason });
    // The body was not read: the connection is closed rather than drained.
    sendJsonError(res, status, type, message, { close: true, headers });
  };

  return async (req, res) => {
    if (req.method !== 'POST') {
      refuse(res, 405, 'method_not_allowed', 'ingest_method', `${INGEST_PATH} takes POST with a JSON array of events`, { allow: 'POST' });
      return;
    }
    let instance = 'ingest';
    if (deps.access.mode === 'tokens') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      const id = m ? byDigest.get(sha256Hex(m[1]!)) : undefined;
      if (id === undefined) {
        const message = m
          ? 'the ingest token is not valid (see LLM_LOGGER_INGEST_TOKENS)'
          : 'POST /ingest/v1/events needs "Authorization: Bearer <ingest token>" (LLM_LOGGER_INGEST_TOKENS)';
        refuse(res, 401, m ? 'invalid_ingest_token' : 'missing_ingest_token', 'ingest_unauthorized', message, {
          'www-authenticate': 'Bearer realm="llm-logger ingest"',
        });
        return;
      }
      instance = `ingest:${id}`;
    }
    const contentType = req.headers['content-type'];
    const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      refuse(
        res,
        415,
        'unsupported_media_type',
        'ingest_media_type',
        `Content-Type must be application/json, got ${contentType === undefined ? 'none' : JSON.stringify(contentType)}`,
      );
      return;
    }
    const raw = await readAll(req, maxBytes);
    if (raw === null) {
      sendJsonError(res, 413, 'request_too_large', `body is larger than LLM_LOGGER_MAX_REQUEST_BYTES (${maxBytes} bytes)`, { close: true });
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      sendJsonError(res, 400, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`);
      return;
    }
    const items = Array.isArray(doc) ? doc : (doc as { events?: unknown } | null)?.events;
    if (!Array.isArray(items)) {
      sendJsonError(res, 400, 'invalid_body', 'body must be a JSON array of events or {"events": [...]}');
      return;
    }
    if (items.length > MAX_INGEST_ITEMS) {
      sendJsonError(res, 413, 'too_many_events', `at most ${MAX_INGEST_ITEMS} events per request`);
      return;
    }
    const rejected: IngestRejection[] = [];
    const notes: IngestNote[] = [];
    const accepted: string[] = [];
    const writes: Promise<void>[] = [];
    const now = Date.now();
    items.forEach((item, index) => {
      const r = validateIngestItem(eventType, item, index, { newEventId: uuidv7, instance, now });
      if (!r.ok) {
        rejected.push(r.rejection);
        return;
      }
      notes.push(...r.notes, ...ingestNotes(r.event, index, now, horizons));
      accepted.push(r.event.event_id);
      // Marked as ingested and placed by id: a copy posted again (a retry) is dropped by the aggregator and the roller.
      writes.push(recorder.recordIngested(r.event, now));
    });
    try {
      await Promise.all(writes);
    } catch (err) {
      logger.error({ err }, 'ingest: events could not be recorded');
      sendJsonError(res, 503, 'log_unavailable', 'events could not be recorded; retry later', { retryAfterSeconds: 5 });
      return;
    }
    const status = rejected.length === 0 ? 200 : accepted.length === 0 ? 400 : 207;
    sendJson(res, status, { accepted: accepted.length, rejected, event_ids: accepted, notes });
  };
}

function readAll(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
