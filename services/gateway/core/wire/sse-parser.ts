/**
 * Incremental server-sent-events parser following the WHATWG HTML
 * "event stream interpretation" rules. Upstream bytes arrive in arbitrary
 * network chunks, so every piece of state (partial UTF-8 sequence, partial
 * line, half-built event, a CR whose LF may be in the next chunk) survives
 * between pushes.
 */
import { StringDecoder } from 'node:string_decoder';
import { LineBreakFinder } from './line-breaks';
import type { SseEvent } from './types';

export interface SseParser {
  /** Feeds the next bytes; returns the events completed by them, in order. */
  push(chunk: Buffer | string): SseEvent[];
  /** Signals end of stream; returns any events still pending. The parser must not be used afterwards. */
  end(): SseEvent[];
  /** Events dropped because they (or one of their lines) outgrew `maxEventChars`. */
  readonly skipped: number;
}

export interface SseParserOptions {
  /**
   * The spec discards an event that the stream ends in the middle of (no
   * terminating blank line). A logging gateway usually prefers to keep it:
   * some servers close the connection right after the last `data:` line, and
   * that last event may be the one carrying usage. Default: false (keep it).
   */
  discardUnterminatedEvent?: boolean;
  /**
   * An event whose data (or a line still waiting for its end) grows past
   * this many characters is dropped, and the rest of its line skipped, so a
   * stream that never sends a line break cannot grow memory without bound.
   * Default: no limit.
   */
  maxEventChars?: number;
}

const BYTE_ORDER_MARK = '\uFEFF';

export function createSseParser(options: SseParserOptions = {}): SseParser {
  const discardUnterminated = options.discardUnterminatedEvent ?? false;
  const maxEventChars = options.maxEventChars ?? Number.POSITIVE_INFINITY;
  const decoder = new StringDecoder('utf8');
  const breaks = new LineBreakFinder();

  let partialLine = '';
  // A chunk that ends in CR leaves open whether the next byte is the LF of a CRLF.
  let skipLeadingLf = false;
  let atStreamStart = true;
  let ended = false;

  let dataLines: string[] = [];
  let eventType = '';
  // Per spec the last event ID persists across events until a new `id:` line.
  let lastEventId = '';
  // Characters of the event's data lines so far; the event is dropped (and `skipped` counts it) past maxEventChars.
  let eventChars = 0;
  let dropEvent = false;
  // The line in progress outgrew maxEventChars: its bytes are skipped up to its line break.
  let skipLine = false;
  let skipped = 0;

  function overflow(): void {
    if (!dropEvent) skipped += 1;
    dropEvent = true;
    dataLines = [];
    eventChars = 0;
  }

  function dispatch(out: SseEvent[]): void {
    if (dropEvent) {
      dropEvent = false;
      dataLines = [];
      eventChars = 0;
      eventType = '';
      return;
    }
    if (dataLines.length === 0) {
      eventType = '';
      return;
    }
    out.push({
      event: eventType === '' ? null : eventType,
      data: dataLines.join('\n'),
      id: lastEventId === '' ? null : lastEventId,
    });
    dataLines = [];
    eventChars = 0;
    eventType = '';
  }

  function processLine(line: string, out: SseEvent[]): void {
    if (line === '') {
      dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 0x3a /* ':' */) return; // comment, e.g. keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20 /* ' ' */) value = value.slice(1);
    switch (field) {
      case 'event':
        eventType = value;
        break;
      case 'data':
        if (dropEvent) break;
        eventChars += value.length;
        if (eventChars > maxEventChars) overflow();
        else dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) lastEventId = value;
        break;
      default:
        // `retry` only matters to a reconnecting client; unknown fields are ignored by spec.
        break;
    }
  }

  function consume(text: string, out: SseEvent[]): void {
    if (text === '') return;
    if (atStreamStart) {
      atStreamStart = false;
      if (text.startsWith(BYTE_ORDER_MARK)) text = text.slice(1);
    }
    let lineStart = 0;
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (text.charCodeAt(0) === 0x0a) lineStart = 1;
    }
    breaks.reset(text, lineStart);
    for (;;) {
      const breakAt = breaks.next(lineStart);
      if (breakAt === -1) break;
      const skipping = skipLine;
      const line = skipping ? '' : partialLine + text.slice(lineStart, breakAt);
      partialLine = '';
      skipLine = false;
      let next = breakAt + 1;
      if (text.charCodeAt(breakAt) === 0x0d) {
        if (next < text.length) {
          if (text.charCodeAt(next) === 0x0a) next += 1;
        } else {
          skipLeadingLf = true;
        }
      }
      // The end of a line too long to keep: what came of it is gone, the line it ends is not processed.
      if (!skipping) processLine(line, out);
      lineStart = next;
    }
    if (skipLine) return;
    partialLine += text.slice(lineStart);
    if (partialLine.length + eventChars > maxEventChars) {
      partialLine = '';
      skipLine = true;
      overflow();
    }
  }

  return {
    push(chunk) {
      if (ended) throw new Error('SSE parser already ended');
      const out: SseEvent[] = [];
      // Strings go through the decoder too, so a multibyte sequence split by an
      // earlier Buffer chunk is completed in order.
      consume(decoder.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk), out);
      return out;
    },
    end() {
      if (ended) return [];
      ended = true;
      const out: SseEvent[] = [];
      consume(decoder.end(), out);
      if (!discardUnterminated) {
        if (partialLine !== '' && !skipLine) processLine(partialLine, out);
        dispatch(out);
      }
      partialLine = '';
      dataLines = [];
      return out;
    },
    get skipped() {
      return skipped;
    },
  };
}

/** Convenience for whole bodies (fixtures, buffered responses). */
export function parseSseText(body: Buffer | string, options?: SseParserOptions): SseEvent[] {
  const parser = createSseParser(options);
  return [...parser.push(body), ...parser.end()];
}
