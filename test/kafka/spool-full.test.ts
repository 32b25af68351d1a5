import { describeWithInfra } from '../support/infra';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * Kafka unreachable and the disk spool full: best-effort keeps serving and
 * counts the dropped events; strict refuses new calls with 503.
 */
describeWithInfra('full spool', (settings) => {
  let upstream: StandIn;
  beforeAll(async () => {
    upstream = await startStandIn();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  const env = (auditMode: string): Record<string, string> => ({
    LLM_LOGGER_KAFKA_BROKERS: '127.0.0.1:1', // nothing listens there
    LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
    LLM_LOGGER_KAFKA_DELIVERY_TIMEOUT_MS: '1000',
    LLM_LOGGER_SPOOL_MAX_BYTES: String(1024 * 1024),
    LLM_LOGGER_AUDIT_MODE: auditMode,
  });
  // ~60 KB captured per call: the 1 MiB spool fills after a few dozen calls.
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(60_000) }] });

  async function call(pipeline: Pipeline): Promise<number> {
    try {
      const res = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, { method: 'POST', body });
      await res.text();
      return res.status;
    } catch {
      return 0; // answer withheld (strict: its event could not be recorded)
    }
  }

  test('best-effort: calls keep being answered; dropped events are counted', async () => {
    const pipeline = await startPipeline(upstream.url, env('best-effort'));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push(await call(pipeline));
      expect(statuses.every((s) => s === 200)).toBe(true);
      let dropped = 0;
      for (let i = 0; i < 50 && dropped === 0; i++) {
        const metrics = await (await fetch(`${pipeline.gatewayUrl}/metrics`)).text();
        dropped = Number(/^llm_logger_gateway_events_dropped_total (\d+)/m.exec(metrics)?.[1] ?? 0);
        if (dropped === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(dropped).toBeGreaterThan(0);
      const ready = (await (await fetch(`${pipeline.gatewayUrl}/readyz`)).json()) as { broker: string; spool_bytes: number };
      expect(ready.broker).toBe('down');
      expect(ready.spool_bytes).toBeGreaterThan(900_000);
    } finally {
      await pipeline.close();
    }
  }, 120_000);

  test('strict: once nothing more can be recorded, new calls get 503', async () => {
    const pipeline = await startPipeline(upstream.url, env('strict'));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 60 && !statuses.includes(503); i++) statuses.push(await call(pipeline));
      expect(statuses[0]).toBe(200); // spooled: durable on local disk
      // The call whose event no longer fitted got no complete answer (0); the next ones a 503.
      expect(statuses).toContain(503);
      expect(statuses.slice(statuses.indexOf(503))).toEqual([503]);
      const refused = await fetch(`${pipeline.gatewayUrl}/openai/v1/chat/completions`, { method: 'POST', body });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('audit_unavailable');
      expect((await fetch(`${pipeline.gatewayUrl}/readyz`)).status).toBe(503);
    } finally {
      await pipeline.close();
    }
  }, 120_000);
});
