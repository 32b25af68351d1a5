import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithInfra } from '../support/infra';
import { ensureTopics } from '../support/kafka-topics';
import { REPO_ROOT, startCli, type RunningCli } from '../support/processes';
import { describeWithK8sTools, renderChart } from './k8s-render';

/**
 * The pipeline watches itself: every llm_logger_* metric the chart's
 * PrometheusRule and the Grafana dashboard (infra/monitoring/) name is
 * exported by the roles as they run, read from each role's real /metrics
 * (the gateway on Kafka, so the spool and broker metrics are there; the
 * consumer roles and the console on the embedded log, which registers the
 * same consumer metrics without joining the shared broker's groups).
 */

type Role = 'gateway' | 'aggregator' | 'indexer' | 'roller' | 'console';

/** Metric names in a PromQL expression: ours (llm_logger_*), and `up`, which Prometheus makes for every target. */
export function metricNames(expr: string): string[] {
  const names = expr.match(/\bllm_logger_[a-z0-9_]+/g) ?? [];
  return [...new Set(names)];
}

/** Metric families of a Prometheus text exposition: name -> type. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** A sample name as the exposition shows it: histograms and summaries add _bucket, _sum and _count. */
function exported(name: string, exposed: Map<string, string>): boolean {
  if (exposed.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && ['histogram', 'summary'].includes(exposed.get(base) ?? '');
}

interface RuleGroup {
  rules: { alert: string; expr: string }[];
}

function dashboardExpressions(): string[] {
  const dash = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'monitoring', 'grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

test('the name extraction finds every llm_logger_* metric of an expression, and only those', () => {
  expect(metricNames('sum(rate(llm_logger_gateway_calls_total{status=~"5xx"}[5m])) / clamp_min(sum(rate(llm_logger_gateway_calls_total[5m])), 1e-9)')).toEqual([
    'llm_logger_gateway_calls_total',
  ]);
  expect(metricNames('histogram_quantile(0.9, sum by (le) (rate(llm_logger_x_seconds_bucket[5m]))) or up')).toEqual(['llm_logger_x_seconds_bucket']);
  const exposed = new Map([['llm_logger_x_seconds', 'histogram'], ['llm_logger_y_total', 'counter']]);
  expect(exported('llm_logger_x_seconds_bucket', exposed)).toBe(true);
  expect(exported('llm_logger_y_total_count', exposed)).toBe(false);
  expect(exported('llm_logger_nosuch_total', exposed)).toBe(false);
});

describeWithK8sTools('The pipeline\'s own monitoring (PrometheusRule, ServiceMonitors, Grafana dashboard)', () => {
  let groups: RuleGroup[];
  beforeAll(() => {
    const prod = renderChart('prod');
    groups = (prod.find((o) => o.kind === 'PrometheusRule')!.spec as { groups: RuleGroup[] }).groups;
  });

  test('alerts cover consumer lag, spool depth, DLQ rate, dropped events, gateway error rate and the registry being down', () => {
    const alerts = new Map(groups.flatMap((g) => g.rules.map((r) => [r.alert, r.expr] as const)));
    const expectations: [string, string][] = [
      ['LlmLoggerConsumerLagHigh', 'llm_logger_consumer_lag_records'],
      ['LlmLoggerSpoolFilling', 'llm_logger_log_spool_bytes'],
      ['LlmLoggerGatewaySpooling', 'llm_logger_log_spool_records'],
      ['LlmLoggerDeadLetters', 'llm_logger_consumer_failures_total'],
      ['LlmLoggerEventsDropped', 'llm_logger_gateway_events_dropped_total'],
      ['LlmLoggerGatewayErrorRate', 'llm_logger_gateway_calls_total'],
      ['LlmLoggerSchemaRegistryDown', 'up{job=~".*llm-logger-schema-registry.*"}'],
    ];
    for (const [alert, metric] of expectations) expect({ alert, expr: alerts.get(alert) }).toEqual({ alert, expr: expect.stringContaining(metric) });
  });

  test('every scrape target is a Service port the chart defines, and the registry\'s job is the name its alert selects', () => {
    const prod = renderChart('prod');
    for (const sm of prod.filter((o) => o.kind === 'ServiceMonitor')) {
      const spec = sm.spec as { selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; values: string[] }[] }; endpoints: { port: string }[] };
      const services = prod.filter((o) => {
        if (o.kind !== 'Service') return false;
        const labels = o.metadata.labels ?? {};
        const byLabel = Object.entries(spec.selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
        const byExpr = (spec.selector.matchExpressions ?? []).every((e) => e.values.includes(labels[e.key] ?? ''));
        return byLabel && byExpr;
      });
      expect({ monitor: sm.metadata.name, services: services.length > 0 }).toEqual({ monitor: sm.metadata.name, services: true });
      // Prometheus Operator names a target's job after its Service: the alerts select jobs by these names.
      for (const s of services) expect(s.metadata.name).toMatch(/^llm-logger-(gateway|aggregator|indexer|roller|console|schema-registry)$/);
      for (const s of services) {
        const ports = (s.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
        for (const e of spec.endpoints) expect({ service: s.metadata.name, port: ports.includes(e.port) }).toEqual({ service: s.metadata.name, port: true });
      }
    }
  });

  describeWithInfra('against the running roles\' /metrics', (settings) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-monitoring-'));
    const running: RunningCli[] = [];
    const exposition = new Map<Role, Map<string, string>>();

    const metricsUrl = (role: Role, p: RunningCli): string => {
      if (role === 'gateway') return `${p.gatewayUrl}/metrics`;
      if (role === 'console') return `http://127.0.0.1:${/"metricsPort":(\d+)[^\n]*"msg":"console listening"/.exec(p.output())![1]}/metrics`;
      return `http://127.0.0.1:${/"port":(\d+)[^\n]*health and metrics listening/.exec(p.output())![1]}/metrics`;
    };

    beforeAll(async () => {
      const { brokers, registryUrl } = settings();
      await ensureTopics(brokers);
      const roles: [Role, Record<string, string>][] = [
        // As deployed: the gateway on Kafka (no consumer group: it only produces).
        ['gateway', { LLM_LOGGER_KAFKA_BROKERS: brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: registryUrl }],
        ['aggregator', {}],
        ['indexer', {}],
        ['roller', {}],
        ['console', { LLM_LOGGER_CONSOLE_METRICS_PORT: '0', LLM_LOGGER_CONSOLE_TOKEN: 'monitoring-test-token-0123456789' }],
      ];
      for (const [role, env] of roles) {
        const p = await startCli({ LLM_LOGGER_DATA_DIR: join(dataDir, role), LLM_LOGGER_METRICS_PORT: '0', ...env }, [role], 30_000);
        running.push(p);
        const res = await fetch(metricsUrl(role, p));
        expect({ role, status: res.status }).toEqual({ role, status: 200 });
        exposition.set(role, families(await res.text()));
      }
    }, 120_000);

    afterAll(async () => {
      for (const p of running) p.child.kill('SIGTERM');
      await Promise.all(running.map((p) => p.exited));
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('every llm_logger_* metric the alert rules and the dashboard name is exported by a role', () => {
      const all = new Map<string, string>();
      for (const f of exposition.values()) for (const [k, v] of f) all.set(k, v);
      const named = new Set([...groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr))), ...dashboardExpressions().flatMap(metricNames)]);
      expect(named.size).toBeGreaterThan(10);
      const missing = [...named].filter((n) => !exported(n, all)).sort();
      expect(missing).toEqual([]);
    });

    test('each role exports what its panels and alerts are about', () => {
      const has = (role: Role, name: string): boolean => exported(name, exposition.get(role)!);
      for (const name of ['llm_logger_gateway_calls_total', 'llm_logger_gateway_events_dropped_total', 'llm_logger_log_spool_bytes', 'llm_logger_log_broker_up']) {
        expect({ name, gateway: has('gateway', name) }).toEqual({ name, gateway: true });
      }
      for (const role of ['aggregator', 'indexer', 'roller', 'console'] as const) {
        for (const name of ['llm_logger_consumer_lag_records', 'llm_logger_consumer_lag_ms', 'llm_logger_consumer_failures_total']) {
          expect({ role, name, exported: has(role, name) }).toEqual({ role, name, exported: true });
        }
      }
      expect(has('indexer', 'llm_logger_indexer_documents_total')).toBe(true);
      expect(has('roller', 'llm_logger_roller_rows_total')).toBe(true);
      expect(has('aggregator', 'llm_logger_aggregator_freshness_ms')).toBe(true);
    });
  });
});
