import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { v7 as uuidv7 } from 'uuid';
import type { InferenceEvent } from '../shared/event/inference-event';
import type { Logger } from '../shared/observability/logger';
import { BoundedCapture } from './core/body-capture';
import { buildInferenceEvent, type CallFailure, type CallObservation, type EventDeps } from './core/event-builder';
import { forwardRequestHeaders, forwardResponseHeaders } from './core/headers';
import { isEventStream, ResponseAccounting } from './core/response-accounting';
import type { Route } from './core/routing';
import { isTaggingError, parseCallTags, shouldCapture, type CallTags } from './core/tagging';
import { azureDeploymentFromPath, classifyEndpoint, createUsageStripper, injectIncludeUsage, parseRequest } from './core/wire';
import type { ParsedResponse } from './core/wire/types';
import type { GatewayMetrics } from './gateway-metrics';
import { sendJsonError } from '../shared/http/json-response';

export interface ProxySettings {
  instance: string;
  sampleRate: number;
  maxRequestBytes: number;
  captureMaxBytes: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  strict: boolean;
}

/** Where finished calls go. `record` must not block; `recordDurable` resolves once stored. */
export interface CallRecorder {
  record(event: InferenceEvent): void;
  recordDurable(event: InferenceEvent): Promise<void>;
  /** Strict mode refuses calls while this is false. */
  canRecord(): boolean;
}

export interface ProxyDeps {
  settings: ProxySettings;
  dispatcher: Dispatcher;
  recorder: CallRecorder;
  eventDeps: EventDeps;
  metrics: GatewayMetrics;
  logger: Logger;
  random?: () => number;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function decoderFor(encoding: string | string[] | undefined): Transform | null {
  const value = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return null;
  if (value === 'gzip' || value === 'x-gzip') return createGunzip();
  if (value === 'deflate') return createInflate();
  if (value === 'br') return createBrotliDecompress();
  return null;
}

function classifyUpstreamError(err: unknown): CallFailure & { status: 502 | 504 } {
  const message = err instanceof Error ? err.message : String(err);
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  ) {
    return { status: 504, errorClass: 'upstream_timeout', message: `upstream timed out: ${message}` };
  }
  return { status: 502, errorClass: 'upstream_unreachable', message: `upstream unreachable: ${message}` };
}

/**
 * Forwards one call and records it. The client's bytes go out as they arrive;
 * parsing, capture and the event work on a copy and never hold the stream.
 */
