/**
 * A streamed OpenAI-format call reports token usage only if the client sets
 * `stream_options.include_usage`. To account every call exactly, the gateway
 * asks for usage itself (`injectIncludeUsage`) and then removes from the
 * client's stream everything that option added (`createUsageStripper`), so the
 * client receives the bytes it would have received without the option.
 *
 * What include_usage adds, per the Chat Completions / Completions docs:
 * - one extra chunk before `data: [DONE]` whose `choices` is `[]` and whose
 *   `usage` holds the counts;
 * - a `"usage":null` member in every other chunk.
 */
import { findMember, removeMember, topLevelMembers } from './json-member-span';
import { isObject, tryParseJson } from './json-value';
import { LineBreakFinder } from './line-breaks';

/**
 * The request body with `stream_options.include_usage` set, or null when the
 * body must be forwarded untouched: not a JSON object, not streaming, or the
 * client already asked for usage. Everything outside `stream_options` keeps
 * its exact bytes. Meant for `chat.completions` and `completions` only.
 * `parsed` is the body's JSON when the caller has already parsed it.
 */
export function injectIncludeUsage(body: Buffer, parsed: unknown = tryParseJson(body.toString('utf8'))): Buffer | null {
  if (!isObject(parsed) || parsed.stream !== true) return null;
  const options = parsed.stream_options;
  if (isObject(options) && options.include_usage === true) return null;

  // A latin1 view maps each byte to one character, so offsets are byte offsets.
  const source = body.toString('latin1');
  const members = topLevelMembers(source);
  if (members === null) return null;
  const replacement = Buffer.from(
    JSON.stringify({ ...(isObject(options) ? options : {}), include_usage: true }),
    'utf8',
  );
  const existing = findMember(members, 'stream_options');
  if (existing !== null) {
    return Buffer.concat([
      body.subarray(0, existing.valueStart),
      replacement,
      body.subarray(existing.valueEnd),
    ]);
  }
  // `stream: true` was found, so there is at least one member to follow.
  const last = members[members.length - 1];
  if (last === undefined) return null;
  return Buffer.concat([
    body.subarray(0, last.valueEnd),
    Buffer.from(',"stream_options":', 'ascii'),
    replacement,
    body.subarray(last.valueEnd),
  ]);
}

export interface UsageStripper {
  /** Raw upstream bytes in; the bytes to forward to the client out (possibly empty). */
  push(chunk: Buffer): Buffer;
  /** Upstream ended; returns whatever partial event was still held. */
  end(): Buffer;
  /** An event outgrew the limit: stripping stopped and the rest of the stream passes unchanged. */
  readonly abandoned: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Streaming transformer over the raw SSE bytes of an upstream response to a
 * request changed by `injectIncludeUsage`. Works event by event: a complete
 * event (ended by a blank line) is forwarded as soon as its blank line
 * arrives; only an unfinished trailing event is held back. Bytes are handled
 * as latin1 text so nothing is ever re-encoded: the output differs from the
 * input only by the removals described above.
 */
export function createUsageStripper(options: { maxEventChars?: number } = {}): UsageStripper {
  const maxEventChars = options.maxEventChars ?? Number.POSITIVE_INFINITY;
  // An event longer than the limit is not held back any more: what is held goes out and the rest
  // of the stream passes unchanged (the client may then see the usage chunk it did not ask for).
  let abandoned = false;
  let pending = '';
  let lineStart = 0;
  let searchFrom = 0;
  // An event that ended on a bare CR may still be followed by the LF of a CRLF;
  // that LF belongs to the event already forwarded (or dropped).
  let lfMayContinuePrevious = false;
  let previousDropped = false;
  const breaks = new LineBreakFinder();

  function emit(event: string): string {
    const transformed = transformEvent(event);
    previousDropped = transformed === '' && event !== '';
    return transformed;
  }

  return {
    push(chunk) {
      if (abandoned) return chunk;
      let text = chunk.toString('latin1');
      let out = '';
      if (lfMayContinuePrevious && text !== '') {
        lfMayContinuePrevious = false;
        if (text.charCodeAt(0) === LF) {
          if (!previousDropped) out += '\n';
          text = text.slice(1);
        }
      }
      pending += text;

      let pos = searchFrom;
      searchFrom = pending.length;
      breaks.reset(pending, pos);
      for (;;) {
        const at = breaks.next(pos);
        if (at === -1) break;
        let next = at + 1;
        let endsOnCr = false;
        if (pending.charCodeAt(at) === CR) {
          if (next < pending.length) {
            if (pending.charCodeAt(next) === LF) next += 1;
          } else if (at !== lineStart) {
            // A content line's CR could be half of a CRLF; decide when more bytes come.
            searchFrom = at;
            break;
          } else {
            endsOnCr = true;
          }
        }
        if (at !== lineStart) {
          lineStart = next;
          pos = next;
          continue;
        }
        // Blank line: the event is complete and goes out now.
        out += emit(pending.slice(0, next));
        pending = pending.slice(next);
        breaks.dropped(pending, next);
        lineStart = 0;
        searchFrom = pending.length;
        pos = 0;
        if (endsOnCr) lfMayContinuePrevious = true;
      }
      if (pending.length > maxEventChars) {
        abandoned = true;
        out += pending;
        pending = '';
      }
      return Buffer.from(out, 'latin1');
    },
    get abandoned() {
      return abandoned;
    },
    end() {
      if (abandoned) return Buffer.alloc(0);
      const out = pending === '' ? '' : emit(pending);
      pending = '';
      lineStart = 0;
      searchFrom = 0;
      return Buffer.from(out, 'latin1');
    },
  };
}

interface DataLine {
  /** Offsets within the event text of the line's value (after `data:` and its optional space). */
  valueStart: number;
  valueEnd: number;
}

const NON_ASCII = /[\u0080-\u00ff]/;
/** The member include_usage adds to every chunk, as compact JSON writes it after another member. */
const USAGE_NULL = ',"usage":null';
/** What may follow it to the end of a compact chunk: string members without escapes (OpenAI's `obfuscation`), then the end. */
const AFTER_USAGE_NULL = /(?:,"[^"\\]*":"[^"\\]*")*\}$/y;

