import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadFixture } from '../fixtures/load-fixtures';

/**
 * A local stand-in for OpenAI and Anthropic that speaks their documented wire
 * formats. It either replays a golden fixture byte for byte
 * (`x-stand-in-fixture: openai/chat-basic`) or answers any chat, completion,
 * embedding, responses or messages call with generated content, streamed or
 * not, honouring `stream_options.include_usage` exactly as OpenAI does.
 *
 * Control headers (they pass through the gateway like any other header):
 * - `x-stand-in-status: 429` answer with that status and a provider error body
 * - `x-stand-in-delay-ms: 50` wait before the response headers
 * - `x-stand-in-chunk-delay-ms: 5` wait between streamed events
 * - `x-stand-in-first-event-delay-ms: 300` send a stream's headers at once, its first event this much later
 * - `x-stand-in-hang: headers|body` never answer / stop after the first event
 * - `x-stand-in-chunks: 40` number of content pieces in a generated stream
 * - `x-stand-in-piece-chars: 1000` make each piece at least this long (a word repeated)
 * - `x-stand-in-echo: 1` answer with the last user message, word by word (one piece per word)
 * - `x-stand-in-usage: {"prompt_tokens": -5}` members merged into the generated answer's usage
 *   (bytes as given: `9007199254740993` stays that number on the wire)
 * - `x-stand-in-service-tier: flex` the `service_tier` a chat answer reports
 * - `x-stand-in-endless: text|line` a chat stream that never ends, for as long as the client reads:
 *   `text` sends content chunks of 1,000 characters, `line` one `data:` line that never gets its line break
 *
 * A generated answer names the requested model, unless `servedModels` maps it
 * to a snapshot: OpenAI answers a call for `gpt-4o` with
 * `"model": "gpt-4o-2024-08-06"`, and so does the stand-in given
 * `{ servedModels: { 'gpt-4o': 'gpt-4o-2024-08-06' } }`.
 */

/** How this stand-in differs from the providers it imitates (the servers the gateway must cope with). */
export interface StandInOptions {
  /**
   * Answer 400 to any request with `stream_options`, as a self-hosted server
   * or an older Azure api-version does: `{"error": {"message": "Unrecognized
   * request argument supplied: stream_options", …}}`.
   */
  rejectStreamOptions?: boolean;
  /** Requested model → the model the answer names (a dated snapshot). */
  servedModels?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: Buffer;
}

export interface StandIn {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests whose connection closed before the answer ended (client aborts). */
  aborted: string[];
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const WORDS = 'Hello from the stand-in upstream: this answer streams one word at a time, like a real model would.'.split(' ');

function contentPieces(count: number, minChars = 0): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    const word = WORDS[i % WORDS.length]!;
    pieces.push((i === 0 ? '' : ' ') + word.repeat(Math.max(1, Math.ceil(minChars / word.length))));
  }
  return pieces;
}

function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  const last = messages[messages.length - 1];
  const content = last?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p.text ?? '').join('');
  return typeof body.input === 'string' ? body.input : '';
}

/** Rough but deterministic token count for generated usage. */
function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

async function writeEvents(res: ServerResponse, events: string[], delayMs: number, hangAfterFirst: boolean): Promise<void> {
  for (let i = 0; i < events.length; i++) {
    if (res.destroyed) return;
    res.write(events[i]);
    if (hangAfterFirst && i === 0) return; // leave the stream open forever
    if (delayMs > 0) await sleep(delayMs);
  }
  res.end();
}

function openAiError(status: number): unknown {
  if (status === 429) {
    return { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
  }
  if (status === 401) {
    return { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } };
  }
  return { error: { message: `stand-in error ${status}`, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } };
}

function anthropicError(status: number): unknown {
  const type =
    status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  return { type: 'error', error: { type, message: `stand-in ${type}` } };
}

/** Answer options from control headers. */
interface AnswerOptions {
  /** Raw JSON members (`"a":1,"b":-2`) that replace the usage's own: numbers keep the exact text sent. */
  usageMembers: string | null;
  serviceTier: string | null;
}

