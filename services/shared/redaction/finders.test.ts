import { buildRedactor } from './redaction-config';
import { ibanChecksumValid, luhnValid } from './pii-finders';
import { redactText } from './redact-text';
import { nestedRepetition, windowedFinder } from './user-patterns';

/**
 * Each built-in finder, with values it must find and near misses it must
 * leave alone. Key-shaped values are built from parts, so that no literal
 * key sits in the repository for secret scanners to flag.
 */

const mask = buildRedactor(undefined, 'mask');
const r = (text: string): string => redactText(text, mask).text;
const join = (...parts: string[]): string => parts.join('');
const repeat = (s: string, n: number): string => s.repeat(n);

/** Text that must come out exactly as it went in. */
const untouched = (text: string): void => expect(r(text)).toBe(text);

describe('checksums', () => {
  it('luhn accepts valid card numbers and refuses near misses', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('')).toBe(false);
  });

  it('IBAN mod 97 accepts the registry examples and refuses a changed digit', () => {
    expect(ibanChecksumValid('DE89370400440532013000')).toBe(true);
    expect(ibanChecksumValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanChecksumValid('DE89370400440532013001')).toBe(false);
  });
});

describe('e-mail', () => {
  it('finds addresses with plus-addressing and subdomains', () => {
    expect(r('mail alice.smith+llm@mail.example.co.uk now')).toBe('mail [REDACTED:email] now');
    expect(r('<bob@example.com>')).toBe('<[REDACTED:email]>');
    expect(r('end bob@example.com.')).toBe('end [REDACTED:email].');
  });

  it('leaves look-alikes alone', () => {
    untouched('user@localhost and @handle and a@b');
    untouched('a local part longer than 64 ' + repeat('x', 65) + '@example.com');
    untouched('npm install @scope/package@1.2.3');
    untouched('.lead@example.com is no start');
  });
});

