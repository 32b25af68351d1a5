import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenDigest } from '../../services/shared/config/console-access';
import { decodeAccessRecord, type AccessRecord } from '../../services/console/access/access-record';
import { TOPICS } from '../../topology/topics';
import { readRecords } from './read-log';

/** Identities of the console access tests: one token per role, and an SSO proxy on loopback. */

export const TOKENS = {
  viewer: 'viewer-token-for-tests-0000001',
  auditor: 'auditor-token-for-tests-000001',
  admin: 'admin-token-for-tests-00000001',
} as const;

export const NAMES = { viewer: 'vera', auditor: 'audrey', admin: 'ada' } as const;

export const bearer = (role: keyof typeof TOKENS): Record<string, string> => ({ authorization: `Bearer ${TOKENS[role]}` });

/** Writes the config file: the tokens (digests only) and SSO trusted from `trustedProxies`. */
export function writeAccessConfig(dir: string, opts: { roles?: (keyof typeof TOKENS)[]; trustedProxies?: string[] } = {}): string {
  const roles = opts.roles ?? (['viewer', 'auditor', 'admin'] as const);
  const lines = ['console:', '  tokens:'];
  for (const r of roles) lines.push(`    - { name: ${NAMES[r]}, role: ${r}, sha256: ${tokenDigest(TOKENS[r])} }`);
  lines.push(
    '  sso:',
    `    trustedProxies: [${(opts.trustedProxies ?? ['127.0.0.1', '::1']).map((p) => JSON.stringify(p)).join(', ')}]`,
    '    groups: { llm-admins: admin, compliance: auditor, engineering: viewer }',
    '',
  );
  const path = join(dir, `console-access-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, lines.join('\n'));
  return path;
}

/** The access log as written to llm.access.v1 in an embedded log. */
export function accessRecords(dataDir: string): AccessRecord[] {
  return readRecords(dataDir, TOPICS.access).map((r) => {
    const decoded = decodeAccessRecord(r.value);
    if (!decoded) throw new Error(`not an access record: ${r.value.toString()}`);
    return decoded;
  });
}

export async function until<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
