import { sampleEvent } from '../../../test/support/sample-event';
import { buildRedactor } from './redaction-config';
import { redactBody } from './redact-body';
import { redactEvent, strippedEvent } from './redact-event';

const mask = buildRedactor(undefined, 'mask');
const b = (text: string): string => redactBody(text, mask).text;

describe('bodies', () => {
  it('redacts inside JSON string literals and keeps the JSON valid', () => {
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'mail bob@example.com or call +1 415 555 2671' }] });
    const out = b(body);
    expect(JSON.parse(out)).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'mail [REDACTED:email] or call [REDACTED:phone]' }] });
  });

  it('sees through escapes: a newline right before an address, an escaped @, unicode around it', () => {
    const body = '{"content":"line one\\nbob@example.com\\tand carol\\u0040example.org \\u00e9"}';
    const out = b(body);
    expect(JSON.parse(out)).toEqual({ content: 'line one\n[REDACTED:email]\tand [REDACTED:email] é' });
    expect(out).not.toMatch(/bob|carol/);
  });

  it('redacts a keyed secret across the key and value literals, only the value', () => {
    expect(b('{"api_key": "zz9-top-secret-1", "n": 1}')).toBe('{"api_key": "[REDACTED:secret]", "n": 1}');
  });

  it('never lets a match take a quote, even a user pattern that spans one', () => {
    const red = buildRedactor({ mode: 'off', rules: [{ name: 'any', pattern: 'x":"y', action: 'mask' }] }, undefined);
    const out = redactBody('{"a":"x","b":"y"}', red).text;
    expect(() => JSON.parse(out)).not.toThrow();
  });

  it('redacts server-sent events and plain text bodies', () => {
    const sse = 'data: {"choices":[{"delta":{"content":"write to bob@example.com"}}]}\n\ndata: [DONE]\n\n';
    expect(b(sse)).toBe('data: {"choices":[{"delta":{"content":"write to [REDACTED:email]"}}]}\n\ndata: [DONE]\n\n');
    expect(b('plain "quoted bob@example.com" and an "unclosed one with 4111 1111 1111 1111')).toBe(
      'plain "quoted [REDACTED:email]" and an "unclosed one with [REDACTED:card]',
    );
  });

  it('leaves a body without values as it is, byte for byte', () => {
    const body = '{ "model" : "gpt-4o",\n  "messages": [ {"role":"user","content":"hi \\"there\\" \\u00e9"} ] }';
    expect(redactBody(body, mask)).toEqual({ text: body, applied: [] });
  });
});

describe('events', () => {
  const jwt = ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'].join('.');

  it('redacts bodies, text, error message and client metadata; keeps numbers and ids', () => {
    const e = sampleEvent({
      streamed: false,
      request_body: JSON.stringify({ messages: [{ role: 'user', content: `my ssn is 078-05-1120, token ${jwt}` }] }),
      response_body: JSON.stringify({ choices: [{ message: { content: 'noted: 078-05-1120' } }] }),
      response_text: 'noted: 078-05-1120',
      error_message: 'rejected for alice@example.com',
      user: 'alice@example.com',
      app: 'billing',
      tags: { customer: 'DE89 3704 0044 0532 0130 00', plan: 'pro' },
    });
    const { event, applied } = redactEvent(e, mask);
    expect(applied.sort()).toEqual(['email', 'iban', 'secret', 'ssn']);
    expect(JSON.stringify(event)).not.toMatch(/078-05-1120|alice@|eyJhbGci|DE89/);
    expect(event.user).toBe('[REDACTED:email]');
    expect(event.tags).toEqual({ customer: '[REDACTED:iban]', plan: 'pro' });
    expect(event.app).toBe('billing');
    const { request_body: _a, response_body: _b, response_text: _c, error_message: _d, user: _e, tags: _f, ...rest } = event;
    const { request_body: _g, response_body: _h, response_text: _i, error_message: _j, user: _k, tags: _l, ...restBefore } = e;
    expect(rest).toEqual(restBefore);
  });

  it('leaves out a stream as received when its assembled answer needed redaction', () => {
    const e = sampleEvent({
      streamed: true,
      response_body: 'data: {"choices":[{"delta":{"content":"bob@exa"}}]}\n\ndata: {"choices":[{"delta":{"content":"mple.com"}}]}\n\n',
      response_text: 'bob@example.com',
    });
    const { event } = redactEvent(e, mask);
    expect(event.response_text).toBe('[REDACTED:email]');
    expect(event.response_body).toBeNull();
  });

  it('keeps a stream as received when its answer needed nothing', () => {
    const e = sampleEvent({ streamed: true, response_body: 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n', response_text: 'hi' });
    expect(redactEvent(e, mask).event).toEqual(e);
  });

  it('metadata-only keeps no text; a stripped event keeps only the numbers', () => {
    const e = sampleEvent({ request_body: '{"a":1}', response_body: '{"b":2}', error_message: 'x', user: 'u' });
    const { event } = redactEvent(e, buildRedactor({ mode: 'metadata-only' }, undefined));
    expect(event).toMatchObject({ request_body: null, response_body: null, response_text: null, error_message: null, body_captured: false, user: 'u' });
    expect(strippedEvent(e)).toMatchObject({ request_body: null, user: null, tags: {}, usage: e.usage, latency_ms: e.latency_ms });
  });
});
