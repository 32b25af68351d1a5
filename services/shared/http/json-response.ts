import type { ServerResponse } from 'node:http';

/**
 * The gateway's own refusals, in the OpenAI error shape so that both SDKs
 * surface the message. `type` is a stable code.
 */
export function sendJsonError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  opts: { close?: boolean; retryAfterSeconds?: number; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { type, code: type, message, ...opts.extra } });
  const headers: Record<string, string | number> = {
    ...opts.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (opts.close) headers['connection'] = 'close';
  if (opts.retryAfterSeconds !== undefined) headers['retry-after'] = opts.retryAfterSeconds;
  res.writeHead(status, headers);
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
