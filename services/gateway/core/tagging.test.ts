import {
  isTaggingError,
  MAX_TAG_VALUE_CHARS,
  MAX_TAGS,
  parseCallTags,
  shouldCapture,
  type CallTags,
  type TaggingError,
} from './tagging';

function tags(headers: [string, string][]): CallTags {
  const r = parseCallTags(headers);
  if (isTaggingError(r)) throw new Error(`unexpected error: ${r.message}`);
  return r;
}

function error(headers: [string, string][]): TaggingError {
  const r = parseCallTags(headers);
  if (!isTaggingError(r)) throw new Error('expected a tagging error');
  return r;
}

describe('parseCallTags', () => {
  it('returns all-null tags for no headers', () => {
    expect(tags([])).toEqual({ user: null, app: null, session: null, traceId: null, tags: {}, sample: null });
  });

  it('reads the known headers, trimmed', () => {
    expect(
      tags([
        ['x-llm-user', ' alice '],
        ['x-llm-app', 'search'],
        ['x-llm-session', 's-1'],
        ['x-llm-trace-id', '4bf92f3577b34da6a3ce929d0e0e4736'],
      ]),
    ).toEqual({
      user: 'alice',
      app: 'search',
      session: 's-1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      tags: {},
      sample: null,
    });
  });

  it('treats an empty known header as absent', () => {
    expect(tags([['x-llm-user', '  ']]).user).toBeNull();
  });

  it('collects x-llm-tag-* headers, the last one of a name winning', () => {
    expect(
      tags([
        ['x-llm-tag-team', 'core'],
        ['x-llm-tag-env.region', 'eu-1'],
        ['x-llm-tag-team', 'infra'],
      ]).tags,
    ).toEqual({ team: 'infra', 'env.region': 'eu-1' });
  });

  it.each([
    ['1', true],
    ['0', false],
  ])('reads x-llm-sample=%s', (value, expected) => {
    expect(tags([['x-llm-sample', value]]).sample).toBe(expected);
  });

  it.each(['yes', 'true', '2', ''])('refuses x-llm-sample=%j naming the header', (value) => {
    const e = error([['x-llm-sample', value]]);
    expect(e.header).toBe('x-llm-sample');
    expect(e.message).toContain('x-llm-sample');
  });

  it('refuses an unknown x-llm-* header, listing the known ones', () => {
    const e = error([['x-llm-foo', 'bar']]);
    expect(e.header).toBe('x-llm-foo');
    expect(e.message).toContain('x-llm-foo');
    expect(e.message).toContain('x-llm-user');
  });

  it('refuses a value longer than the limit, and accepts one at the limit', () => {
    expect(tags([['x-llm-user', 'u'.repeat(MAX_TAG_VALUE_CHARS)]]).user).toHaveLength(MAX_TAG_VALUE_CHARS);
    const e = error([['x-llm-user', 'u'.repeat(MAX_TAG_VALUE_CHARS + 1)]]);
    expect(e.header).toBe('x-llm-user');
    expect(e.message).toContain(String(MAX_TAG_VALUE_CHARS));
  });

  it.each(['x-llm-tag-', 'x-llm-tag-Team', 'x-llm-tag-_x', 'x-llm-tag-a b', `x-llm-tag-${'a'.repeat(65)}`])(
    'refuses the bad tag name in %s',
    (name) => {
      expect(error([[name, 'v']]).header).toBe(name);
    },
  );

  it(`accepts ${MAX_TAGS} tags and refuses one more`, () => {
    const headers: [string, string][] = [];
    for (let i = 0; i < MAX_TAGS; i++) headers.push([`x-llm-tag-t${i}`, String(i)]);
    expect(Object.keys(tags(headers).tags)).toHaveLength(MAX_TAGS);
    // Repeating an existing tag does not count as one more.
    expect(Object.keys(tags([...headers, ['x-llm-tag-t0', 'again']]).tags)).toHaveLength(MAX_TAGS);
    const e = error([...headers, ['x-llm-tag-extra', 'x']]);
    expect(e.header).toBe('x-llm-tag-extra');
    expect(e.message).toContain(String(MAX_TAGS));
  });
});

describe('shouldCapture', () => {
  it('lets the header force capture on or off', () => {
    expect(shouldCapture(true, 0, 0.99)).toBe(true);
    expect(shouldCapture(false, 1, 0)).toBe(false);
  });

  it('samples with random < rate otherwise', () => {
    expect(shouldCapture(null, 0.25, 0.2)).toBe(true);
    expect(shouldCapture(null, 0.25, 0.25)).toBe(false);
    expect(shouldCapture(null, 0, 0)).toBe(false);
    expect(shouldCapture(null, 1, 0.999999)).toBe(true);
  });
});
