import { buildRedactor, luhnValid, redactFileSchemaCheck, redactText } from './redaction';

const mask = buildRedactor(undefined, 'mask');
const r = (text: string): string => redactText(text, mask).text;

describe('luhn', () => {
  it('accepts valid card numbers and refuses near misses', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('')).toBe(false);
  });
});

describe('built-in rules', () => {
  it('masks e-mail addresses, including plus-addressing and subdomains, not look-alikes', () => {
    expect(r('mail alice.smith+llm@mail.example.co.uk now')).toBe('mail [REDACTED:email] now');
    expect(r('<bob@example.com>')).toBe('<[REDACTED:email]>');
    expect(r('user@localhost and @handle and a@b')).toBe('user@localhost and @handle and a@b');
  });

  it('masks only Luhn-valid card numbers, with spaces or dashes', () => {
    expect(r('card 4111 1111 1111 1111 exp')).toBe('card [REDACTED:card] exp');
    expect(r('card 5500-0000-0000-0004.')).toBe('card [REDACTED:card].');
    expect(r('order 4111111111111112')).toBe('order 4111111111111112');
    expect(r('ts 1700000000000')).toBe('ts 1700000000000');
  });

  it('masks phone numbers but not dates, IP addresses, versions or bare ids', () => {
    expect(r('call +1 (415) 555-2671 today')).toBe('call [REDACTED:phone] today');
    expect(r('ruf +49 30 1234 5678')).toBe('ruf [REDACTED:phone]');
    expect(r('tel 020 7946 0958')).toBe('tel [REDACTED:phone]');
    expect(r('on 2024-01-15 12:30')).toBe('on 2024-01-15 12:30');
    expect(r('host 192.168.100.200')).toBe('host 192.168.100.200');
    expect(r('v1.2.3 and id 123456789012')).toBe('v1.2.3 and id 123456789012');
  });

  it('masks API-key-like secrets and the value of key assignments', () => {
    expect(r('key sk-proj-abcdefghijklmnop1234 ok')).toBe('key [REDACTED:secret] ok');
    // An AWS-access-key-shaped value, built from parts so no key-shaped literal sits in the repository.
    expect(r(['AKIA', 'IOSFODNN7', 'EXAMPLE'].join(''))).toBe('[REDACTED:secret]');
    expect(r('Authorization: Bearer abcdefghijklmnopqrstuvwxyz')).toBe('Authorization: Bearer [REDACTED:secret]');
    expect(r('api_key="zz9-top-secret-1"')).toBe('api_key="[REDACTED:secret]"');
    expect(r('password: hunter2hunter2')).toBe('password: [REDACTED:secret]');
    expect(r('the token is short')).toBe('the token is short');
  });

  it('redacts several kinds in one text and reports which rules applied', () => {
    const out = redactText('a@b.io paid with 4111-1111-1111-1111, call +44 20 7946 0958', mask);
    expect(out.text).toBe('[REDACTED:email] paid with [REDACTED:card], call [REDACTED:phone]');
    expect(out.applied.sort()).toEqual(['card', 'email', 'phone']);
  });

  it('leaves text without sensitive values unchanged (multi-byte too)', () => {
    const text = 'Hi 😀, the answer is 42 — ünïcödé';
    expect(redactText(text, mask)).toEqual({ text, applied: [] });
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
  });

  it('metadata-only indexes no text; off indexes text as is', () => {
    expect(buildRedactor({ mode: 'metadata-only' }, undefined).indexText).toBe(false);
    expect(redactText('a@b.io', buildRedactor(undefined, 'off')).text).toBe('a@b.io');
  });

  it('names the bad key for an invalid or empty-matching user pattern', () => {
    expect(() => buildRedactor({ rules: [{ name: 'x', pattern: '(', action: 'mask' }] }, undefined)).toThrow(/redaction\.rules\.0\.pattern/);
    expect(() => buildRedactor({ rules: [{ name: 'x', pattern: 'a*', action: 'mask' }] }, undefined)).toThrow(/empty string/);
    expect(redactFileSchemaCheck({ builtins: { email: 'blur' } })).toMatch(/builtins\.email/);
  });
});
