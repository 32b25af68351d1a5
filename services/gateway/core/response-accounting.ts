import { isTerminalEvent } from './stream-end';
import { createSseParser, type SseParser } from './wire/sse-parser';
import { createStreamAccumulator, emptyParsedResponse, parseErrorBody, parseResponseBody, TextBudget } from './wire';
import type { Endpoint, ParsedResponse, StreamAccumulator, WireFormat } from './wire/types';

/** Non-streamed bodies larger than this are not parsed (usage is then estimated). */
export const MAX_PARSED_BODY_BYTES = 64 * 1024 * 1024;

/** Streamed bytes kept unparsed at most: beyond this they are parsed as they come. */
export const MAX_UNPARSED_STREAM_BYTES = 64 * 1024;

/** Bounds on what one answer may make the gateway hold (LLM_LOGGER_RESPONSE_TEXT_MAX_CHARS, LLM_LOGGER_STREAM_EVENT_MAX_CHARS). */
export interface AnswerLimits {
  textMaxChars: number;
  eventMaxChars: number;
}

const NO_LIMITS: AnswerLimits = { textMaxChars: Number.POSITIVE_INFINITY, eventMaxChars: Number.POSITIVE_INFINITY };

/**
 * Reads a copy of the upstream's (decoded) answer and produces what the event
 * needs. Nothing is parsed while the answer passes (unless strict mode asks
 * whether it has ended, or a long stream outgrows MAX_UNPARSED_STREAM_BYTES):
 * bodies are parsed once complete, and a stream's events when it is read
 * (`result`, `partialText`), so the parsing of many calls runs back to back
 * when they are recorded.
 */
export class ResponseAccounting {
  /** A stream's parser and what it has read, made at the first parse (most calls: when recorded). */
  private parse: { sse: SseParser; accumulator: StreamAccumulator } | null = null;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  /** Streamed chunks not parsed yet. */
  private unparsed: Buffer[] = [];
  private unparsedBytes = 0;
  private terminalInLastChunk = false;
  /** After `result()`: a non-streamed body's text, when it was read whole (null otherwise). */
  bodyText: string | null = null;
  private readonly budget: TextBudget;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly wire: WireFormat,
    private readonly status: number,
    readonly streamed: boolean,
    private readonly limits: AnswerLimits = NO_LIMITS,
  ) {
    this.budget = new TextBudget(limits.textMaxChars);
  }

  private parser(): { sse: SseParser; accumulator: StreamAccumulator } {
    return (this.parse ??= {
      sse: createSseParser({ maxEventChars: this.limits.eventMaxChars }),
      accumulator: createStreamAccumulator(this.endpoint, this.wire, this.budget),
    });
  }

  /** Characters of streamed answer text (or tool-call arguments) dropped past the text limit. */
  get cutChars(): number {
    return this.budget.cutChars;
  }

  /** Server-sent events dropped for being longer than the event limit (their content, usage included, is lost). */
  get skippedEvents(): number {
    return this.parse?.sse.skipped ?? 0;
  }

  push(chunk: Buffer): void {
    if (this.streamed) {
      this.unparsed.push(chunk);
      this.unparsedBytes += chunk.length;
      if (this.unparsedBytes > MAX_UNPARSED_STREAM_BYTES) this.parseStream();
      return;
    }
    this.bytes += chunk.length;
    if (this.bytes <= MAX_PARSED_BODY_BYTES) this.chunks.push(chunk);
  }

  /** Whether a terminal event (e.g. `[DONE]`) came in the most recent chunk. */
  get sawTerminal(): boolean {
    this.parseStream();
    return this.terminalInLastChunk;
  }

  private parseStream(): void {
    if (this.unparsed.length === 0) return;
    const { sse, accumulator } = this.parser();
    const chunks = this.unparsed;
    this.unparsed = [];
    this.unparsedBytes = 0;
    for (const chunk of chunks) {
      this.terminalInLastChunk = false;
      for (const event of sse.push(chunk)) {
        accumulator.push(event);
        if (isTerminalEvent(event)) this.terminalInLastChunk = true;
      }
    }
  }

  /** The streamed answer's text so far, without ending the parse (for live views). */
  partialText(): string {
    this.parseStream();
    return this.streamed ? this.parser().accumulator.result().text : '';
  }

  result(): ParsedResponse {
    if (this.streamed) {
      this.parseStream();
      const { sse, accumulator } = this.parser();
      for (const event of sse.end()) accumulator.push(event);
      return accumulator.result();
    }
    if (this.bytes === 0 || this.bytes > MAX_PARSED_BODY_BYTES) return emptyParsedResponse();
    let json: unknown;
    const whole = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
    this.bodyText = whole.toString('utf8');
    try {
      json = JSON.parse(this.bodyText);
    } catch {
      return emptyParsedResponse();
    }
    if (this.status < 400) return parseResponseBody(this.endpoint, this.wire, json);
    return { ...emptyParsedResponse(), error: parseErrorBody(this.wire, json) };
  }
}

export function isEventStream(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && value.toLowerCase().startsWith('text/event-stream');
}
