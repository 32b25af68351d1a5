import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth, so two configs that differ only
 * in key order (YAML reformatting, a different loader) hash the same. Array
 * order is kept: it is meaningful.
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Short content hash of a JSON-like value. 12 hex characters (48 bits) keep
 * price versions readable while making an accidental collision between two
 * override sets of one deployment practically impossible.
 */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);
}
