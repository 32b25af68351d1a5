import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { v7 as uuidv7 } from 'uuid';
import { sendJsonError } from '../shared/http/json-response';
import { BoundedCapture } from './core/body-capture';
import type { CallFailure, CallObservation } from './core/event-builder';
import { forwardRequestHeaders, forwardResponseHeaders } from './core/headers';
import { isEventStream, ResponseAccounting, type AnswerLimits } from './core/response-accounting';
import type { CallAuth } from './core/call-authorization';
import { applyKeyIdentity } from './core/gateway-keys';
import { FIELD_MAX_CHARS } from './core/field-caps';
import type { Route } from './core/routing';
import { isTaggingError, parseCallTags, shouldCapture } from './core/tagging';
import { azureDeploymentFromPath, classifyEndpoint, clipText, createUsageStripper, injectIncludeUsage, parseRequest } from './core/wire';
import type { Endpoint, ParsedRequest, ParsedResponse } from './core/wire/types';
import type { Logger } from '../shared/observability/logger';
import type { EndedCalls } from './ended-calls';
import type { GatewayMetrics } from './gateway-metrics';
import { CallProgress, type LiveCoalescer } from './core/live-coalescer';
import { UpstreamTimeoutError, type UpstreamDeadlines } from './upstream-deadlines';
import { errors as undiciErrors } from './undici-parts';
import { REFUSAL_BODY_MAX_BYTES, refusalText, refusesUsageOption, type UsageInjectionPolicy } from './usage-injection-policy';

/** The live view's prompt preview is cut to this many characters. */
const LIVE_PROMPT_MAX_CHARS = 4_000;

export interface ProxySettings {
  instance: string;
  sampleRate: number;
  maxRequestBytes: number;
  captureMaxBytes: number;
  strict: boolean;
  /** False under redaction policy `all`: live records carry no text of the call (not redacted yet). */
  liveText: boolean;
  /** What one answer may make the gateway hold: its text, and one server-sent event. */
  limits: AnswerLimits;
}

export interface ProxyDeps {
  settings: ProxySettings;
  dispatcher: Dispatcher;
  /** The upstream timeouts. */
  deadlines: UpstreamDeadlines;
  /** Where ended calls are recorded. */
  ended: EndedCalls;
  /** Strict mode refuses calls while this is false. */
  canRecord(): boolean;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Calls in flight for the live view; null when live publishing is off. */
  live?: LiveCoalescer | null;
  /** Which upstreams get `stream_options.include_usage` added, and what a refusal teaches. */
  usageInjection: UsageInjectionPolicy;
  random?: () => number;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new BodyTooLarge());
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
  if (value === 'gzip' || value === 'x-gzip') return createGunzip();
  if (value === 'deflate') return createInflate();
  if (value === 'br') return createBrotliDecompress();
  return null; // identity, or an encoding we cannot read: forwarded, not parsed
}

function classifyUpstreamError(err: unknown): CallFailure & { status: 502 | 504 } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof UpstreamTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return { status: 504, errorClass: 'upstream_timeout', message: `upstream timed out: ${message}` };
  }
  return { status: 502, errorClass: 'upstream_unreachable', message: `upstream unreachable: ${message}` };
}

function parseJson(endpoint: Endpoint, text: () => string): unknown {
  if (endpoint === 'other') return undefined;
  const body = text();
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined; // malformed: forwarded as is, the upstream judges it
  }
}

/**
 * Forwards one call and records it. The client's bytes go out as they arrive;
 * parsing, capture and the event work on a copy and never hold the stream.
 */