describe('secrets', () => {
  it('finds provider keys by their prefixes', () => {
    expect(r(join('key sk-proj-', 'abcdefghijklmnop1234', ' ok'))).toBe('key [REDACTED:secret] ok');
    expect(r(join('sk-ant-api03-', repeat('A', 40)))).toBe('[REDACTED:secret]');
    expect(r(join('AIza', repeat('B', 35)))).toBe('[REDACTED:secret]');
  });

  it('finds AWS access key ids (AKIA and temporary ASIA) and the secret key near one', () => {
    expect(r(join('AKIA', 'IOSFODNN7', 'EXAMPLE'))).toBe('[REDACTED:secret]');
    expect(r(join('id ', 'ASIA', 'Y34FZKBOKMUTVV7A', ' tmp'))).toBe('id [REDACTED:secret] tmp');
    const secret = join('wJalrXUtnFEMI/K7MDENG', '/bPxRfiCYEXAMPLEKEY');
    expect(r(join('aws_access_key_id = ', 'AKIA', 'IOSFODNN7', 'EXAMPLE', '\naws_secret_access_key = ', secret))).toBe(
      'aws_access_key_id = [REDACTED:secret]\naws_secret_access_key = [REDACTED:secret]',
    );
    expect(r(join('AKIA', 'IOSFODNN7', 'EXAMPLE', ' ', secret))).toBe('[REDACTED:secret] [REDACTED:secret]');
    expect(r(join('{"SecretAccessKey": "', secret, '"}'))).toBe('{"SecretAccessKey": "[REDACTED:secret]"}');
  });

  it('leaves AWS look-alikes alone', () => {
    untouched(join('AKIA', 'SHORT'));
    untouched(join('AKIA', 'IOSFODNN7', 'EXAMPLEandmore')); // runs on: not a key id
    untouched('a sha1 of 40 chars 356a192b7913b04c54574d18c28d46e6395428ab'); // one case, no key id before
  });

  it('finds GitHub tokens of every kind', () => {
    for (const prefix of ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_']) expect(r(join(prefix, repeat('a1B2', 9)))).toBe('[REDACTED:secret]');
    expect(r(join('github_pat_', '11ABCDEFG0', '_', repeat('x9', 30)))).toBe('[REDACTED:secret]');
    untouched('ghp_short and mygh_token_like_thing');
  });

  it('finds Slack tokens', () => {
    for (const prefix of ['xoxb-', 'xoxp-', 'xoxa-', 'xapp-']) expect(r(join(prefix, '1234567890-', 'abcdefABCDEF'))).toBe('[REDACTED:secret]');
    untouched('xoxb-123 is too short');
  });

  it('finds JWTs', () => {
    const jwt = join('eyJhbGciOiJIUzI1NiJ9', '.', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U');
    expect(r(`token ${jwt} end`)).toBe('token [REDACTED:secret] end');
    untouched('eyJhbGciOiJIUzI1NiJ9 alone');
  });

  it('finds bearer tokens and assigned values, only the value', () => {
    expect(r('Authorization: Bearer abcdefghijklmnopqrstuvwxyz')).toBe('Authorization: Bearer [REDACTED:secret]');
    expect(r('api_key="zz9-top-secret-1"')).toBe('api_key="[REDACTED:secret]"');
    expect(r('password: hunter2hunter2')).toBe('password: [REDACTED:secret]');
    expect(r('{"api-key": "0123456789abcdef0123"}')).toBe('{"api-key": "[REDACTED:secret]"}');
    expect(r('spring.datasource.password=correct-horse')).toBe('spring.datasource.password=[REDACTED:secret]');
    expect(r('GET /v1/x?alt=json&key=AbCdEfGh12345678&x=1')).toBe('GET /v1/x?alt=json&key=[REDACTED:secret]&x=1');
  });

  it('leaves ordinary words and settings alone', () => {
    untouched('the token is short');
    untouched('max_tokens: 1000000000, prompt_tokens=123456789');
    untouched('password: short');
    untouched('keyboard: qwertyuiop');
    untouched('a key: value that is not in a query');
  });

  it('finds Azure keys: 32 hex digits after a key word, the annotated format, storage account keys', () => {
    const hex = '0123456789abcdef0123456789ABCDEF';
    expect(r(`AZURE_OPENAI_KEY is ${hex}`)).toBe('AZURE_OPENAI_KEY is [REDACTED:secret]');
    expect(r(`{"api-key":"${hex}"}`)).toBe('{"api-key":"[REDACTED:secret]"}');
    const annotated = join(repeat('Ab3d', 13), 'JQQJ99', 'B', 'A', repeat('c', 16), 'G', repeat('7', 7));
    expect(annotated).toHaveLength(84);
    expect(r(`use ${annotated} here`)).toBe('use [REDACTED:secret] here');
    const storage = join(repeat('Zm9v', 21), 'Y/', '==');
    expect(storage).toHaveLength(88);
    expect(r(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${storage};EndpointSuffix=core.windows.net`)).toBe(
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED:secret];EndpointSuffix=core.windows.net',
    );
    expect(r(`standalone ${storage}`)).toBe('standalone [REDACTED:secret]');
  });

  it('leaves hex ids, UUIDs and digests without a key word alone', () => {
    untouched('commit 0123456789abcdef0123456789abcdef landed');
    untouched('request 123e4567-e89b-12d3-a456-426614174000');
    untouched('md5 9e107d9d372bb6826bd81d3542a419d6 of the file');
  });
});

describe('IBAN', () => {
  it('finds IBANs whole and in groups of four', () => {
    expect(r('pay to DE89370400440532013000 today')).toBe('pay to [REDACTED:iban] today');
    expect(r('IBAN: DE89 3704 0044 0532 0130 00.')).toBe('IBAN: [REDACTED:iban].');
    expect(r('GB82 WEST 1234 5698 7654 32')).toBe('[REDACTED:iban]');
  });

  it('leaves a wrong checksum, a wrong length and unknown countries alone', () => {
    untouched('DE89370400440532013001');
    untouched('DE8937040044053201300');
    untouched('ZZ89370400440532013000');
    untouched('order AB12 and flight LH4567');
  });
});

describe('US social security numbers', () => {
  it('finds SSNs with dashes or spaces', () => {
    expect(r('ssn 123-45-6789.')).toBe('ssn [REDACTED:ssn].');
    expect(r('ssn 078 05 1120')).toBe('ssn [REDACTED:ssn]');
  });

  it('does not take invalid areas, groups or serials, longer numbers or mixed separators for one', () => {
    // Some of these are phone-shaped (nine digits in groups): only the SSN rule must leave them.
    for (const text of ['000-12-3456', '666-12-3456', '900-12-3456', '123-00-4567', '123-45-0000', '123-45-67890', '1123-45-6789', '123-45 6789']) {
      expect(redactText(text, mask).applied).not.toContain('ssn');
    }
    untouched('on 2024-01-15 and 2024 01 15');
  });
});

describe('cards', () => {
  it('finds Luhn-valid numbers, whole or grouped', () => {
    expect(r('card 4111 1111 1111 1111 exp')).toBe('card [REDACTED:card] exp');
    expect(r('card 5500-0000-0000-0004.')).toBe('card [REDACTED:card].');
    expect(r('amex 3782 822463 10005')).toBe('amex [REDACTED:card]');
    expect(r('ref 12 4111 1111 1111 1111')).toBe('ref 12 [REDACTED:card]');
  });

  it('leaves Luhn failures, timestamps, long digit runs and decimals alone', () => {
    untouched('order 4111111111111112');
    untouched('ts 1700000000000 and ns 1700000000000000000');
    untouched(repeat('4', 40));
    untouched('-4111111111111111 and 0.4111111111111111');
  });
});

describe('phones', () => {
  it('finds international and grouped national numbers', () => {
    expect(r('call +1 (415) 555-2671 today')).toBe('call [REDACTED:phone] today');
    expect(r('ruf +49 30 1234 5678')).toBe('ruf [REDACTED:phone]');
    expect(r('tel 020 7946 0958')).toBe('tel [REDACTED:phone]');
  });

  it('leaves dates, times, IP addresses, versions, bare ids and UUIDs alone', () => {
    untouched('on 2024-01-15 12:30 and 2024-01-15T12:30:00.123Z');
    untouched('host 192.168.100.200');
    untouched('v1.2.3 and id 123456789012');
    untouched('uuid 0189f7e2-6a1b-7c3d-8e4f-123456789abc');
    untouched('the answer is 42, pages 12-14, 3.14159');
  });
});

describe('user patterns', () => {
  it('are found in every window, including across a window boundary, once each', () => {
    const find = windowedFinder(/EMP-\d{5}/g);
    const text = repeat('x', 760) + 'EMP-12345' + repeat('y', 2000) + 'EMP-67890';
    const out: number[] = [];
    find(text, out);
    expect(out).toEqual([760, 769, 2769, 2778]);
  });

  it('cut a match at 256 characters (the rest is found from the next window)', () => {
    const red = buildRedactor({ mode: 'off', rules: [{ name: 'run', pattern: 'z+', action: 'mask' }] }, undefined);
    const out = redactText(`a${repeat('z', 3000)}b`, red).text;
    expect(out.startsWith('a[REDACTED:run]')).toBe(true);
    expect(out.endsWith('[REDACTED:run]b')).toBe(true);
    expect(out).not.toContain('z');
  });

  it('with nested unbounded repetition are recognised', () => {
    expect(nestedRepetition('(a+)+')).not.toBeNull();
    expect(nestedRepetition('(?:\\w*\\s?)*x')).not.toBeNull();
    expect(nestedRepetition('((ab)*c)+')).not.toBeNull();
    expect(nestedRepetition('EMP-\\d{5}')).toBeNull();
    expect(nestedRepetition('(ab)+[+*]\\+')).toBeNull();
    expect(nestedRepetition('(a+)?b(c{2,5})+')).toBeNull();
  });
});
