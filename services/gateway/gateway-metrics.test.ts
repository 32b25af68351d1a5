import { Registry } from 'prom-client';
import { sampleEvent } from '../../test/support/sample-event';
import { createGatewayMetrics } from './gateway-metrics';

describe('gateway metrics', () => {
  it('counts calls by upstream, status class and error class, their durations, and tokens', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry, () => 0);
    const noTokens = { ...sampleEvent().usage, input_tokens: null, output_tokens: null };
    const ok = sampleEvent({ upstream: 'openai', http_status: 200, error_class: null, latency_ms: 40 });
    metrics.observeCall({ ...ok, usage: { ...ok.usage, input_tokens: 10, output_tokens: 5 } });
    metrics.observeCall({ ...ok, usage: { ...ok.usage, input_tokens: 3, output_tokens: null } });
    metrics.observeCall(sampleEvent({ upstream: 'openai', http_status: 429, error_class: 'rate_limited', latency_ms: 3_000, usage: noTokens }));
    metrics.observeCall(sampleEvent({ upstream: 'anthropic', http_status: null, error_class: 'upstream_unreachable', latency_ms: 1, usage: noTokens }));
    const text = await registry.metrics();
    expect(text).toContain('llm_logger_gateway_calls_total{upstream="openai",status="2xx",error_class="none"} 2');
    expect(text).toContain('llm_logger_gateway_calls_total{upstream="openai",status="4xx",error_class="rate_limited"} 1');
    expect(text).toContain('llm_logger_gateway_calls_total{upstream="anthropic",status="none",error_class="upstream_unreachable"} 1');
    expect(text).toContain('llm_logger_gateway_tokens_total{upstream="openai",direction="input"} 13');
    expect(text).toContain('llm_logger_gateway_tokens_total{upstream="openai",direction="output"} 5');
    expect(text).toContain('llm_logger_gateway_call_duration_seconds_bucket{le="0.05",upstream="openai"} 2');
    expect(text).toContain('llm_logger_gateway_call_duration_seconds_count{upstream="openai"} 3');
    expect(text).toContain('llm_logger_gateway_call_duration_seconds_count{upstream="anthropic"} 1');
    expect(text).not.toContain('llm_logger_gateway_tokens_total{upstream="anthropic"');
  });

  it('adds each call once however often it is scraped, including calls between scrapes', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry, () => 0);
    const ok = sampleEvent({ upstream: 'openai', http_status: 200, error_class: null });
    const call = { ...ok, usage: { ...ok.usage, input_tokens: 7, output_tokens: 2 } };
    metrics.observeCall(call);
    expect(await registry.metrics()).toContain('llm_logger_gateway_calls_total{upstream="openai",status="2xx",error_class="none"} 1');
    expect(await registry.metrics()).toContain('llm_logger_gateway_calls_total{upstream="openai",status="2xx",error_class="none"} 1');
    metrics.observeCall(call);
    metrics.observeCall(call);
    const text = await registry.metrics();
    expect(text).toContain('llm_logger_gateway_calls_total{upstream="openai",status="2xx",error_class="none"} 3');
    expect(text).toContain('llm_logger_gateway_tokens_total{upstream="openai",direction="input"} 21');
    expect(text).toContain('llm_logger_gateway_tokens_total{upstream="openai",direction="output"} 6');
  });

  it('never lets a bad count fail a scrape, and counts refused counts by kind', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry, () => 0);
    const ok = sampleEvent({ upstream: 'vllm', http_status: 200, error_class: null });
    // A negative count can only come from an event the gateway did not build (the parsers refuse them): it must not reach a counter.
    metrics.observeCall({ ...ok, usage: { ...ok.usage, input_tokens: -5, output_tokens: 4 } });
    metrics.observeCall({
      ...ok,
      usage: { ...ok.usage, input_tokens: null, output_tokens: 4, note: 'prompt_tokens: -5 is negative; completion_tokens_details.audio_tokens: 0.5 is not a whole number' },
    });
    const text = await registry.metrics(); // prom-client throws on a negative increment: this would reject
    expect(text).toContain('llm_logger_gateway_tokens_total{upstream="vllm",direction="output"} 8');
    expect(text).not.toContain('direction="input"');
    expect(text).toContain('llm_logger_gateway_usage_rejected_total{upstream="vllm",kind="negative"} 1');
    expect(text).toContain('llm_logger_gateway_usage_rejected_total{upstream="vllm",kind="fractional"} 1');
    await expect(registry.metrics()).resolves.toContain('llm_logger_gateway_calls_total{upstream="vllm",status="2xx",error_class="none"} 2');
  });
});
