import { isOlderVersion, repriceCause, type ArchivedCall } from './reprice';

const call = (partial: Partial<ArchivedCall>): ArchivedCall => ({
  event_id: 'e',
  started_at: 0,
  provider: 'openai',
  request_model: 'gpt-4o',
  response_model: null,
  service_tier: null,
  cost_micro_usd: 10,
  price_version: '2026-12-07',
  input_tokens: 1,
  output_tokens: 1,
  cached_input_tokens: null,
  cache_write_tokens: null,
  reasoning_tokens: null,
  cache_write_1h_tokens: null,
  input_audio_tokens: null,
  input_image_tokens: null,
  output_audio_tokens: null,
  output_image_tokens: null,
  usage_source: 'provider',
  usage_note: null,
  ...partial,
});

test.each([
  ['2026-11-27', '2026-12-07', true],
  ['2026-11-27+custom:acme', '2026-12-07', true],
  ['2026-12-07+custom:old', '2026-12-07+custom:new', true], // same bundled table, other overrides: superseded
  ['2026-12-07', '2026-12-07', false],
  ['2027-01-01', '2026-12-07', false], // newer than the prices in force
  ['acme-v3', '2026-12-07', false], // not a table's version
])('%s is older than %s: %s', (version, current, older) => {
  expect(isOlderVersion(version, current)).toBe(older);
});

test('only events with usage and no price, or an older price, are repriced', () => {
  const current = '2026-12-07';
  expect(repriceCause(call({}), current)).toBeNull();
  expect(repriceCause(call({ price_version: '2026-11-27' }), current)).toBe('older_version');
  expect(repriceCause(call({ cost_micro_usd: null, price_version: null }), current)).toBe('unknown_price');
  expect(repriceCause(call({ cost_micro_usd: null, price_version: null, usage_source: 'estimated' }), current)).toBe('unknown_price');
  expect(repriceCause(call({ cost_micro_usd: null, input_tokens: null, output_tokens: null, usage_source: 'none' }), current)).toBeNull();
  expect(repriceCause(call({ cost_micro_usd: null, input_tokens: null, usage_note: 'prompt_tokens: -1 is negative' }), current)).toBe('unknown_price');
  expect(repriceCause(call({ cost_micro_usd: 5, price_version: null }), current)).toBeNull();
});
