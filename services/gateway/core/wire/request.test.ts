import { loadAllFixtures } from '../../../../test/fixtures/load-fixtures';
import { parseRequest } from './request';

describe('parseRequest', () => {
  it('never throws and returns defaults for non-object bodies', () => {
    for (const body of [undefined, null, 'text', 42, [1, 2], true]) {
      expect(parseRequest('chat.completions', body)).toEqual({
        model: null,
        stream: false,
        includeUsage: false,
        promptText: '',
      });
    }
  });

  it('reads model, stream and include_usage', () => {
    const parsed = parseRequest('chat.completions', {
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [],
    });
    expect(parsed).toMatchObject({ model: 'gpt-4o-mini', stream: true, includeUsage: true });
  });

  it('only takes exact booleans for stream and include_usage', () => {
    const parsed = parseRequest('chat.completions', { stream: 'true', stream_options: { include_usage: 1 } });
    expect(parsed).toMatchObject({ model: null, stream: false, includeUsage: false });
    expect(parseRequest('chat.completions', { stream: true, stream_options: null }).includeUsage).toBe(false);
  });

  it('gathers chat message texts from strings, text parts and tool calls', () => {
    const { promptText } = parseRequest('chat.completions', {
      messages: [
        { role: 'system', content: 'sys' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'part one' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            { type: 'text', text: 'part two' },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'tool output' },
        { role: 'assistant', function_call: { name: 'legacy', arguments: '{"x":2}' } },
      ],
    });
    expect(promptText).toBe('sys\npart one\npart two\nlookup\n{"q":1}\ntool output\n{"x":2}');
  });

  it('reads completions prompt as string or array, skipping token arrays', () => {
    expect(parseRequest('completions', { prompt: 'once' }).promptText).toBe('once');
    expect(parseRequest('completions', { prompt: ['a', 'b'] }).promptText).toBe('a\nb');
    expect(parseRequest('completions', { prompt: [1, 2, 3] }).promptText).toBe('');
  });

  it('reads embeddings input; token arrays contribute nothing', () => {
    expect(parseRequest('embeddings', { input: 'one' }).promptText).toBe('one');
    expect(parseRequest('embeddings', { input: ['one', 'two'] }).promptText).toBe('one\ntwo');
    expect(parseRequest('embeddings', { input: [[1, 2], [3]] }).promptText).toBe('');
    expect(parseRequest('embeddings', { input: [5, 6] }).promptText).toBe('');
  });

  it('reads responses instructions and input (string or items)', () => {
    expect(parseRequest('responses', { instructions: 'be brief', input: 'hi' }).promptText).toBe('be brief\nhi');
    const { promptText } = parseRequest('responses', {
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'question' }, { type: 'input_image', image_url: 'x' }] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'earlier answer' }] },
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{"a":1}' },
        { type: 'function_call_output', call_id: 'c', output: 'result' },
        { role: 'user', content: 'plain' },
      ],
    });
    expect(promptText).toBe('question\nearlier answer\n{"a":1}\nresult\nplain');
  });

  it('reads anthropic system (string or blocks) and message content blocks', () => {
    expect(parseRequest('messages', { system: 'sys', messages: [{ role: 'user', content: 'hi' }] }).promptText).toBe(
      'sys\nhi',
    );
    const { promptText } = parseRequest('messages', {
      system: [{ type: 'text', text: 'block sys', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'question' }, { type: 'image', source: {} }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { city: 'Oslo' } }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't', content: 'sunny' },
            { type: 'tool_result', tool_use_id: 'u', content: [{ type: 'text', text: 'nested' }] },
          ],
        },
      ],
    });
    expect(promptText).toBe('block sys\nquestion\n{"city":"Oslo"}\nsunny\nnested');
  });

  it('gathers nothing for other endpoints', () => {
    expect(parseRequest('other', { model: 'm', input: 'x', messages: [{ content: 'y' }] })).toEqual({
      model: 'm',
      stream: false,
      includeUsage: false,
      promptText: '',
    });
  });

  it('parses every fixture request', () => {
    for (const fixture of loadAllFixtures()) {
      const parsed = parseRequest(fixture.meta.endpoint, fixture.request);
      const body = fixture.request as { model?: string; stream?: boolean };
      expect(parsed.model).toBe(body.model ?? null);
      expect(parsed.stream).toBe(body.stream === true);
      expect(parsed.promptText).not.toBe('');
    }
  });
});
