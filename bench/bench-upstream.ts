import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A lean stand-in upstream for benchmarks: canned OpenAI chat answers, so the
 * numbers measure the proxies, not the upstream. Streams honour
 * `stream_options.include_usage` as OpenAI does (the gateway asks for it).
 */

const model = 'gpt-4o-mini-2024-07-18';
const content = 'The quick brown fox jumps over the lazy dog. '.repeat(8);
const completion = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1764259200,
  model,
  choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 25, completion_tokens: 80, total_tokens: 105 },
  system_fingerprint: 'fp_bench',
});

function streamEvents(includeUsage: boolean): string[] {
  const extra = includeUsage ? ',"usage":null' : '';
  const chunk = (delta: string, finish: string | null): string =>
    `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1764259200,"model":"${model}","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}]${extra}}\n\n`;
  const events = [chunk('{"role":"assistant","content":""}', null)];
  for (const word of content.split(' ').slice(0, 20)) events.push(chunk(JSON.stringify({ content: `${word} ` }), null));
  events.push(chunk('{}', 'stop'));
  if (includeUsage) {
    events.push(
      `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1764259200,"model":"${model}","system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":25,"completion_tokens":20,"total_tokens":45}}\n\n`,
    );
  }
  events.push('data: [DONE]\n\n');
  return events;
}

const plainStream = streamEvents(false).join('');
const usageStream = streamEvents(true).join('');

export function startBenchUpstream(port: number): Promise<number> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (body.includes('"stream":true')) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        // First event now, the rest on the next tick: a stream, not one buffer.
        const text = body.includes('"include_usage":true') ? usageStream : plainStream;
        const cut = text.indexOf('\n\n') + 2;
        res.write(text.slice(0, cut));
        setImmediate(() => res.end(text.slice(cut)));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completion) });
      res.end(completion);
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

if (require.main === module) {
  void startBenchUpstream(Number(process.argv[2] ?? 0)).then((port) => process.stdout.write(`${port}\n`));
}
