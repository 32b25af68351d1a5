import { isTerminalEvent } from './stream-end';
import { createSseParser } from './wire/sse-parser';
import { createStreamAccumulator, emptyParsedResponse, parseErrorBody, parseResponseBody } from './wire';
import { tryParseJson, type ParseJson } from './wire/json-value';
import type { Endpoint, ParsedResponse, WireFormat } from './wire/types';

/** Non-streamed bodies larger than this are not parsed (usage is then estimated). */
export const MAX_PARSED_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Reads a copy of the upstream's (decoded) answer and produces what the event
 * needs. Streams are parsed event by event as they pass; other bodies are
 * parsed once complete.
 */
export class ResponseAccounting {
  private readonly sse: ReturnType<typeof createSseParser> | null;
  private readonly accumulator;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  /** A terminal event (e.g. `[DONE]`) was seen in the most recent chunk. */
  sawTerminal = false;
  /** After `result()`: a non-streamed body's text, when it was read whole (null otherwise). */
  bodyText: string | null = null;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly wire: WireFormat,
    private readonly status: number,
    readonly streamed: boolean,
    parse: ParseJson = tryParseJson,
  ) {
    this.sse = streamed ? createSseParser() : null;
    this.accumulator = streamed ? createStreamAccumulator(endpoint, wire, parse) : null;
  }

  push(chunk: Buffer): void {
    if (this.sse && this.accumulator) {
      this.sawTerminal = false;
      for (const event of this.sse.push(chunk)) {
        this.accumulator.push(event);
        if (isTerminalEvent(event)) this.sawTerminal = true;
      }
      return;
    }
    this.bytes += chunk.length;
    if (this.bytes <= MAX_PARSED_BODY_BYTES) this.chunks.push(chunk);
  }

  /** The streamed answer's text so far, without ending the parse (for live views). */
  partialText(): string {
    return this.accumulator ? this.accumulator.result().text : '';
  }

  result(): ParsedResponse {
    if (this.sse && this.accumulator) {
      for (const event of this.sse.end()) this.accumulator.push(event);
      return this.accumulator.result();
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
