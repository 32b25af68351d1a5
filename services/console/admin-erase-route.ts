import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, sendJsonError } from '../shared/http/json-response';
import type { Logger } from '../shared/observability/logger';
import { checkUser } from '../shared/erasure/erasure';
import type { ErasureReport } from '../erasure/erasure-report';
import type { StoredUser } from '../shared/redaction/stored-user';

/**
 * `POST /api/admin/erase {"user": "<id>"}`: erases the user's bodies from
 * every store (services/erasure/erase-user.ts) inside the console process,
 * which owns the request view, and answers the report (200 when complete;
 * 500 `erase_incomplete` with the report when a store failed). Only
 * `application/json` is accepted: a form or `text/plain` POST, which any web
 * page can send cross-site without a preflight, is refused with 415. Only
 * admins reach it (a console route of least role `admin`), and each erase is
 * recorded in the access log (action `erase`, the user in its filters) before
 * it runs.
 */

export const ADMIN_ERASE_PATH = '/api/admin/erase';

export type AdminEraser = (user: string) => Promise<ErasureReport>;

const MAX_BODY_BYTES = 8 * 1024;

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * `record(user)` writes the erasure to the access log before it runs (false:
 * it could not be written, an answer was sent, and nothing is erased).
 */
export async function serveAdminErase(
  req: IncomingMessage,
  res: ServerResponse,
  eraser: AdminEraser | undefined,
  logger: Logger,
  record: (user: string) => Promise<boolean> = async () => true,
  /** The user id as the stores hold it (see stored-user.ts), or why it cannot be erased. */
  asStored: (user: string) => StoredUser = (user) => ({ user, redacted: false }),
): Promise<void> {
  const invalid = (parameter: string, message: string): void =>
    sendJsonError(res, 400, 'invalid_parameter', message, { extra: { parameter } });
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    sendJsonError(res, 405, 'method_not_allowed', `${ADMIN_ERASE_PATH} takes POST {"user": "<id>"}`);
    return;
  }
  if (!eraser) {
    sendJsonError(res, 501, 'not_available', 'erasure is not available in this console');
    return;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    sendJsonError(res, 415, 'unsupported_media_type', 'content-type must be application/json: {"user": "<id>"}');
    return;
  }
  const text = await readBody(req, MAX_BODY_BYTES);
  if (text === null) {
    sendJsonError(res, 413, 'body_too_large', `the body must be at most ${MAX_BODY_BYTES} bytes`);
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    invalid('body', 'the body is not JSON: send {"user": "<id>"}');
    return;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    invalid('body', 'the body must be an object: {"user": "<id>"}');
    return;
  }
  const unknown = Object.keys(body).find((k) => k !== 'user');
  if (unknown !== undefined) {
    invalid(unknown, `unknown field "${unknown}": the body is {"user": "<id>"}`);
    return;
  }
  const user = (body as { user?: unknown }).user;
  const problem = user === undefined ? 'is required' : checkUser(user);
  if (problem !== null) {
    invalid('user', `user ${problem}`);
    return;
  }
  const stored = asStored(user as string);
  if ('problem' in stored) {
    invalid('user', `user ${stored.problem}`);
    return;
  }
  if (!(await record(stored.user))) return;
  let report: ErasureReport;
  try {
    report = await eraser(stored.user);
  } catch (err) {
    logger.error({ err }, 'erase failed');
    sendJsonError(res, 500, 'erase_failed', `erase failed: ${(err as Error).message}; run it again`);
    return;
  }
  logger.info({ erased_at: report.erased_at, complete: report.complete }, 'user erased through the admin API');
  if (report.complete) sendJson(res, 200, report);
  else sendJsonError(res, 500, 'erase_incomplete', 'some stores could not be erased (see report): run the erase again', { extra: { report } });
}
