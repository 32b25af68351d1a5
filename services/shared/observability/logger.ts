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

/**
 * `to`: where lines go (stdout by default): a file descriptor (2 for commands
 * whose stdout is their result, such as `erase --json`) or a stream (tests read every line written).
 */
export function createLogger(level: string, role: string, to?: number | pino.DestinationStream): Logger {
  const options = { level, base: { role }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (to === undefined) return pino(options);
  return pino(options, typeof to === 'number' ? pino.destination({ fd: to, sync: true }) : to);
}
