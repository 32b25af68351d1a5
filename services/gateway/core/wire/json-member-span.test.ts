import { findMember, removeMember, topLevelMembers } from './json-member-span';

function keysAndValues(text: string): Array<[string, string]> | null {
  const members = topLevelMembers(text);
  return members && members.map((m) => [m.rawKey, text.slice(m.valueStart, m.valueEnd)]);
}

describe('topLevelMembers', () => {
  it('finds each member and its exact value text', () => {
    const text = ' { "a" : 1.50 , "b":{"x":[1,{"y":"}"}]},"c":"q\\"uo}te","d":[],"e":null,"f":-2e3 } ';
    expect(keysAndValues(text)).toEqual([
      ['a', '1.50'],
      ['b', '{"x":[1,{"y":"}"}]}'],
      ['c', '"q\\"uo}te"'],
      ['d', '[]'],
      ['e', 'null'],
      ['f', '-2e3'],
    ]);
  });

  it('handles the empty object and rejects non-objects', () => {
    expect(topLevelMembers('{}')).toEqual([]);
    expect(topLevelMembers('[1]')).toBeNull();
    expect(topLevelMembers('"x"')).toBeNull();
    expect(topLevelMembers('')).toBeNull();
  });

  it('is unaffected by multibyte UTF-8 seen through latin1', () => {
    const bytes = Buffer.from('{"t":"日本 🚀 \\"","usage":null}', 'utf8');
    const text = bytes.toString('latin1');
    const members = topLevelMembers(text);
    const usage = members && findMember(members, 'usage');
    expect(usage).not.toBeNull();
    if (members === null || usage === null) return;
    expect(Buffer.from(removeMember(text, members, usage), 'latin1').toString('utf8')).toBe('{"t":"日本 🚀 \\""}');
  });
});

describe('findMember', () => {
  it('returns the last of duplicate keys, as JSON.parse does, and decodes escaped keys', () => {
    const text = '{"k":1,"k":2,"\\u006b2":3}';
    const members = topLevelMembers(text) ?? [];
    expect(text.slice(findMember(members, 'k')?.valueStart, findMember(members, 'k')?.valueEnd)).toBe('2');
    expect(findMember(members, 'k2')).not.toBeNull();
    expect(findMember(members, 'missing')).toBeNull();
  });
});

describe('removeMember', () => {
  const remove = (text: string, key: string): string => {
    const members = topLevelMembers(text) ?? [];
    const member = findMember(members, key);
    if (member === null) throw new Error(`no ${key}`);
    return removeMember(text, members, member);
  };

  it('removes a middle, first, last or only member with one comma', () => {
    expect(remove('{"a":1,"usage":null,"b":2}', 'usage')).toBe('{"a":1,"b":2}');
    expect(remove('{"usage":null,"b":2}', 'usage')).toBe('{"b":2}');
    expect(remove('{"a":1,"usage":null}', 'usage')).toBe('{"a":1}');
    expect(remove('{"usage":null}', 'usage')).toBe('{}');
  });

  it('keeps the surrounding formatting of spaced JSON valid', () => {
    const out = remove('{"a": 1, "usage": null, "b": 2}', 'usage');
    expect(out).toBe('{"a": 1, "b": 2}');
    expect(JSON.parse(remove('{\n  "a": 1,\n  "usage": null\n}', 'usage'))).toEqual({ a: 1 });
  });
});
