import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import type { AggregateRow } from '../../services/console/aggregates-contract';
import { startAlertRunner, type AlertRunner } from '../../services/console/alerts/alert-runner';
import type { AlertTransition } from '../../services/console/alerts/alert-tracker';
import { alertsFileSchema } from '../../services/shared/config/alert-rules';
import { runConsole } from '../../services/console/run-console';
import { loadConfig } from '../../services/shared/config/config';
import { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { embeddedLogPath, openEventLog } from '../../services/shared/log/open-log';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import { readRecords } from '../support/read-log';

/**
 * Alert transitions reach a real webhook receiver (Slack-compatible and
 * generic JSON bodies, retried on a 5xx) and the alerts topic of the log.
 */

interface Received {
  path: string;
  body: Record<string, unknown>;
}

let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
let failNextJson = true;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/generic' && failNextJson) {
        failNextJson = false;
        res.writeHead(503).end();
        return;
      }
      received.push({ path: req.url!, body: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((r) => receiver.once('listening', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((r) => receiver.close(r)));

function minuteRow(start: number, calls: number, errors: number): AggregateRow {
  const p = { p50: 100, p90: 150, p95: 200, p99: 300 };
  return {
    windowStart: new Date(start).toISOString(),
    windowEnd: new Date(start + 60_000).toISOString(),
    group: '',
    final: true,
    calls,
    errors,
    errorsByClass: {},
    errorRate: calls ? errors / calls : 0,
    cancelled: 0,
    late: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    costMicroUsd: 0,
    latencyMs: p,
    ttftMs: null,
    outputTokensPerSecond: null,
  };
}

test('an error-rate alert fires then resolves, once each, to both webhooks and the alerts topic', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-alerts-'));
  const log = new SqliteEventLog({ path: embeddedLogPath(dataDir), sync: 'normal' });
  let now = Date.UTC(2026, 0, 1, 12, 0);
  let errors = 0;
  const shown: AlertTransition[] = [];
  let runner: AlertRunner | null = null;
  try {
    runner = startAlertRunner({
      config: alertsFileSchema.parse({
        cooldownMinutes: 0,
        webhooks: [
          { url: `${receiverUrl}/slack`, format: 'slack' },
          { url: `${receiverUrl}/generic`, format: 'json' },
        ],
        rules: [{ name: 'error-rate', kind: 'error_rate', above: 0.2, windowMinutes: 1, minCalls: 5 }],
      }),
      source: async (q) => {
        expect(q).toMatchObject({ window: '1m', groupBy: 'overall' });
        return [minuteRow(now - 60_000, 10, errors)];
      },
      log,
      registry: createMetricsRegistry(),
      logger: createLogger('silent', 'test'),
      onTransition: (t) => shown.push(t),
      now: () => now,
    });
    expect(await runner.evaluate()).toEqual([]);
    errors = 5; // 50%: crosses the threshold
    now += 60_000;
    expect((await runner.evaluate()).map((t) => t.state)).toEqual(['firing']);
    now += 60_000;
    expect(await runner.evaluate()).toEqual([]); // still firing: not notified again
    expect(runner.active()).toHaveLength(1);
    errors = 0; // clears
    now += 60_000;
    expect((await runner.evaluate()).map((t) => t.state)).toEqual(['resolved']);
    expect(runner.active()).toEqual([]);
    await runner.stop();

    expect(shown.map((t) => t.state)).toEqual(['firing', 'resolved']);
    const slack = received.filter((r) => r.path === '/slack').map((r) => r.body.text as string);
    expect(slack).toHaveLength(2);
    expect(slack[0]).toMatch(/FIRING: \*error-rate\*: error-rate: error rate 50\.0% \(5 of 10 calls/);
    expect(slack[1]).toMatch(/RESOLVED: \*error-rate\*/);
    const generic = received.filter((r) => r.path === '/generic').map((r) => r.body);
    // The first delivery met a 503 and was retried.
    expect(generic.map((b) => (b.alert as AlertTransition).state)).toEqual(['firing', 'resolved']);
    expect(generic[0]).toMatchObject({ type: 'llm-logger.alert', alert: { rule: 'error-rate', kind: 'error_rate', value: 0.5, threshold: 0.2 } });

    const onTopic = readRecords(dataDir, TOPICS.alerts).map((r) => ({ key: r.key, value: JSON.parse(r.value.toString()) as AlertTransition }));
    expect(onTopic.map((r) => [r.key, r.value.state])).toEqual([
      ['error-rate', 'firing'],
      ['error-rate', 'resolved'],
    ]);
  } finally {
    await runner?.stop();
    await log.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a restarted console takes back its alert state from the alerts topic: a condition that still holds is not notified again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-logger-alerts-restart-'));
  const file = join(dir, 'llm-logger.yaml');
  writeFileSync(
    file,
    [
      'alerts:',
      '  evaluateEverySeconds: 1',
      `  webhooks: [{ url: "${receiverUrl}/restart", format: json }]`,
      '  rules: [{ name: quiet, kind: no_traffic, minutes: 1 }]',
      '',
    ].join('\n'),
  );
  const config = loadConfig({ LLM_LOGGER_DATA_DIR: join(dir, 'data'), LLM_LOGGER_CONSOLE_PORT: '0', LLM_LOGGER_CONFIG: file });
  const logger = createLogger('silent', 'test');
  const log = openEventLog(config, logger);
  const notified = () => received.filter((r) => r.path === '/restart').map((r) => (r.body.alert as AlertTransition).state);
  const alertsOf = async (port: number) =>
    (await (await fetch(`http://127.0.0.1:${port}/api/alerts`)).json()) as { active: AlertTransition[]; recent: AlertTransition[] };
  try {
    const first = await runConsole(config, log, createMetricsRegistry(), logger);
    const deadline = Date.now() + 10_000;
    while (notified().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(notified()).toEqual(['firing']); // no traffic at all
    await first.close();

    const second = await runConsole(config, log, createMetricsRegistry(), logger);
    try {
      await new Promise((r) => setTimeout(r, 3_000)); // a few rounds, with the condition still holding
      expect(notified()).toEqual(['firing']);
      const { active, recent } = await alertsOf(second.port);
      expect(active.map((t) => t.rule)).toEqual(['quiet']);
      expect(recent.map((t) => [t.rule, t.state])).toEqual([['quiet', 'firing']]);
    } finally {
      await second.close();
    }
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