export async function proxyCall(deps: ProxyDeps, route: Route, req: IncomingMessage, res: ServerResponse, auth: CallAuth): Promise<void> {
  const { settings, metrics } = deps;
  const startMono = performance.now();
  const startedAt = Date.now();
  const upstream = route.upstream;
  const method = req.method ?? 'GET';

  let body: Buffer;
  try {
    body = await readBody(req, settings.maxRequestBytes);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    metrics.refused.inc({ reason: 'body_too_large' });
    sendJsonError(res, 413, 'request_too_large', `request body is larger than LLM_LOGGER_MAX_REQUEST_BYTES (${settings.maxRequestBytes} bytes)`, {
      close: true,
    });
    return;
  }

  const endpoint = classifyEndpoint(upstream.format, method, route.apiPath);
  // Decoded at most once: parsed, and recorded as is when captured whole.
  let bodyText: string | null = null;
  const requestText = (): string => (bodyText ??= body.toString('utf8'));
  const requestJson = parseJson(endpoint, requestText);
  const request: ParsedRequest = parseRequest(endpoint, requestJson);
  // A streamed OpenAI-format call that did not ask for usage: ask on its behalf
  // and strip what that adds before the client sees it.
  const rewritten =
    upstream.format === 'openai' &&
    (endpoint === 'chat.completions' || endpoint === 'completions') &&
    request.stream &&
    !request.includeUsage &&
    deps.usageInjection.shouldInject(upstream)
      ? injectIncludeUsage(body, requestJson)
      : null;
  // Whether what the upstream is answering has the option the gateway added (false again after a refusal's retry).
  let injected = rewritten !== null;

  const fwd = forwardRequestHeaders(req.rawHeaders, upstream, {
    identityEncoding: rewritten !== null,
    dropCredential: auth.carrier === 'x-llm-key' ? null : auth.carrier,
  });
  const tags = parseCallTags(fwd.gatewayHeaders);
  if (isTaggingError(tags)) {
    metrics.refused.inc({ reason: 'bad_header' });
    sendJsonError(res, 400, 'invalid_gateway_header', tags.message);
    return;
  }
  const conflict = auth.key ? applyKeyIdentity(tags, auth.key) : null;
  if (conflict) {
    metrics.refused.inc({ reason: 'identity_conflict' });
    sendJsonError(res, 403, 'gateway_identity_conflict', conflict.message, { extra: { header: conflict.header } });
    return;
  }
  if (settings.strict && !deps.canRecord()) {
    metrics.refused.inc({ reason: 'audit_unavailable' });
    sendJsonError(res, 503, 'audit_unavailable', 'strict audit mode: calls are refused while events cannot be recorded', {
      retryAfterSeconds: 5,
    });
    return;
  }

  const eventId = uuidv7();
  res.setHeader('x-llm-request-id', eventId);
  const capture = shouldCapture(tags.sample, settings.sampleRate, (deps.random ?? Math.random)()) ? new BoundedCapture(settings.captureMaxBytes) : null;

  let controller: Dispatcher.DispatchController | null = null;
  let finished = false;
  let cancelled = false;
  // Why the upstream request was cut before it started, if it was.
  let abortReason: Error | null = null;
  const abortUpstream = (reason: Error): void => {
    abortReason ??= reason;
    controller?.abort(reason);
  };
  const onClientClose = (): void => {
    if (finished) return;
    cancelled = true;
    abortUpstream(new Error('client disconnected'));
  };
  res.on('close', onClientClose);

  let status: number | null = null;
  let streamed = false;
  let firstByteMono: number | null = null;
  let failure: CallFailure | null = null;
  let responseBytes = 0;
  let heldBack: Buffer | null = null;
  let accounting: ResponseAccounting | null = null;
  let decoded: Promise<void> | null = null;
  let stripper: ReturnType<typeof createUsageStripper> | null = null;
  let decoder: Transform | null = null;
  const liveText = settings.liveText;
  const progress = deps.live ? new CallProgress(capture !== null && liveText) : null;
  const live =
    deps.live && progress
      ? deps.live.start(
      {
        type: 'started',
        event_id: eventId,
        started_at: startedAt,
        upstream: upstream.name,
        provider: upstream.provider,
        endpoint,
        model: request.model === null ? null : clipText(request.model, FIELD_MAX_CHARS.request_model),
        streamed: request.stream,
        user: liveText ? tags.user : null,
        app: liveText ? tags.app : null,
        prompt: capture && liveText ? request.promptText.slice(0, LIVE_PROMPT_MAX_CHARS) : null,
        ...(liveText ? {} : { text_withheld: true }),
      },
      progress,
    ) : null;

  /** Sends bytes to the client; in strict mode keeps back the last byte of what may be the answer's end. */
  const emit = (out: Buffer, ctl: Dispatcher.DispatchController | null): void => {
    if (settings.strict) {
      if (heldBack) {
        out = Buffer.concat([heldBack, out]);
        heldBack = null;
      }
      if (!streamed || accounting!.sawTerminal) {
        heldBack = out.subarray(out.length - 1);
        out = out.subarray(0, out.length - 1);
      }
    }
    if (out.length === 0 || res.destroyed) return;
    if (firstByteMono === null) {
      firstByteMono = performance.now();
      if (progress) progress.firstByteMs = Math.round(firstByteMono - startMono);
    }
    if (!res.write(out) && ctl) {
      ctl.pause();
      deadline.paused = true;
      res.once('drain', () => {
        deadline.paused = false;
        ctl.resume();
      });
    }
  };

  /**
   * The upstream's answer is complete: what the stripper still held goes out,
   * and (unless strict mode must first make the event durable) the client's
   * response ends now, in the same write as its last bytes, before the event
   * is built. undici reports the end once.
   */
  const endClientResponse = (): void => {
    const tail = stripper?.end();
    if (tail && tail.length > 0) {
      capture?.push(tail);
      emit(tail, null);
    }
    if (!settings.strict && !res.writableEnded && !res.destroyed) {
      finished = true;
      res.end();
    }
  };

  /** The upstream's answer starts: the client gets its status and headers, and the accounting begins. */
  const startResponse = (statusCode: number, headers: Record<string, string | string[] | undefined>): void => {
    status = statusCode;
    streamed = isEventStream(headers['content-type']);
    accounting = new ResponseAccounting(endpoint, upstream.format, statusCode, streamed, settings.limits);
    if (progress && streamed) progress.answer = accounting;
    stripper = injected && streamed && statusCode < 400 ? createUsageStripper({ maxEventChars: settings.limits.eventMaxChars }) : null;
    decoder = stripper ? null : decoderFor(headers['content-encoding']);
    if (decoder) {
      const acc = accounting;
      decoder.on('data', (d: Buffer) => {
        acc.push(d);
        capture?.push(d);
      });
      const dec = decoder;
      decoded = new Promise((r) => {
        dec.on('end', r);
        dec.on('error', r); // a corrupt body only costs the accounting
      });
    }
    res.writeHead(statusCode, forwardResponseHeaders(headers, { bodyRewritten: stripper !== null }));
    if (streamed) {
      // The client learns the stream has started: with the first bytes if they came with
      // the headers (one write), else on their own at the end of this tick.
      process.nextTick(() => {
        if (firstByteMono === null && !res.writableEnded && !res.destroyed) res.flushHeaders();
      });
    }
  };

  const forwardChunk = (ctl: Dispatcher.DispatchController | null, chunk: Buffer): void => {
    responseBytes += chunk.length;
    if (live) live.dirty = true;
    if (decoder) decoder.write(chunk);
    else accounting!.push(chunk);
    const out = stripper ? stripper.push(chunk) : chunk;
    if (!decoder) capture?.push(out);
    emit(out, ctl);
  };

  /**
   * Sends the call once; resolves to true when the upstream refused the usage
   * option the gateway added (a 400 naming it, held back from the client) and
   * the call is to be sent again without it. A 400 was not processed, so the
   * second request is the client's first as far as the upstream is concerned.
   */
  const send = (requestBody: Buffer): Promise<boolean> =>
    new Promise<boolean>((resolve, reject) => {
      // A 400 to an injected call is held (not sent to the client) until its body says whether it names the option.
      let held: { statusCode: number; headers: Record<string, string | string[] | undefined>; chunks: Buffer[]; bytes: number } | null = null;
      const release = (ctl: Dispatcher.DispatchController | null): void => {
        const h = held!;
        held = null;
        startResponse(h.statusCode, h.headers);
        for (const chunk of h.chunks) forwardChunk(ctl, chunk);
      };
      deps.dispatcher.dispatch(
        {
          origin: route.origin,
          path: route.targetPath,
          method: method as Dispatcher.HttpMethod,
          headers: fwd.headers,
          body: method === 'GET' || method === 'HEAD' ? null : requestBody,
          // UpstreamDeadlines times the call: no timers of undici's per call.
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        {
          onRequestStart(ctl) {
            controller = ctl;
            if (abortReason) ctl.abort(abortReason);
          },
          onResponseStart(_ctl, statusCode, headers) {
            deadline.headersReceived();
            if (injected && statusCode === 400 && deps.usageInjection.retriesWithout(upstream)) {
              held = { statusCode, headers, chunks: [], bytes: 0 };
              return;
            }
            startResponse(statusCode, headers);
          },
          onResponseData(ctl, chunk) {
            deadline.active = true;
            if (held) {
              held.chunks.push(chunk);
              held.bytes += chunk.length;
              if (held.bytes > REFUSAL_BODY_MAX_BYTES) release(ctl); // too long for a refusal: the client's own error
              return;
            }
            forwardChunk(ctl, chunk);
          },
          onResponseEnd() {
            if (held) {
              const text = refusalText(held.chunks, held.headers['content-encoding']);
              if (refusesUsageOption(text)) {
                deps.usageInjection.refused(upstream, text);
                resolve(true);
                return;
              }
              release(null);
            }
            endClientResponse();
            resolve(false);
          },
          onResponseError(_ctl, err) {
            reject(err);
          },
        },
      );
    });

  metrics.inFlight.inc();
  const deadline = deps.deadlines.watch(startMono, abortUpstream);
  try {
    if (await send(rewritten ?? body)) {
      // Sent again as the client wrote it; its stream is counted with estimated usage.
      injected = false;
      deadline.resent();
      await send(body);
    }
    if (decoder) {
      (decoder as Transform).end();
      await decoded;
    }
  } catch (err) {
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
    deadline.done();
    metrics.inFlight.dec();
  }

  // What was parsed so far is the answer (whole, or partial when cut short);
  // it is read, with the rest of the call's facts, when the call is recorded.
  const endMono = performance.now();
  const answer = accounting as ResponseAccounting | null;
  const observe = (): CallObservation => {
    const response: ParsedResponse | null = answer ? answer.result() : null;
    return {
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
      captured: capture
        ? {
            requestBody: body.length <= settings.captureMaxBytes ? requestText() : truncateText(body, settings.captureMaxBytes),
            // The accounting's decoded text when the capture saw the same bytes whole (not decompressed or rewritten).
            responseBody: (!decoder && !stripper && !capture.truncated ? answer?.bodyText : null) ?? capture.text(),
            truncated: body.length > settings.captureMaxBytes || capture.truncated,
          }
        : null,
      timings: { startedAt, startMono, firstByteMono, endMono },
      gatewayKeyId: auth.key?.id ?? null,
      answerCut: answer ? { cutChars: answer.cutChars, skippedEvents: answer.skippedEvents } : undefined,
    };
  };

  if (!settings.strict) {
    finished = true;
    if (!res.writableEnded && !res.destroyed) res.end();
    deps.ended.record(observe, live);
    return;
  }
  try {
    await deps.ended.recordDurable(observe, live);
  } catch (err) {
    // Not recorded: the client must not receive a complete answer.
    deps.logger.error({ err, eventId }, 'strict audit mode: event not durable, answer withheld');
    res.destroy();
    return;
  }
  finished = true;
  if (!res.writableEnded && !res.destroyed) res.end(heldBack ?? undefined);
}

function truncateText(body: Buffer, max: number): string {
  const capture = new BoundedCapture(max);
  capture.push(body);
  return capture.text();
}