export async function proxyCall(deps: ProxyDeps, route: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { settings, metrics } = deps;
  const startMono = performance.now();
  const startedAt = Date.now();
  const eventId = uuidv7();
  const upstream = route.upstream;
  const method = req.method ?? 'GET';

  let body: Buffer;
  try {
    body = await readBody(req, settings.maxRequestBytes);
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      metrics.refused.inc({ reason: 'body_too_large' });
      sendJsonError(res, 413, 'request_too_large', `request body is larger than LLM_LOGGER_MAX_REQUEST_BYTES (${settings.maxRequestBytes} bytes)`, {
        close: true,
      });
      return;
    }
    throw err;
  }

  const endpoint = classifyEndpoint(upstream.format, method, route.apiPath);
  let json: unknown;
  if (endpoint !== 'other' && body.length > 0) {
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = undefined; // malformed: forwarded as is, the upstream judges it
    }
  }
  const request = parseRequest(endpoint, json);
  const rewritten =
    upstream.format === 'openai' &&
    (endpoint === 'chat.completions' || endpoint === 'completions') &&
    request.stream &&
    !request.includeUsage
      ? injectIncludeUsage(body)
      : null;

  const fwd = forwardRequestHeaders(req.rawHeaders, upstream, { identityEncoding: rewritten !== null });
  const parsedTags = parseCallTags(fwd.gatewayHeaders);
  if (isTaggingError(parsedTags)) {
    metrics.refused.inc({ reason: 'bad_header' });
    sendJsonError(res, 400, 'invalid_gateway_header', parsedTags.message);
    return;
  }
  const tags: CallTags = parsedTags;
  if (settings.strict && !deps.recorder.canRecord()) {
    metrics.refused.inc({ reason: 'audit_unavailable' });
    sendJsonError(res, 503, 'audit_unavailable', 'strict audit mode: calls are refused while events cannot be recorded', {
      retryAfterSeconds: 5,
    });
    return;
  }

  const capture = shouldCapture(tags.sample, settings.sampleRate, (deps.random ?? Math.random)());
  const responseCapture = capture ? new BoundedCapture(settings.captureMaxBytes) : null;
  res.setHeader('x-llm-request-id', eventId);

  const abort = new AbortController();
  let finished = false;
  let cancelled = false;
  res.on('close', () => {
    if (!finished) {
      cancelled = true;
      abort.abort();
    }
  });

  let status: number | null = null;
  let streamed = false;
  let firstByteMono: number | null = null;
  let response: ParsedResponse | null = null;
  let failure: CallFailure | null = null;
  let responseBytes = 0;
  let heldBack: Buffer | null = null;
  let accounting: ResponseAccounting | null = null;

  metrics.inFlight.inc();
  try {
    const upstreamRes = await deps.dispatcher.request({
      origin: route.origin,
      path: route.targetPath,
      method: method as Dispatcher.HttpMethod,
      headers: fwd.headers,
      body: method === 'GET' || method === 'HEAD' ? null : (rewritten ?? body),
      signal: abort.signal,
      headersTimeout: settings.headersTimeoutMs,
      bodyTimeout: settings.bodyTimeoutMs,
    });
    status = upstreamRes.statusCode;
    streamed = isEventStream(upstreamRes.headers['content-type']);
    const stripper = rewritten && streamed && status < 400 ? createUsageStripper() : null;
    const acc = new ResponseAccounting(endpoint, upstream.format, status, streamed);
    accounting = acc;
    const decoder = stripper ? null : decoderFor(upstreamRes.headers['content-encoding']);
    const decoded = decoder ? onceEnded(decoder) : null;
    if (decoder) {
      decoder.on('data', (d: Buffer) => {
        acc.push(d);
        responseCapture?.push(d);
      });
    }

    res.writeHead(status, forwardResponseHeaders(upstreamRes.headers, { bodyRewritten: stripper !== null }));
    if (streamed) res.flushHeaders(); // the client learns the stream has started

    await new Promise<void>((resolve, reject) => {
      const src = upstreamRes.body;
      src.on('data', (chunk: Buffer) => {
        responseBytes += chunk.length;
        let out = chunk;
        if (decoder) decoder.write(chunk);
        else acc.push(chunk);
        if (stripper) out = stripper.push(chunk);
        if (!decoder) responseCapture?.push(out);
        if (out.length === 0) return;
        if (firstByteMono === null) firstByteMono = performance.now();
        if (settings.strict) {
          // Hold back the final byte of whatever might be the answer's end until
          // the event is durable; earlier events of a stream go out whole.
          const mayBeLast = !streamed || acc.sawTerminal;
          if (heldBack) {
            out = Buffer.concat([heldBack, out]);
            heldBack = null;
          }
          if (mayBeLast) {
            heldBack = out.subarray(out.length - 1);
            out = out.subarray(0, out.length - 1);
          }
          if (out.length === 0) return;
        }
        if (!res.write(out)) {
          src.pause();
          res.once('drain', () => src.resume());
        }
      });
      src.on('end', resolve);
      src.on('error', reject);
    });
    if (stripper) {
      const tail = stripper.end();
      if (tail.length > 0) {
        responseCapture?.push(tail);
        if (settings.strict) heldBack = heldBack ? Buffer.concat([heldBack, tail]) : tail;
        else res.write(tail);
      }
    }
    if (decoder && decoded) {
      decoder.end();
      await decoded.catch(() => undefined);
    }
    response = acc.result();
  } catch (err) {
    // What was parsed so far is the partial answer (cancelled or broken stream).
    if (accounting) response = accounting.result();
    if (!cancelled) {
      const f = classifyUpstreamError(err);
      failure = { errorClass: f.errorClass, message: f.message };
      if (!res.headersSent) {
        status = f.status;
        sendJsonError(res, f.status, f.errorClass, f.message);
      } else {
        res.destroy(); // the client must see a broken answer, not a clean short one
      }
    }
  } finally {
    metrics.inFlight.dec();
  }

  const endMono = performance.now();
  const obs: CallObservation = {
    eventId,
    instance: settings.instance,
    upstream: upstream.name,
    provider: upstream.provider,
    wireFormat: upstream.format,
    endpoint,
    method,
    apiPath: route.apiPath,
    deployment: upstream.azure ? azureDeploymentFromPath(route.apiPath) : null,
    request,
    requestBytes: body.length,
    response,
    responseBytes,
    status,
    streamed,
    failure,
    cancelled,
    tags,
    captured: responseCapture
      ? {
          requestBody: truncateText(body, settings.captureMaxBytes),
          responseBody: responseCapture.text(),
          truncated: body.length > settings.captureMaxBytes || responseCapture.truncated,
        }
      : null,
    timings: { startedAt, startMono, firstByteMono, endMono },
  };
  const event = buildInferenceEvent(obs, deps.eventDeps);
  metrics.observeCall(event);

  if (settings.strict && !cancelled && !res.destroyed) {
    try {
      await deps.recorder.recordDurable(event);
    } catch (err) {
      // Not recorded: the client must not receive a complete answer.
      deps.logger.error({ err, eventId }, 'strict audit mode: event not durable, answer withheld');
      res.destroy();
      return;
    } finally {
      finished = true;
    }
    res.end(heldBack ?? undefined);
    return;
  }
  finished = true;
  if (!res.writableEnded && !res.destroyed) res.end();
  if (settings.strict) {
    deps.recorder.recordDurable(event).catch((err: unknown) => deps.logger.error({ err, eventId }, 'event not recorded'));
  } else {
    deps.recorder.record(event);
  }
}

function truncateText(body: Buffer, max: number): string {
  const capture = new BoundedCapture(max);
  capture.push(body);
  return capture.text();
}

function onceEnded(stream: Transform): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}
