import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJsonError } from '../../shared/http/json-response';
import type { AccessRead, ClientInfo } from './access-log-writer';
import type { Principal } from './authenticate';
import { roleAtLeast, type ConsoleRole } from './roles';

/**
 * Console API routes declare the least role they need; the server checks it
 * (the API decides, never only the dashboard). A route that must check
 * inside its handler (a role-dependent answer) calls `requireRole`.
 *
 * To add an admin-only route (e.g. erasure):
 * ```ts
 * const erase: ConsoleRoute = { method: 'POST', path: '/api/erase', role: 'admin', handle: async (ctx) => { … } };
 * buildConsole({ …, routes: [erase] });
 * ```
 */

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Captures of a RegExp path. */
  params: string[];
  principal: Principal;
  client: ClientInfo;
  /**
   * Records a read of bodies in the access log before it is answered. False
   * when the record could not be written: a 503 has been sent and the
   * handler must send nothing else.
   */
  audit(read: AccessRead): Promise<boolean>;
}

export interface ConsoleRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** An exact path, or a pattern whose captures become `params`. */
  path: string | RegExp;
  /** The least role allowed. */
  role: ConsoleRole;
  handle(ctx: RouteContext): void | Promise<void>;
}

/** Sends 403 naming the role needed and returns false when the caller's role is below it. */
export function requireRole(ctx: Pick<RouteContext, 'principal' | 'res' | 'req' | 'url'>, needed: ConsoleRole): boolean {
  if (roleAtLeast(ctx.principal.role, needed)) return true;
  sendJsonError(
    ctx.res,
    403,
    'forbidden',
    `${ctx.req.method} ${ctx.url.pathname} needs the ${needed} role; ${ctx.principal.name} is a ${ctx.principal.role}`,
    { extra: { required_role: needed, role: ctx.principal.role } },
  );
  return false;
}

/** The route for a method and path: `allowed` lists the methods of a path that exists with others. */
export function findRoute(routes: readonly ConsoleRoute[], method: string, path: string): { route: ConsoleRoute; params: string[] } | { allowed: string[] } {
  const allowed: string[] = [];
  for (const route of routes) {
    let params: string[] | null;
    if (typeof route.path === 'string') params = route.path === path ? [] : null;
    else {
      const m = route.path.exec(path);
      params = m ? m.slice(1).map((p) => p ?? '') : null;
    }
    if (params === null) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    allowed.push(route.method);
  }
  return { allowed };
}
