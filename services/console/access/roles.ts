/**
 * Console roles, from least to most trusted. Each includes what the ones
 * before it may do:
 * - viewer: metadata and aggregates (request lists and details without
 *   bodies, prompts or answer text; the live tail without text);
 * - auditor: bodies and audit search (every such read is written to the
 *   access log);
 * - admin: the access log, sessions, and administrative routes (erasure).
 */

export const CONSOLE_ROLES = ['viewer', 'auditor', 'admin'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

const RANK: Record<ConsoleRole, number> = { viewer: 0, auditor: 1, admin: 2 };

export function roleAtLeast(have: ConsoleRole, needed: ConsoleRole): boolean {
  return RANK[have] >= RANK[needed];
}

/** The most trusted of several roles (a user in several mapped groups), or null for none. */
export function highestRole(roles: Iterable<ConsoleRole>): ConsoleRole | null {
  let best: ConsoleRole | null = null;
  for (const r of roles) if (best === null || RANK[r] > RANK[best]) best = r;
  return best;
}

/** What a role may read: the one place the API and the dashboard learn it from. */
export function permissionsOf(role: ConsoleRole): { bodies: boolean; search: boolean; access_log: boolean; sessions: boolean } {
  return {
    bodies: roleAtLeast(role, 'auditor'),
    search: roleAtLeast(role, 'auditor'),
    access_log: roleAtLeast(role, 'admin'),
    sessions: roleAtLeast(role, 'admin'),
  };
}
