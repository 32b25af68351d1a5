/**
 * One catalogue of error codes for the whole project. Every error carries a
 * stable `code`, an optional `cause`, and whether retrying can help.
 */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'LOG_UNAVAILABLE',
  'LOG_QUEUE_FULL',
  'LOG_CLOSED',
  'LOG_FENCED',
  'EVENT_INVALID',
  'DECODE_FAILED',
  'INDEX_UNAVAILABLE',
  'RECORD_TOO_LARGE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class LlmLoggerError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LlmLoggerError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
  }
}

export function isLlmLoggerError(err: unknown, code?: ErrorCode): err is LlmLoggerError {
  return err instanceof LlmLoggerError && (code === undefined || err.code === code);
}