/**
 * The chunk without its `"usage":null` member, found without parsing, or null
 * when the text does not end in the compact layout. In JSON, a text ending in
 * `,"usage":null` and then only string members without escapes and a `}` has
 * `usage` as a member of the top-level object: read backwards from the end,
 * each of those tokens can be nothing else (inside a string the quotes would
 * be escaped, and a nested object would end in `}}`). A text that is not JSON
 * at all is of no use to the client either way; it loses the same bytes.
 */
function cutCompactUsageNull(value: string): string | null {
  const at = value.lastIndexOf(USAGE_NULL);
  if (at === -1) return null;
  AFTER_USAGE_NULL.lastIndex = at + USAGE_NULL.length;
  if (!AFTER_USAGE_NULL.test(value)) return null;
  return value.slice(0, at) + value.slice(at + USAGE_NULL.length);
}

/** One event's bytes (latin1) as the client should receive them; '' to drop the event. */
function transformEvent(event: string): string {
  const dataLines = findDataLines(event);
  if (dataLines.length === 0) return event;
  const only = dataLines.length === 1 ? dataLines[0] : undefined;
  const value = only === undefined ? undefined : event.slice(only.valueStart, only.valueEnd);
  // The common layout is cut without a parse (the accounting parses every chunk later, off the stream's path).
  const cut = value === undefined ? null : cutCompactUsageNull(value);
  if (only !== undefined && cut !== null) return event.slice(0, only.valueStart) + cut + event.slice(only.valueEnd);
  const data = value ?? dataLines.map((line) => event.slice(line.valueStart, line.valueEnd)).join('\n');
  // The latin1 text is the UTF-8 text when every byte is ASCII.
  const chunk = tryParseJson(NON_ASCII.test(data) ? Buffer.from(data, 'latin1').toString('utf8') : data);
  if (!isObject(chunk)) return event; // `[DONE]`, comments-only, non-JSON: untouched
  if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && isObject(chunk.usage)) return '';
  if (chunk.usage !== null || only === undefined || value === undefined) {
    // A JSON value split over several data lines is not something OpenAI-format
    // servers send; such an event is forwarded as is rather than rebuilt.
    return event;
  }
  // The member is cut out of the raw text rather than re-serialising the JSON,
  // which would change number spellings, escapes and spacing. Finding it
  // textually is safe: inside a JSON string every `"` is escaped as `\"`, so a
  // `"usage":null` whose quotes are unescaped can only be a real member, and the
  // scanner additionally checks it sits at the top level.
  const members = topLevelMembers(value);
  const usage = members === null ? null : findMember(members, 'usage');
  if (members === null || usage === null) return event;
  return event.slice(0, only.valueStart) + removeMember(value, members, usage) + event.slice(only.valueEnd);
}

function findDataLines(event: string): DataLine[] {
  const lines: DataLine[] = [];
  let start = 0;
  // Where lines end is found natively (indexOf): most events have no CR at all.
  let cr = event.indexOf('\r');
  while (start < event.length) {
    if (cr !== -1 && cr < start) cr = event.indexOf('\r', start);
    const lf = event.indexOf('\n', start);
    const end = lf === -1 ? (cr === -1 ? event.length : cr) : cr === -1 ? lf : Math.min(lf, cr);
    if (event.startsWith('data', start)) {
      if (end === start + 4) {
        lines.push({ valueStart: end, valueEnd: end });
      } else if (event.charCodeAt(start + 4) === 0x3a /* ':' */) {
        const valueStart = event.charCodeAt(start + 5) === 0x20 ? start + 6 : start + 5;
        lines.push({ valueStart: Math.min(valueStart, end), valueEnd: end });
      }
    }
    start = end;
    if (event.charCodeAt(start) === CR) start++;
    if (event.charCodeAt(start) === LF) start++;
  }
  return lines;
}
