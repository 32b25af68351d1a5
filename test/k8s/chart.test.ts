import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Role } from '../../topology/topics';
import { REPO_ROOT } from '../support/processes';
import { describeWithK8sTools, renderChart, renderChartRaw, type K8sObject } from './k8s-render';

/**
 * What would break on a real cluster, checked on the chart's rendered output
 * (issue 23; no cluster runs here): Kafka that schedules on one unlabelled
 * node in dev, a registry that survives losing a pod, a published gateway
 * that requires gateway keys, a drain as long as the longest call, one
 * ServiceAccount per role, Gateway API routes, a console NetworkPolicy tied
 * to no controller's namespace.
 */

const ROLES: Role[] = ['gateway', 'aggregator', 'indexer', 'roller', 'console'];

interface Container {
  name: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
}
interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string }; persistentVolumeClaim?: unknown }[];
  topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string }[];
}

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the rendered chart`);
  return o;
};
const podSpec = (o: K8sObject): PodSpec => (o.spec as { template: { spec: PodSpec } }).template.spec;
const envOf = (c: Container): Record<string, string> =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom?.secretKeyRef ? `secret:${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}` : 'ref')]));
const workload = (objects: K8sObject[], role: Role): K8sObject =>
  objects.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === `llm-logger-${role}`)!;

describeWithK8sTools('The chart on a real cluster (rendered, never applied)', () => {
  let dev: K8sObject[];
  let prod: K8sObject[];
  let byValues: Record<'default' | 'dev' | 'prod', K8sObject[]>;
  beforeAll(() => {
    dev = renderChart('dev');
    prod = renderChart('prod');
    byValues = { default: renderChart('default'), dev, prod };
  });

  test('dev: one Kafka controller and broker schedule on one node without a zone label (no zone spread, no rack awareness)', () => {
    const kafka = find(dev, 'Kafka', 'llm-logger').spec as { kafka: { rack?: unknown; config: Record<string, unknown> } };
    expect(kafka.kafka.rack).toBeUndefined();
    expect(kafka.kafka.config['replica.selector.class']).toBeUndefined();
    expect(kafka.kafka.config['default.replication.factor']).toBe(1);
    for (const pool of dev.filter((o) => o.kind === 'KafkaNodePool')) {
      const spec = pool.spec as { replicas: number; template?: { pod?: { topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string }[] } } };
      expect(spec.replicas).toBe(1);
      // A hard constraint on a label no node has keeps the pod Pending for good.
      for (const c of spec.template?.pod?.topologySpreadConstraints ?? []) expect(c.topologyKey).not.toBe('topology.kubernetes.io/zone');
    }
    for (const t of dev.filter((o) => o.kind === 'KafkaTopic')) expect({ t: t.metadata.name, r: (t.spec as { replicas: number }).replicas }).toEqual({ t: t.metadata.name, r: 1 });
    // prod keeps the zone spread and rack awareness.
    const prodKafka = find(prod, 'Kafka', 'llm-logger').spec as { kafka: { rack?: { topologyKey: string } } };
    expect(prodKafka.kafka.rack?.topologyKey).toBe('topology.kubernetes.io/zone');
    const brokers = find(prod, 'KafkaNodePool', 'broker').spec as { template: { pod: { topologySpreadConstraints: { topologyKey: string; whenUnsatisfiable: string }[] } } };
    expect(brokers.template.pod.topologySpreadConstraints).toContainEqual(expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }));
  });

  test.each(['default', 'prod'] as const)('%s: the schema registry keeps its schemas in Kafka (kafkasql), two replicas, a PDB, no volume to lose', (values) => {
    const objects = byValues[values];
    const d = find(objects, 'Deployment', 'llm-logger-schema-registry');
    expect((d.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    const spec = podSpec(d);
    const env = envOf(spec.containers[0]!);
    expect(env).toMatchObject({ APICURIO_STORAGE_KIND: 'kafkasql', APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: 'llm-logger-kafka-bootstrap:9093', APICURIO_KAFKASQL_SECURITY_PROTOCOL: 'SASL_SSL' });
    expect(env.KAFKA_PASSWORD).toBe('secret:llm-logger-schema-registry/password');
    expect(spec.volumes!.filter((v) => v.persistentVolumeClaim)).toEqual([]);
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    // The Kafka client settings file: SCRAM as the registry's KafkaUser, the cluster CA, no password in it.
    const props = find(objects, 'ConfigMap', 'llm-logger-schema-registry').data!['kafkasql.properties']!;
    expect(env.QUARKUS_CONFIG_LOCATIONS).toBe('/etc/registry/kafkasql.properties');
    expect(props).toContain('username="llm-logger-schema-registry" password="${KAFKA_PASSWORD}"');
    expect(props).toContain('apicurio.kafka.common.ssl.truststore.location=/etc/kafka-ca/ca.crt');
    expect(find(objects, 'PodDisruptionBudget', 'llm-logger-schema-registry').spec).toMatchObject({ minAvailable: 1 });
    const journal = find(objects, 'KafkaTopic', 'kafkasql-journal').spec as { replicas: number; config: Record<string, unknown> };
    expect(journal).toMatchObject({ replicas: 3, config: { 'cleanup.policy': 'compact', 'min.insync.replicas': 2 } });
  });

  test('prod: the published gateway requires gateway keys (mounted from the Secret) and ingest tokens, and injects provider keys', () => {
    const spec = podSpec(workload(prod, 'gateway'));
    const c = spec.containers[0]!;
    const env = envOf(c);
    expect(env).toMatchObject({
      LLM_LOGGER_GATEWAY_AUTH: 'keys',
      LLM_LOGGER_GATEWAY_KEYS_FILE: '/etc/llm-logger/gateway-keys/keys.yaml',
      LLM_LOGGER_INGEST_AUTH: 'tokens',
      LLM_LOGGER_INGEST_TOKENS: 'secret:llm-logger-ingest-tokens/tokens',
      LLM_LOGGER_UPSTREAM_OPENAI_API_KEY: 'secret:llm-logger-provider-keys/openai-api-key',
    });
    const mount = c.volumeMounts!.find((m) => m.mountPath === '/etc/llm-logger/gateway-keys')!;
    expect(spec.volumes!.find((v) => v.name === mount.name)?.secret?.secretName).toBe('llm-logger-gateway-keys');
    // dev (port-forward only) opts out explicitly, and then injects no provider key.
    const devEnv = envOf(podSpec(workload(dev, 'gateway')).containers[0]!);
    expect(devEnv).toMatchObject({ LLM_LOGGER_GATEWAY_AUTH: 'none', LLM_LOGGER_INGEST_AUTH: 'none' });
    expect(Object.keys(devEnv).filter((k) => k.startsWith('LLM_LOGGER_UPSTREAM_'))).toEqual([]);
  });

  test('an open gateway behind an Ingress or HTTPRoute is refused at render time, naming the values', () => {
    for (const flags of [['--set', 'ingress.enabled=true'], ['--set', 'httpRoute.enabled=true', '--set', 'httpRoute.parentRefs[0].name=gw']]) {
      const { status, stderr } = renderChartRaw('dev', ...flags);
      expect(status).not.toBe(0);
      expect(stderr).toContain('gateway.auth.mode or gateway.ingest.mode is "none" while the gateway is published');
    }
    expect(renderChartRaw('dev', '--set', 'ingress.enabled=true', '--set', 'gateway.auth.allowOpenRelay=true').status).toBe(0);
    expect(renderChartRaw('prod', '--set', 'gateway.auth.mode=open').stderr).toContain('gateway.auth.mode must be "keys" or "none", not "open"');
  });

  test.each(['default', 'prod'] as const)('%s: a rollout drains the longest call the Ingress or HTTPRoute lets through', (values) => {
    const objects = byValues[values];
    const spec = podSpec(workload(objects, 'gateway'));
    const c = spec.containers[0]!;
    const graceS = Number(envOf(c).LLM_LOGGER_SHUTDOWN_GRACE_MS) / 1000;
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(graceS + (c.lifecycle?.preStop?.sleep?.seconds ?? 0));
    const limits: number[] = [];
    for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
      const a = ing.metadata.annotations ?? {};
      limits.push(Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout']), Number(a['nginx.ingress.kubernetes.io/proxy-send-timeout']));
    }
    for (const r of objects.filter((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'llm-logger-gateway')) {
      for (const rule of (r.spec as { rules: { timeouts: { request: string; backendRequest: string } }[] }).rules) {
        limits.push(parseInt(rule.timeouts.request, 10), parseInt(rule.timeouts.backendRequest, 10));
      }
    }
    expect(limits.length).toBeGreaterThan(0);
    for (const l of limits) expect(l).toBeLessThanOrEqual(graceS);
  });

  test.each(['default', 'dev', 'prod'] as const)('%s: one ServiceAccount per role, no token mounted', (values) => {
    const objects = byValues[values];
    for (const role of ROLES) {
      const spec = podSpec(workload(objects, role)) as PodSpec & { automountServiceAccountToken?: boolean };
      expect(spec.serviceAccountName).toBe(`llm-logger-${role}`);
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(find(objects, 'ServiceAccount', `llm-logger-${role}`)).toMatchObject({ automountServiceAccountToken: false });
    }
    const names = objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test('prod: Gateway API HTTPRoutes to the gateway and console (beside or instead of the Ingress); default keeps the Ingress', () => {
    const routes = prod.filter((o) => o.kind === 'HTTPRoute');
    expect(routes.map((r) => r.metadata.name).sort()).toEqual(['llm-logger-console', 'llm-logger-gateway']);
    for (const r of routes) {
      const spec = r.spec as { parentRefs: unknown[]; rules: { backendRefs: { name: string; port: number }[] }[] };
      expect(spec.parentRefs.length).toBeGreaterThan(0);
      const backend = spec.rules[0]!.backendRefs[0]!;
      const service = find(prod, 'Service', backend.name).spec as { ports: { port: number }[] };
      expect(service.ports.map((p) => p.port)).toContain(backend.port);
    }
    expect(byValues.default.filter((o) => o.kind === 'Ingress')).toHaveLength(1);
  });

  test('the console NetworkPolicy admits namespaces by a label, not one ingress controller\'s namespace name', () => {
    for (const objects of Object.values(byValues)) {
      const np = find(objects, 'NetworkPolicy', 'llm-logger-console').spec as { ingress: { from: { namespaceSelector?: { matchLabels?: Record<string, string> } }[]; ports: { port: number }[] }[] };
      const toConsole = np.ingress.find((r) => r.ports.some((p) => p.port === 3000))!;
      const labels = toConsole.from[0]!.namespaceSelector!.matchLabels!;
      expect(labels).toEqual({ 'llm-logger.io/console-access': 'true' });
      expect(JSON.stringify(np)).not.toContain('ingress-nginx');
    }
  });

  test('the saved-objects import Job carries the file of the chosen dashboards flavour and speaks its API; an unknown flavour is refused', () => {
    const ndjson = (text: string): unknown[] => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
    const url = ['--set', 'search.kibana.url=https://dashboards.example:5601'];
    const cases: [string | undefined, string, string][] = [
      [undefined, 'llm-audit-8.ndjson', 'kibana'],
      ['kibana-8', 'llm-audit-8.ndjson', 'kibana'],
      ['kibana', 'llm-audit-8.ndjson', 'kibana'],
      ['kibana-7', 'llm-audit.ndjson', 'kibana'],
      ['opensearch-dashboards', 'llm-audit-opensearch.ndjson', 'opensearch-dashboards'],
    ];
    for (const [flavor, file, api] of cases) {
      const objects = renderChart('default', ...url, ...(flavor ? ['--set', `search.kibana.flavor=${flavor}`] : []));
      const data = find(objects, 'ConfigMap', 'llm-logger-saved-objects').data!;
      expect({ flavor, objects: ndjson(data['saved-objects.ndjson']!) }).toEqual({ flavor, objects: ndjson(readFileSync(join(REPO_ROOT, 'infra', 'kibana', file), 'utf8')) });
      const env = envOf(podSpec(find(objects, 'Job', 'llm-logger-saved-objects-import')).containers[0]!);
      expect({ flavor, api: env.DASHBOARDS_FLAVOR, url: env.DASHBOARDS_URL }).toEqual({ flavor, api, url: 'https://dashboards.example:5601' });
    }
    const bad = renderChartRaw('default', ...url, '--set', 'search.kibana.flavor=grafana');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('search.kibana.flavor must be kibana-7, kibana-8 or opensearch-dashboards, not "grafana"');
  });
});
