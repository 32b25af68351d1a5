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
  '*.apiKey',
  'apiKey',
  'request_body',
  'response_body',
  '*.request_body',
  '*.response_body',
];

/** A pino logger for a role; `destination` (default stdout) lets tests read every line written. */
export function createLogger(level: string, role: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { role }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
