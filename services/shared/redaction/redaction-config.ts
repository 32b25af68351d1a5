import { z } from 'zod';
import { findEmails, findIbans, findSsns, findCards, findPhones } from './pii-finders';
import { findAssignedSecrets, findAzureKeys, findBearerTokens, findPrefixedKeys } from './secret-finders';
import { RULE_NAME, type Finder, type RedactionRule, type Redactor } from './redact-text';
import { nestedRepetition, windowedFinder } from './user-patterns';

/**
 * Redaction settings: `redaction:` in the config file, LLM_LOGGER_REDACTION_MODE
 * and LLM_LOGGER_REDACTION_POLICY for the simple cases (the file wins).
 */

export const REDACTION_MODES = ['mask', 'hash', 'metadata-only', 'off'] as const;
export type RedactionMode = (typeof REDACTION_MODES)[number];

/**
 * Where redaction applies: `index` (the audit index only; the log, the
 * console, the live tail and the archive keep what was sent) or `all`
 * (before the event is written: no store ever holds the raw value).
 */
export const REDACTION_POLICIES = ['index', 'all'] as const;
export type RedactionPolicy = (typeof REDACTION_POLICIES)[number];

/** Built-in rules, in priority order (an overlap goes to the earlier one). */
export const BUILTIN_NAMES = ['secret', 'email', 'iban', 'ssn', 'card', 'phone'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

const finders = (...list: Finder[]): Finder => (text, out) => {
  for (const find of list) find(text, out);
};

/**
 * Secrets first (they may contain digits that look like phone numbers), then
 * e-mails, IBANs and social security numbers, then cards before phones (a
 * spaced card number is also a plausible phone number).
 */
export const BUILTIN_FINDERS: Record<BuiltinName, Finder> = {
  secret: finders(findPrefixedKeys, findBearerTokens, findAssignedSecrets, findAzureKeys),
  email: findEmails,
  iban: findIbans,
  ssn: findSsns,
  card: findCards,
  phone: findPhones,
};

const actionOrOff = z.enum(['mask', 'hash', 'off']);

export const redactionFileSchema = z
  .object({
    /** Default action for the built-ins; `metadata-only` keeps no text; `off` keeps text as is. */
    mode: z.enum(REDACTION_MODES).optional(),
    policy: z.enum(REDACTION_POLICIES).optional(),
    builtins: z
      .object({ secret: actionOrOff, email: actionOrOff, iban: actionOrOff, ssn: actionOrOff, card: actionOrOff, phone: actionOrOff })
      .partial()
      .strict()
      .optional(),
    rules: z
      .array(
        z
          .object({
            name: z.string().regex(RULE_NAME, 'must be 1-40 characters of a-z, 0-9, _ or -'),
            pattern: z.string().min(1).max(1_000),
            flags: z.string().regex(/^[imsu]*$/, 'only i, m, s and u are allowed').optional(),
            action: z.enum(['mask', 'hash']).default('mask'),
          })
          .strict(),
      )
      .optional(),
    hashSalt: z.string().optional(),
  })
  .strict();

export type RedactionFileSettings = z.infer<typeof redactionFileSchema>;

/** What a worker thread needs to build the same redactor (functions do not cross threads). */
export interface RedactionSettings {
  file: RedactionFileSettings | undefined;
  envMode: RedactionMode | undefined;
}

export function redactionPolicy(file: RedactionFileSettings | undefined, envPolicy: RedactionPolicy | undefined): RedactionPolicy {
  return file?.policy ?? envPolicy ?? 'index';
}

/**
 * Builds the redactor from the config file's `redaction:` section and the
 * mode variable (the file wins). Throws an Error naming the key on a bad
 * user pattern.
 */
export function buildRedactor(file: RedactionFileSettings | undefined, envMode: RedactionMode | undefined): Redactor {
  const mode = file?.mode ?? envMode ?? 'mask';
  if (mode === 'metadata-only') return { indexText: false, rules: [], hashSalt: '' };
  const defaultAction = mode === 'off' ? 'off' : mode;
  // The operator's own rules first: they say exactly what they mean.
  const rules: RedactionRule[] = [];
  (file?.rules ?? []).forEach((r, i) => {
    let pattern: RegExp;
    try {
      pattern = new RegExp(r.pattern, `${r.flags ?? ''}g`);
    } catch (err) {
      throw new Error(`redaction.rules.${i}.pattern: not a valid regular expression (${(err as Error).message})`, { cause: err });
    }
    if (pattern.test('')) throw new Error(`redaction.rules.${i}.pattern: matches the empty string`);
    const nested = nestedRepetition(r.pattern);
    if (nested) throw new Error(`redaction.rules.${i}.pattern: ${nested}; rewrite it without a repeated group that repeats inside`);
    rules.push({ name: r.name, action: r.action, find: windowedFinder(pattern) });
  });
  for (const name of BUILTIN_NAMES) {
    const action = file?.builtins?.[name] ?? defaultAction;
    if (action !== 'off') rules.push({ name, action, find: BUILTIN_FINDERS[name] });
  }
  return { indexText: true, rules, hashSalt: file?.hashSalt ?? '' };
}

/** Validates a `redaction:` section; returns the first problem as `redaction.<path>: message`, or null. */
export function redactFileSchemaCheck(raw: unknown): string | null {
  const parsed = redactionFileSchema.safeParse(raw);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  return `redaction.${issue.path.map(String).join('.')}: ${issue.message}`;
}
