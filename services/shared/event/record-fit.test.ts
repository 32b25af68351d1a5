import { sampleEvent } from '../../../test/support/sample-event';
import { fitEvent } from './record-fit';

/** Size as a stand-in for the encoding: the JSON length. */
const size = (e: object): number => JSON.stringify(e).length;

describe('fitEvent', () => {
  const big = sampleEvent({ request_body: 'x'.repeat(5_000), response_body: 'y'.repeat(5_000), response_text: 'z'.repeat(2_000) });

  it('keeps an event that fits as it is', () => {
    expect(fitEvent(big, size, 1_000_000)).toEqual({ event: big, fitted: 'whole' });
  });

  it('leaves out the bodies, flagged truncated, when that is enough', () => {
    const r = fitEvent(big, size, 4_000)!;
    expect(r.fitted).toBe('without_bodies');
    expect(r.event).toEqual({ ...big, request_body: null, response_body: null, body_truncated: true });
  });

  it('leaves out every text when the bodies were not enough, and nothing when even that does not fit', () => {
    const r = fitEvent(big, size, 1_500)!;
    expect(r.fitted).toBe('without_text');
    expect(r.event).toMatchObject({ request_body: null, response_body: null, response_text: null, tool_calls: null, body_truncated: true });
    expect(r.event.usage).toEqual(big.usage);
    expect(fitEvent(big, size, 100)).toBeNull();
  });
});
