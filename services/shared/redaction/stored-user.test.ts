import { buildRedactor } from './redaction-config';
import { storedUser } from './stored-user';

describe('storedUser', () => {
  const hash = buildRedactor(undefined, 'hash');
  const mask = buildRedactor(undefined, 'mask');

  it('is the id as given under policy index, and for an id no rule matches', () => {
    expect(storedUser('alice@example.com', { policy: 'index', redactor: mask })).toEqual({ user: 'alice@example.com', redacted: false });
    expect(storedUser('u-123', { policy: 'all', redactor: mask })).toEqual({ user: 'u-123', redacted: false });
  });

  it('is the hashed form under policy all with hash, the same whether the raw or the stored id is given', () => {
    const r = storedUser('alice@example.com', { policy: 'all', redactor: hash });
    expect(r).toEqual({ user: expect.stringMatching(/^\[email:[0-9a-f]{16}\]$/), redacted: true });
    const stored = (r as { user: string }).user;
    expect(storedUser(stored, { policy: 'all', redactor: hash })).toEqual({ user: stored, redacted: false });
    expect(storedUser('bob@example.com', { policy: 'all', redactor: hash })).not.toEqual(r);
  });

  it('refuses a masked id, shared by every user it stands for, naming the rule and the way out', () => {
    const r = storedUser('alice@example.com', { policy: 'all', redactor: mask });
    expect(r).toEqual({ problem: expect.stringContaining('"[REDACTED:email]"') });
    expect((r as { problem: string }).problem).toMatch(/rule email .*nothing was erased.*LLM_LOGGER_REDACTION_MODE=hash/);
    expect(storedUser('[REDACTED:email]', { policy: 'all', redactor: mask })).toHaveProperty('problem');
  });

  it('leaves ids alone under metadata-only and off', () => {
    for (const mode of ['metadata-only', 'off'] as const) {
      expect(storedUser('alice@example.com', { policy: 'all', redactor: buildRedactor(undefined, mode) })).toEqual({ user: 'alice@example.com', redacted: false });
    }
  });
});
