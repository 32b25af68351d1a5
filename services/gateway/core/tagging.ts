import { GATEWAY_HEADER_PREFIX } from './headers';

/** What the client told the gateway about a call through `x-llm-*` headers. */
export interface CallTags {
  user: string | null;
  app: string | null;
  session: string | null;
  traceId: string | null;
  tags: Record<string, string>;
  /** `x-llm-sample`: true/false forces body capture on/off; null = sample. */
  sample: boolean | null;
}

export interface TaggingError {
  header: string;
  message: string;
}

export const MAX_TAG_VALUE_CHARS = 1024;
export const MAX_TAGS = 64;
const TAG_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

const FIELDS: Record<string, 'user' | 'app' | 'session' | 'traceId'> = {
  'x-llm-user': 'user',
  'x-llm-app': 'app',
  'x-llm-session': 'session',
  'x-llm-trace-id': 'traceId',
};

export const KNOWN_GATEWAY_HEADERS = [...Object.keys(FIELDS), 'x-llm-sample', 'x-llm-tag-<name>', 'x-llm-key'];

/** Parses the lower-cased `x-llm-*` headers; an unknown or malformed one is an error naming it. */
export function parseCallTags(headers: readonly [string, string][]): CallTags | TaggingError {
  const result: CallTags = { user: null, app: null, session: null, traceId: null, tags: {}, sample: null };
  for (const [name, rawValue] of headers) {
    const value = rawValue.trim();
    if (value.length > MAX_TAG_VALUE_CHARS) {
      return { header: name, message: `${name} is longer than ${MAX_TAG_VALUE_CHARS} characters` };
    }
    const field = FIELDS[name];
    if (field) {
      result[field] = value === '' ? null : value;
    } else if (name === 'x-llm-sample') {
      if (value !== '0' && value !== '1') return { header: name, message: 'x-llm-sample must be 0 or 1' };
      result.sample = value === '1';
    } else if (name.startsWith(`${GATEWAY_HEADER_PREFIX}tag-`)) {
      const tag = name.slice(`${GATEWAY_HEADER_PREFIX}tag-`.length);
      if (!TAG_NAME.test(tag)) return { header: name, message: `tag name "${tag}" must match ${TAG_NAME.source}` };
      if (!(tag in result.tags) && Object.keys(result.tags).length >= MAX_TAGS) {
        return { header: name, message: `at most ${MAX_TAGS} x-llm-tag-* headers per call` };
      }
      result.tags[tag] = value;
    } else {
      return { header: name, message: `unknown gateway header ${name}; known: ${KNOWN_GATEWAY_HEADERS.join(', ')}` };
    }
  }
  return result;
}

export function isTaggingError(t: CallTags | TaggingError): t is TaggingError {
  return (t as TaggingError).header !== undefined;
}

/** Body capture decision: the header wins, otherwise `random < rate`. */
export function shouldCapture(sample: boolean | null, sampleRate: number, random: number): boolean {
  if (sample !== null) return sample;
  return random < sampleRate;
}
