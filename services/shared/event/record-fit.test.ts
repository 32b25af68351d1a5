import { sampleEvent } from '../../../test/support/sample-event';
import { fitEvent } from './record-fit';
import { truncatedFields } from './truncated-fields';

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
    expect(r.event).toEqual({ ...big, request_body: null, response_body: null, body_truncated: true, truncated_fields: 'request_body,response_body' });
  });

  it('leaves out every text when the bodies were not enough, and nothing when even that does not fit', () => {
    const r = fitEvent(big, size, 1_500)!;
    expect(r.fitted).toBe('without_text');
    expect(r.event).toMatchObject({ request_body: null, response_body: null, response_text: null, tool_calls: null, body_truncated: true });
    expect(r.event.truncated_fields).toBe('request_body,response_body,response_text'); // no tool calls in the sample
    expect(r.event.usage).toEqual(big.usage);
    expect(fitEvent(big, size, 100)).toBeNull();
  });

  it('adds what it leaves out to the fields the gateway already cut, each named once', () => {
    const cut = { ...big, truncated_fields: 'request_model,response_body', error_message: 'e'.repeat(5_000) };
    const r = fitEvent(cut, size, 3_000)!;
    expect(r.fitted).toBe('without_text');
    expect(r.event.truncated_fields!.split(',')).toEqual(
      expect.arrayContaining(['request_model', 'response_body', 'request_body', 'response_text', 'error_message']),
    );
    expect(r.event.truncated_fields!.split(',').filter((f) => f === 'response_body')).toHaveLength(1);
    expect(r.event.error_message).toHaveLength(1_000);
  });
});

describe('truncatedFields', () => {
  it('is null when nothing was cut, and names each field once in the order cut', () => {
    expect(truncatedFields(null, [])).toBeNull();
    expect(truncatedFields(undefined, ['a'])).toBe('a');
    expect(truncatedFields('a,b', ['b', 'c'])).toBe('a,b,c');
  });
});
