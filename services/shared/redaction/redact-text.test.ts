import { buildRedactor, redactFileSchemaCheck } from './redaction-config';
import { redactText } from './redact-text';

const mask = buildRedactor(undefined, 'mask');
const r = (text: string): string => redactText(text, mask).text;

describe('the engine', () => {
  it('redacts several kinds in one text and reports which rules applied', () => {
    const out = redactText('a@b.io paid with 4111-1111-1111-1111, call +44 20 7946 0958', mask);
    expect(out.text).toBe('[REDACTED:email] paid with [REDACTED:card], call [REDACTED:phone]');
    expect(out.applied.sort()).toEqual(['card', 'email', 'phone']);
  });

  it('leaves text without sensitive values unchanged (multi-byte too)', () => {
    const text = 'Hi 😀, the answer is 42 — ünïcödé';
    expect(redactText(text, mask)).toEqual({ text, applied: [] });
    expect(redactText('', mask)).toEqual({ text: '', applied: [] });
  });

  it('gives an overlap to the earlier rule and still redacts what sticks out of it', () => {
    const red = buildRedactor({ rules: [{ name: 'ticket', pattern: 'T-\\d{3}', action: 'mask' }] }, 'mask');
    // The user rule takes "T-415"; the phone number around it is redacted in the pieces left.
    expect(redactText('ref T-415 555 2671 99', red).text).toBe('ref [REDACTED:ticket][REDACTED:phone]');
  });

  it('is idempotent: replacements already in the text are kept as they are', () => {
    const hashing = buildRedactor({ mode: 'hash', hashSalt: 's' }, undefined);
    const once = redactText('alice@example.com 4111 1111 1111 1111 +1 415 555 2671', hashing).text;
    expect(redactText(once, hashing)).toEqual({ text: once, applied: [] });
    const masked = r('bob@example.com');
    expect(redactText(masked, mask)).toEqual({ text: masked, applied: [] });
  });
});

describe('hash action and configuration', () => {
  it('hashes deterministically with the salt, never keeping the value', () => {
    const h1 = buildRedactor({ mode: 'hash', hashSalt: 's1' }, undefined);
    const h2 = buildRedactor({ mode: 'hash', hashSalt: 's2' }, undefined);
    const a = redactText('x alice@example.com', h1).text;
    expect(a).toMatch(/^x \[email:[0-9a-f]{16}\]$/);
    expect(redactText('y alice@example.com', h1).text.slice(2)).toBe(a.slice(2));
    expect(redactText('x alice@example.com', h2).text).not.toBe(a);
    expect(a).not.toContain('alice');
  });

  it('applies per-rule actions, user rules first, and turns built-ins off', () => {
    const red = buildRedactor(
      { builtins: { email: 'off', card: 'hash' }, rules: [{ name: 'employee', pattern: 'EMP-\\d{4,}', action: 'mask' }] },
      'mask',
    );
    expect(redactText('EMP-12345 a@b.io 4111111111111111', red).text).toMatch(/^\[REDACTED:employee\] a@b\.io \[card:[0-9a-f]{16}\]$/);
    expect(red.rules.map((x) => x.name)).toEqual(['employee', 'secret', 'iban', 'ssn', 'card', 'phone']);
  });

  it('metadata-only keeps no text; off keeps text as is', () => {
    expect(buildRedactor({ mode: 'metadata-only' }, undefined).indexText).toBe(false);
    expect(redactText('a@b.io', buildRedactor(undefined, 'off')).text).toBe('a@b.io');
  });

  it('names the bad key for an invalid, empty-matching or exponential user pattern', () => {
    expect(() => buildRedactor({ rules: [{ name: 'x', pattern: '(', action: 'mask' }] }, undefined)).toThrow(/redaction\.rules\.0\.pattern/);
    expect(() => buildRedactor({ rules: [{ name: 'x', pattern: 'a*', action: 'mask' }] }, undefined)).toThrow(/empty string/);
    expect(() => buildRedactor({ rules: [{ name: 'x', pattern: '(a+)+b', action: 'mask' }] }, undefined)).toThrow(
      /redaction\.rules\.0\.pattern: nested unbounded repetition/,
    );
    expect(redactFileSchemaCheck({ builtins: { email: 'blur' } })).toMatch(/builtins\.email/);
    expect(redactFileSchemaCheck({ policy: 'everywhere' })).toMatch(/^redaction\.policy/);
  });
});
