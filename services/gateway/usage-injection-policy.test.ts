import { Registry } from 'prom-client';
import type { Upstream } from '../shared/config/upstreams';
import { createLogger } from '../shared/observability/logger';
import { gzipSync } from 'node:zlib';
import { refusalText, refusesUsageOption, UsageInjectionPolicy } from './usage-injection-policy';

const upstream = (name: string, usageInjection?: Upstream['usageInjection']): Upstream => ({
  name,
  baseUrl: 'http://127.0.0.1:1',
  format: 'openai',
  provider: name,
  azure: false,
  apiKey: null,
  usageInjection,
});

test('auto adds the option until the upstream refuses it; always and never do not learn', async () => {
  const registry = new Registry();
  const policy = new UsageInjectionPolicy(registry, createLogger('silent', 'test'));
  const auto = upstream('vllm');
  const always = upstream('azure', 'always');
  const never = upstream('ollama', 'never');
  expect([policy.shouldInject(auto), policy.shouldInject(always), policy.shouldInject(never)]).toEqual([true, true, false]);
  expect([policy.retriesWithout(auto), policy.retriesWithout(always), policy.retriesWithout(never)]).toEqual([true, false, false]);
  policy.refused(auto, '{"error":{"message":"Unrecognized request argument supplied: stream_options"}}');
  policy.refused(auto, 'again, from a call that was in flight');
  expect(policy.shouldInject(auto)).toBe(false);
  expect(policy.shouldInject(upstream('other'))).toBe(true); // one flag per upstream
  const text = await registry.metrics();
  expect(text).toContain('llm_logger_gateway_usage_injection_off{upstream="vllm"} 1');
  expect(text).toContain('llm_logger_gateway_usage_injection_retries_total{upstream="vllm"} 2');
});

test.each([
  ['{"error":{"message":"Unrecognized request argument supplied: stream_options"}}', true],
  ['{"object":"error","message":"[{\'type\': \'extra_forbidden\', \'loc\': (\'body\', \'stream_options\')}]","code":400}', true],
  ['{"detail":"include_usage is not supported"}', true],
  ['{"error":{"message":"messages: field required"}}', false],
  ['', false],
])('a 400 body %p names the option: %p', (body, names) => {
  expect(refusesUsageOption(body)).toBe(names);
});

test('a held body is read through its content encoding, and an unreadable one names nothing', () => {
  const body = '{"error":{"message":"Unrecognized request argument supplied: stream_options"}}';
  expect(refusalText([gzipSync(body).subarray(0, 10), gzipSync(body).subarray(10)], 'gzip')).toBe(body);
  expect(refusalText([Buffer.from(body)], undefined)).toBe(body);
  expect(refusalText([Buffer.from('not gzip')], 'gzip')).toBe('');
});
