import type { RedactionPolicy } from './redaction-config';
import { redactText, type Redactor } from './redact-text';

/**
 * Under redaction policy `all` a user id is redacted like any other value
 * before the event is written: `alice@example.com` is stored as
 * `[REDACTED:email]` (mask) or `[email:<16 hex>]` (hash). An erasure matches
 * users as stored, so `erase --user alice@example.com` must erase the stored
 * form, or it would find nothing and say so as if there were nothing to
 * erase. A masked id is shared by every user it stands for: erasing it would
 * erase them all, so such an erasure is refused.
 */

export type StoredUser = { user: string; redacted: boolean } | { problem: string };

export function storedUser(user: string, redaction: { policy: RedactionPolicy; redactor: Redactor }): StoredUser {
  const { policy, redactor } = redaction;
  // Mode metadata-only leaves user ids as they are (only free text goes); off has no rules.
  if (policy !== 'all' || !redactor.indexText || redactor.rules.length === 0) return { user, redacted: false };
  const r = redactText(user, redactor);
  if (r.text.includes('[REDACTED:')) {
    return {
      problem:
        `is stored as "${r.text}" under redaction policy all, which stands for every user id the rule ` +
        `${r.applied.join(', ') || 'that masked it'} matches: erasing it would erase them all, so nothing was erased. ` +
        'Give such rules the action hash (LLM_LOGGER_REDACTION_MODE=hash, or the rule\'s action) to keep users apart and erasable',
    };
  }
  return { user: r.text, redacted: r.text !== user };
}
