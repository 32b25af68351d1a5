import type { LiveRecord } from './live-record';
import { decodeLiveRecord, encodeLiveRecord } from './live-record-codec';

describe('live record codec', () => {
  const records: LiveRecord[] = [
    {
      type: 'started',
      event_id: 'a',
      started_at: 1,
      upstream: 'openai',
      provider: 'openai',
      endpoint: 'chat.completions',
      model: null,
      streamed: true,
      user: 'u',
      app: null,
      prompt: null,
    },
    { type: 'progress', event_id: 'a', at: 2, text: 'Hi', chars: 2, ttft_ms: null },
  ];

  it.each(records)('round-trips a $type record', (r) => {
    expect(decodeLiveRecord(encodeLiveRecord(r))).toEqual(r);
  });

  it.each([
    [{ ...records[0], streamed: 'yes' }, 'streamed'],
    [{ ...records[0], upstream: undefined }, 'upstream'],
    [{ ...records[1], chars: '2' }, 'chars'],
    [{ ...records[1], type: 'ended' }, 'type'],
    [{ type: 'progress' }, 'event_id'],
  ])('names the bad field', (value, field) => {
    expect(() => decodeLiveRecord(Buffer.from(JSON.stringify(value)))).toThrow(`"${field}"`);
  });
});
