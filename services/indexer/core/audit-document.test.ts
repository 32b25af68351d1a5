import { sampleEvent } from '../../../test/support/sample-event';
import { dayOfIndex, expiredIndices, indexNameFor, promptText, toAuditDocument } from './audit-document';
import { buildRedactor } from '../../shared/redaction/redaction-config';

const mask = buildRedactor(undefined, 'mask');

describe('promptText', () => {
  it('collects message contents and system prompts, not model names or images', () => {
    const body = JSON.stringify({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'Describe this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      ],
    });
    expect(promptText(body)).toBe('You are terse.\nDescribe this');
  });

  it('reads Anthropic system blocks, completion prompts, embedding inputs and Responses input', () => {
    expect(promptText(JSON.stringify({ system: [{ type: 'text', text: 'Be kind' }], messages: [{ role: 'user', content: 'Hi' }] }))).toBe('Be kind\nHi');
    expect(promptText(JSON.stringify({ model: 'x', prompt: ['one', 'two'] }))).toBe('one\ntwo');
    expect(promptText(JSON.stringify({ model: 'x', input: 'embed me' }))).toBe('embed me');
    expect(promptText(JSON.stringify({ instructions: 'Sys', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Q' }] }] }))).toBe('Sys\nQ');
  });

  it('indexes a body that is not JSON as it is, and nothing for no body', () => {
    expect(promptText('plain text prompt')).toBe('plain text prompt');
    expect(promptText(null)).toBeNull();
    expect(promptText(JSON.stringify({ model: 'x' }))).toBeNull();
  });
});

describe('toAuditDocument', () => {
  it('maps an event, redacting prompt, response and error message', () => {
    const doc = toAuditDocument(
      sampleEvent({
        request_body: JSON.stringify({ messages: [{ role: 'user', content: 'mail me at a@b.io' }] }),
        response_text: 'Sure, card 4111 1111 1111 1111 noted',
        // Built from parts so no key-shaped literal sits in the repository.
        error_message: `key ${['sk', 'abcdefghijklmnopqrstuvwx'].join('-')} is invalid`,
        http_status: 401,
        error_class: 'client_error',
      }),
      mask,
    );
    expect(doc.prompt).toBe('mail me at [REDACTED:email]');
    expect(doc.response).toBe('Sure, card [REDACTED:card] noted');
    expect(doc.error_message).toBe('key [REDACTED:secret] is invalid');
    expect(doc.redacted).toEqual(['card', 'email']);
    expect(doc.outcome).toBe('error');
    expect(doc['@timestamp']).toBe('2023-11-14T22:13:20.000Z');
    expect(doc.model).toBe('gpt-4o-mini-2024-07-18');
    expect(doc.cost_usd).toBe(0.000004);
    expect(JSON.stringify(doc)).not.toContain('a@b.io');
  });

  it('redacts app, session, trace id and tags, and keeps the user id that erasure and search by user match on', () => {
    const doc = toAuditDocument(
      sampleEvent({ user: 'carol@example.com', app: 'bot for dan@example.com', session: 'call +1 415 555 2671', tags: { ticket: 'ssn 219-09-9999', team: 'core' } }),
      mask,
    );
    expect(doc).toMatchObject({ user: 'carol@example.com', app: 'bot for [REDACTED:email]', session: 'call [REDACTED:phone]' });
    expect(doc.tags).toEqual({ ticket: 'ssn [REDACTED:ssn]', team: 'core' });
    expect(doc.redacted).toEqual(expect.arrayContaining(['email', 'phone', 'ssn']));
  });

  it('metadata-only keeps no text at all', () => {
    const doc = toAuditDocument(sampleEvent({ error_message: 'boom a@b.io' }), buildRedactor({ mode: 'metadata-only' }, undefined));
    expect([doc.prompt, doc.response, doc.error_message]).toEqual([null, null, null]);
    expect(doc.user).toBe('alice');
  });

  it('marks cancelled calls', () => {
    expect(toAuditDocument(sampleEvent({ client_cancelled: true }), mask).outcome).toBe('cancelled');
  });
});

describe('daily indices', () => {
  it('names the index after the event day (UTC) and reads it back', () => {
    expect(indexNameFor('llm-inference', Date.UTC(2025, 0, 9, 23, 59, 59))).toBe('llm-inference-2025.01.09');
    expect(dayOfIndex('llm-inference', 'llm-inference-2025.01.09')).toBe(Date.UTC(2025, 0, 9));
    expect(dayOfIndex('llm-inference', 'other-2025.01.09')).toBeNull();
    expect(dayOfIndex('llm-inference', 'llm-inference-x')).toBeNull();
  });

  it('expires a day once it ended more than the retention period ago', () => {
    const now = Date.UTC(2025, 0, 31, 12);
    const names = ['llm-inference-2024.12.31', 'llm-inference-2025.01.01', 'llm-inference-2025.01.30', 'unrelated'];
    expect(expiredIndices('llm-inference', names, now, 30)).toEqual(['llm-inference-2024.12.31']);
  });
});
