import { stripVersionSuffix } from './version-suffix';

describe('stripVersionSuffix', () => {
  it.each([
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-3-5-haiku-latest', 'claude-3-5-haiku'],
  ])('strips the snapshot suffix of %s', (model, family) => {
    expect(stripVersionSuffix(model)).toBe(family);
  });

  it.each([
    'gpt-4o',
    'gpt-4o-audio-preview',
    'gpt-4-0613', // four-digit snapshots are priced through explicit aliases instead
    'claude-opus-4-1',
    '-latest',
    'gpt-4o-2024-8-6',
    'claude-3-5-sonnet@20241022',
  ])('leaves %s alone', (model) => {
    expect(stripVersionSuffix(model)).toBeNull();
  });

  it('strips only one suffix', () => {
    expect(stripVersionSuffix('gpt-4o-2024-08-06-latest')).toBe('gpt-4o-2024-08-06');
  });
});
