/**
 * Token counts for calls whose provider reported no usage (e.g. a stream
 * without `stream_options.include_usage`), computed with OpenAI's real BPE
 * vocabularies via js-tiktoken.
 *
 * OpenAI models get their own encoding, so their counts match the API's for
 * the same text (message framing tokens aside). Anthropic does not publish its
 * tokenizer, so Claude and unknown models are counted with o200k_base: an
 * approximation whose error is unmeasured here and likely larger for code
 * and non-English text than for English prose.
 */
import type { Tiktoken, TiktokenBPE } from 'js-tiktoken/lite' with { 'resolution-mode': 'import' };

export type EncodingName = 'o200k_base' | 'cl100k_base';

/** Model families that predate o200k_base. Everything else gets o200k_base. */
const CL100K_FAMILIES: readonly RegExp[] = [
  /^gpt-3\.5/,
  /^gpt-35/, // Azure's spelling
  /^gpt-4(?:$|-)/, // gpt-4, gpt-4-turbo, gpt-4-32k…; gpt-4o, gpt-4.1 and gpt-4.5 are o200k
  /^text-embedding-(?:3-|ada-002)/,
];

/**
 * Long text is encoded in pieces of at most this many characters, cut at
 * whitespace. js-tiktoken's byte-pair merge is quadratic in the length of a
 * single pre-token, so one huge unbroken run (a pasted blob, a long repeated
 * character) could otherwise stall the event loop for minutes.
 */
const MAX_PIECE_CHARS = 1024;

/**
 * A stretch with no whitespace is cut this short instead: the merge cost per
 * character grows with the run length, and a cut inside a run adds at most one
 * token to the estimate (about 1% on base64, for instance).
 */
const MAX_RUN_CHARS = 128;

const encoders = new Map<EncodingName, Tiktoken>();

/**
 * The rank files are megabytes each, so they are required on first use
 * rather than imported: a gateway that never estimates never pays for them,
 * and one that does loads only the encodings it needs.
 */
function loadRanks(name: EncodingName): TiktokenBPE {
  switch (name) {
    case 'o200k_base':
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, see above
      return require('js-tiktoken/ranks/o200k_base') as TiktokenBPE;
    case 'cl100k_base':
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, see above
      return require('js-tiktoken/ranks/cl100k_base') as TiktokenBPE;
  }
}

function encoderFor(name: EncodingName): Tiktoken {
  let encoder = encoders.get(name);
  if (encoder === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's types are ESM-only; the CJS build is what runs
    const lite = require('js-tiktoken/lite') as { Tiktoken: typeof Tiktoken };
    encoder = new lite.Tiktoken(loadRanks(name));
    encoders.set(name, encoder);
  }
  return encoder;
}

export function encodingForModel(model: string | null): EncodingName {
  const id = (model ?? '').trim().toLowerCase();
  return CL100K_FAMILIES.some((family) => family.test(id)) ? 'cl100k_base' : 'o200k_base';
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Splits long text so each piece starts at the beginning of a whitespace run.
 * The encodings attach leading whitespace to the following word, so cutting
 * there gives the same tokens as encoding the text whole; only a window
 * with no whitespace at all is cut mid-run.
 */
function pieces(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (text.length - start > MAX_PIECE_CHARS) {
    let cut = start + MAX_PIECE_CHARS;
    let ws = cut - 1;
    while (ws > start && !isWhitespace(text.charCodeAt(ws))) ws -= 1;
    if (ws > start) {
      while (ws - 1 > start && isWhitespace(text.charCodeAt(ws - 1))) ws -= 1;
      cut = ws;
    } else {
      cut = start + MAX_RUN_CHARS;
      if (isHighSurrogate(text.charCodeAt(cut - 1))) cut -= 1;
    }
    out.push(text.slice(start, cut));
    start = cut;
  }
  out.push(text.slice(start));
  return out;
}

/**
 * Estimated token count of `text` for `model` (null when the model is not
 * known). Special-token markers such as `<|endoftext|>` in user text are
 * counted as ordinary text, never rejected.
 */
export function estimateTokens(model: string | null, text: string): number {
  if (text.length === 0) return 0;
  const encoder = encoderFor(encodingForModel(model));
  let count = 0;
  for (const piece of pieces(text)) {
    count += encoder.encode(piece, [], []).length;
  }
  return count;
}
