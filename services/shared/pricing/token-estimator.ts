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
 * Long text is encoded in pieces of about this many characters, cut where a
 * whitespace run begins: the encodings attach leading whitespace to the
 * following word, so such a cut gives the same tokens as encoding the text
 * whole.
 */
const MAX_PIECE_CHARS = 1024;

/**
 * A run of non-whitespace (or of whitespace) longer than this is cut where it
 * stands. js-tiktoken's byte-pair merge costs far more than linear time in
 * the length of one pre-token: a run of 1,000 letters took ~40 µs per
 * character, so a 2 MB answer of them stalled the event loop for 80 s. A cut
 * adds at most one token (about 2% on base64).
 */
const MAX_RUN_CHARS = 64;

/**
 * Text longer than this is estimated from evenly spaced samples adding up to
 * this many characters, scaled to its length: the cost of one estimate is
 * bounded (~3 ms of prose, ~0.2 s of the costliest runs) whatever the text's
 * size, for an estimate within a few per cent on text of one kind.
 */
const MAX_EXACT_CHARS = 32 * 1024;
const SAMPLES = 8;

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

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Splits text as MAX_PIECE_CHARS and MAX_RUN_CHARS say, in one pass (exported for tests). */
export function pieces(text: string): string[] {
  if (text.length <= MAX_RUN_CHARS) return [text];
  const out: string[] = [];
  let start = 0; // of the current piece
  let cleanCut = -1; // where the piece's latest whitespace run begins
  let inSpace = false;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const space = isWhitespace(code);
    if (space !== inSpace) {
      inSpace = space;
      run = 0;
      if (space && i > start) cleanCut = i;
    }
    if (++run > MAX_RUN_CHARS && !isLowSurrogate(code)) {
      out.push(text.slice(start, i));
      start = i;
      cleanCut = -1;
      run = 1;
    } else if (i + 1 - start > MAX_PIECE_CHARS && cleanCut > start) {
      out.push(text.slice(start, cleanCut));
      start = cleanCut;
      cleanCut = -1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function countTokens(encoder: Tiktoken, text: string): number {
  let count = 0;
  for (const piece of pieces(text)) count += encoder.encode(piece, [], []).length;
  return count;
}

/**
 * Estimated token count of `text` for `model` (null when the model is not
 * known). Special-token markers such as `<|endoftext|>` in user text are
 * counted as ordinary text, never rejected.
 */
export function estimateTokens(model: string | null, text: string): number {
  if (text.length === 0) return 0;
  const encoder = encoderFor(encodingForModel(model));
  if (text.length <= MAX_EXACT_CHARS) return countTokens(encoder, text);
  const window = MAX_EXACT_CHARS / SAMPLES;
  const stride = (text.length - window) / (SAMPLES - 1);
  let sampled = 0;
  for (let k = 0; k < SAMPLES; k++) {
    const at = Math.round(k * stride);
    sampled += countTokens(encoder, text.slice(at, at + window));
  }
  return Math.round((sampled * text.length) / MAX_EXACT_CHARS);
}
