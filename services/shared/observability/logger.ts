import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino replaces before anything is written. Provider credentials and
 * bodies must never reach a log line, whichever object they ride in on.
 */
const REDACT_PATHS = [
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'headers["x-llm-key"]',
  'req.headers["x-llm-key"]',
  '*.apiKey',
  'apiKey',
  'request_body',
  'response_body',
  '*.request_body',
  '*.response_body',
];

/** `fd`: where lines go (stdout by default; 2 for commands whose stdout is their result, such as `erase --json`). */
export function createLogger(level: string, role: string, fd?: number): Logger {
  const options = { level, base: { role }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return fd === undefined ? pino(options) : pino(options, pino.destination({ fd, sync: true }));
}