/** JSON of `usage` with `members` (raw JSON object text) merged in, their bytes kept as written. */
function usageJson(usage: Record<string, unknown>, members: string | null): string {
  if (members === null) return JSON.stringify(usage);
  const inner = members.trim().replace(/^\{|\}$/g, '');
  const names = new Set([...inner.matchAll(/"([^"]+)"\s*:/g)].map((m) => m[1]!));
  const kept = Object.entries(usage).filter(([k]) => !names.has(k));
  return `{${[...kept.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`), inner].filter(Boolean).join(',')}}`;
}

/** `JSON.stringify(value)` with its `"usage":"__USAGE__"` placeholder replaced by raw usage JSON. */
function withUsage(value: unknown, usage: string): string {
  return JSON.stringify(value).replace('"usage":"__USAGE__"', `"usage":${usage}`);
}

function chatAnswer(model: string, body: Record<string, unknown>, pieces: string[], options: AnswerOptions): { events: string[]; json: string } {
  const id = 'chatcmpl-standin0000000000000000001';
  const created = 1764259200;
  const text = pieces.join('');
  const promptTokens = countTokens(lastUserText(body));
  const usage = usageJson({ prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length }, options.usageMembers);
  const tier = options.serviceTier === null ? {} : { service_tier: options.serviceTier };
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      ...tier,
      system_fingerprint: 'fp_standin',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    })}\n\n`;
  const events = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])];
  for (const p of pieces) events.push(chunk([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]));
  events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
  if (includeUsage) {
    const last = { id, object: 'chat.completion.chunk', created, model, ...tier, system_fingerprint: 'fp_standin', choices: [], usage: '__USAGE__' };
    events.push(`data: ${withUsage(last, usage)}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  const json = {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: '__USAGE__',
    ...tier,
    system_fingerprint: 'fp_standin',
  };
  return { events, json: withUsage(json, usage) };
}

function messagesAnswer(model: string, body: Record<string, unknown>, pieces: string[], options: AnswerOptions): { events: string[]; json: string } {
  const id = 'msg_standin000000000000000001';
  const inputTokens = countTokens(lastUserText(body));
  const usage = usageJson({ input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: pieces.length }, options.usageMembers);
  const ev = (type: string, data: unknown): string => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  const events = [
    ev('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: '__USAGE__',
      },
    }).replace('"usage":"__USAGE__"', `"usage":${usageJson({ input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 }, options.usageMembers)}`),
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', { type: 'ping' }),
  ];
  for (const p of pieces) {
    events.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }));
  }
  events.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
  events.push(
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: pieces.length } }),
  );
  events.push(ev('message_stop', { type: 'message_stop' }));
  const json = {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: pieces.join('') }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: '__USAGE__',
  };
  return { events, json: withUsage(json, usage) };
}

function embeddingsAnswer(model: string, body: Record<string, unknown>): unknown {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const tokens = inputs.reduce((n: number, s) => n + countTokens(String(s)), 0);
  return {
    object: 'list',
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.0123, -0.0456, 0.0789] })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** Writes `next()` for as long as the client reads (respecting backpressure), until it goes away. */
async function writeForever(res: ServerResponse, first: string, next: () => Buffer): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(first);
  while (!res.destroyed) {
    if (!res.write(next())) await new Promise<void>((r) => {
      res.once('drain', r);
      res.once('close', r);
    });
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer, standIn: StandInOptions): Promise<void> {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const endless = header('x-stand-in-endless');
  if (endless === 'text') {
    const chunk = Buffer.from(`data: ${JSON.stringify({ id: 'chatcmpl-endless', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: 'e'.repeat(1_000) }, finish_reason: null }] })}\n\n`);
    await writeForever(res, '', () => chunk);
    return;
  }
  if (endless === 'line') {
    const chunk = Buffer.alloc(64 * 1024, 0x6c);
    await writeForever(res, 'data: {"choices":[{"index":0,"delta":{"content":"', () => chunk);
    return;
  }
  const delay = Number(header('x-stand-in-delay-ms') ?? 0);
  const hang = header('x-stand-in-hang');
  if (hang === 'headers') return; // never answers
  if (delay > 0) await sleep(delay);
  const chunkDelay = Number(header('x-stand-in-chunk-delay-ms') ?? 0);

  const fixture = header('x-stand-in-fixture');
  if (fixture) {
    const [provider, name] = fixture.split('/') as [string, string];
    const f = loadFixture(provider as 'openai' | 'anthropic', name);
    res.writeHead(f.meta.status, { ...(f.meta.headers ?? { 'content-type': 'application/json' }) });
    if (f.streamed) {
      const events = f.response.toString('utf8').split(/(?<=\n\n)/);
      await writeEvents(res, events, chunkDelay, hang === 'body');
    } else {
      res.end(f.response);
    }
    return;
  }

  const anthropic = req.url?.startsWith('/v1/messages') ?? false;
  const status = Number(header('x-stand-in-status') ?? 200);
  if (status >= 400) {
    const body = JSON.stringify(anthropic ? anthropicError(status) : openAiError(status));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }

  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    const err = JSON.stringify(anthropic ? anthropicError(400) : openAiError(400));
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(err);
    return;
  }
  if (standIn.rejectStreamOptions && body.stream_options !== undefined) {
    const err = JSON.stringify({
      error: { message: 'Unrecognized request argument supplied: stream_options', type: 'invalid_request_error', param: null, code: null },
    });
    res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(err) });
    res.end(err);
    return;
  }
  const requested = typeof body.model === 'string' ? body.model : 'stand-in-model';
  const model = standIn.servedModels?.[requested] ?? requested;
  const pieces =
    header('x-stand-in-echo') === '1'
      ? lastUserText(body).split(/(?<= )/)
      : contentPieces(Number(header('x-stand-in-chunks') ?? 8), Number(header('x-stand-in-piece-chars') ?? 0));
  const url = req.url ?? '';

  if (url.endsWith('/embeddings')) {
    const json = JSON.stringify(embeddingsAnswer(model, body));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
    return;
  }
  const options: AnswerOptions = { usageMembers: header('x-stand-in-usage') ?? null, serviceTier: header('x-stand-in-service-tier') ?? null };
  const answer = anthropic ? messagesAnswer(model, body, pieces, options) : chatAnswer(model, body, pieces, options);
  if (body.stream === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const firstEventDelay = Number(header('x-stand-in-first-event-delay-ms') ?? 0);
    if (firstEventDelay > 0) {
      res.flushHeaders();
      await sleep(firstEventDelay);
    }
    await writeEvents(res, answer.events, chunkDelay, hang === 'body');
    return;
  }
  const json = answer.json;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), 'x-request-id': 'req_standin' });
  res.end(json);
}

export async function startStandIn(port = 0, options: StandInOptions = {}): Promise<StandIn> {
  const requests: RecordedRequest[] = [];
  const aborted: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
      res.on('close', () => {
        if (!res.writableFinished) aborted.push(req.url ?? '');
      });
      handle(req, res, body, options).catch((err: unknown) => {
        res.destroy(err as Error);
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    aborted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Standalone: `node dist/test/support/stand-in-upstream.js 9999` (benchmarks use it this way). */
if (require.main === module) {
  void startStandIn(Number(process.argv[2] ?? 0)).then((s) => process.stdout.write(`${s.url}\n`));
}
