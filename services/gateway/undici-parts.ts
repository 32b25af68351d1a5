/**
 * The pieces of undici the gateway uses, required from their own modules
 * rather than from the package's index, which also loads fetch, WebSocket,
 * EventSource, the cache and the mocks: ~3 MB more of a gateway's heap, and
 * V8 sizes the old generation's next limit from the heap's live size. The
 * paths are those of the undici version package-lock.json pins, and every
 * gateway test goes through them; should a later version move them, the
 * index is used instead (the same classes, only more memory).
 */
import type * as Undici from 'undici';

/* eslint-disable @typescript-eslint/no-require-imports -- a module of the package, see above */
function part<T>(path: string, fromIndex: (undici: typeof Undici) => T): T {
  try {
    return require(path) as T;
  } catch {
    return fromIndex(require('undici') as typeof Undici);
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

export const Agent = part('undici/lib/dispatcher/agent', (u) => u.Agent);
export const errors = part('undici/lib/core/errors', (u) => u.errors);
