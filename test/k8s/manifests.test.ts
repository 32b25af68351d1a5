import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { COMMANDS } from '../../services/cli/main';
import { knownVariables, loadConfig } from '../../services/shared/config/config';
import { resolveGatewayAccess } from '../../services/gateway/core/access-policy';
import { serveHealth } from '../../services/shared/http/health';
import { roleUser } from '../../services/shared/log/kafka/strimzi-render';
import { roleGroup, TOPOLOGY, type Role } from '../../topology/topics';
import { CHART_VALUES, describeWithK8sTools, renderChart, runValidate, type K8sObject } from './k8s-render';
import { PENDING_COMMANDS, PENDING_VARIABLES } from './pending';

/**
 * The Helm chart, rendered with its default, dev and prod values, against the
 * code it deploys: commands the CLI has, variables the config accepts (with
 * valid values), probes on paths the roles serve, ports the roles listen on,
 * graceful shutdown, hardening, autoscaling bounded by topology/, the flows of
 * the architecture, Strimzi resources from strimzi/ and topology/.
 */


const ROLES: Role[] = ['gateway', 'aggregator', 'indexer', 'roller', 'console'];
const CONSUMERS_SCALED_BY_LAG: Role[] = ['aggregator', 'indexer', 'roller'];
/** The port each role serves /healthz, /readyz and /metrics on, and the variable that sets it. */
const ROLE_PORT: Record<Role, { variable: string; port: number }> = {
  gateway: { variable: 'LLM_LOGGER_GATEWAY_PORT', port: 8080 },
  console: { variable: 'LLM_LOGGER_CONSOLE_PORT', port: 3000 },
  aggregator: { variable: 'LLM_LOGGER_METRICS_PORT', port: 9464 },
  indexer: { variable: 'LLM_LOGGER_METRICS_PORT', port: 9464 },
  roller: { variable: 'LLM_LOGGER_METRICS_PORT', port: 9464 },
};

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
  topologySpreadConstraints?: unknown[];
  volumes?: { name: string }[];
}

const podSpec = (d: K8sObject): PodSpec => (d.spec as { template: { spec: PodSpec } }).template.spec;
const roleOf = (d: K8sObject): Role | undefined => ROLES.find((r) => d.metadata.labels?.['app.kubernetes.io/component'] === r);

/** The environment a container gets, with Secrets replaced by placeholders and ConfigMaps resolved. */
function containerEnv(c: Container, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of c.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.configMapKeyRef) {
      const ref = v.valueFrom.configMapKeyRef;
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.name);
      if (!cm?.data || !(ref.key in cm.data)) throw new Error(`${v.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      env[v.name] = cm.data[ref.key]!;
    } else if (v.valueFrom?.secretKeyRef) env[v.name] = 'secret-placeholder';
    else if (v.valueFrom?.fieldRef) env[v.name] = 'pod-name';
  }
  return env;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { port: number }[];
}
interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes: ('Ingress' | 'Egress')[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

function matches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator !== 'In') throw new Error(`selector operator ${e.operator} is not evaluated by this test`);
    return e.values!.includes(labels[e.key] ?? '');
  });
  return byLabel && byExpression;
}

function describePeer(peer: PolicyPeer): string {
  if (peer.ipBlock) return `ip:${peer.ipBlock.cidr}`;
  const pod = peer.podSelector
    ? Object.entries(peer.podSelector.matchLabels ?? {})
        .map(([k, v]) => `${k.replace(/^.*\//, '')}=${v}`)
        .sort()
        .concat((peer.podSelector.matchExpressions ?? []).map((e) => `${e.key.replace(/^.*\//, '')} in ${e.values!.join('|')}`))
        .join(',')
    : '';
  const nsLabels = peer.namespaceSelector?.matchLabels ?? {};
  const ns = nsLabels['kubernetes.io/metadata.name'] ?? Object.entries(nsLabels).map(([k, v]) => `{${k}=${v}}`).join(',');
  return [ns ? `ns:${ns}` : '', pod ? `pods:${pod}` : ''].filter(Boolean).join('/');
}

/** The flows NetworkPolicies allow to (Ingress) or from (Egress) pods with these labels, as "peer:port" strings. */
function allowedFlows(objects: K8sObject[], labels: Record<string, string>, direction: 'Ingress' | 'Egress'): string[] | 'unrestricted' {
  const policies = objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((o) => o.spec as unknown as NetworkPolicySpec)
    .filter((p) => matches(p.podSelector, labels) && p.policyTypes.includes(direction));
  if (policies.length === 0) return 'unrestricted';
  const flows = new Set<string>();
  for (const p of policies) {
    for (const rule of (direction === 'Ingress' ? p.ingress : p.egress) ?? []) {
      const peers = (direction === 'Ingress' ? rule.from : rule.to)?.map(describePeer) ?? ['any'];
      const ports = rule.ports?.map((x) => String(x.port)) ?? ['any'];
      for (const peer of peers) for (const port of ports) flows.add(`${peer}:${port}`);
    }
  }
  return [...flows].sort();
}

let healthServer: Server;
let healthUrl: string;
beforeAll(async () => {
  healthServer = createServer((req, res) => {
    if (!serveHealth(req, res, { registry: new Registry(), ready: () => true })) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => healthServer.listen(0, '127.0.0.1', resolve));
  healthUrl = `http://127.0.0.1:${(healthServer.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => healthServer.close(() => resolve())));

test('the pending lists only hold what this branch does not have yet', () => {
  const known = new Set(knownVariables());
  for (const v of PENDING_VARIABLES) expect({ v, known: known.has(v) }).toEqual({ v, known: false });
  for (const c of PENDING_COMMANDS) expect(COMMANDS[c]?.comingWith).toBeDefined();
});

describeWithK8sTools('Kubernetes manifests (the Helm chart, rendered with helm template)', () => {
  test('helm lint passes; the chart with each values file, and strimzi/, validate against the stored schemas', () => {
    const { status, stdout, stderr } = runValidate([]);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/^helm lint: 1 chart\(s\) linted, 0 chart\(s\) failed$/m);
    const names = [...CHART_VALUES.map((v) => `infra/helm/llm-logger \\(${v}\\)`), 'strimzi'];
    for (const name of names) expect(stdout).toMatch(new RegExp(`^${name}: Summary: \\d+ resources found .* Invalid: 0, Errors: 0, Skipped: 0$`, 'm'));
  });

  describe.each(CHART_VALUES)('values %s', (values) => {
    let objects: K8sObject[];
    let configFile: string;
    beforeAll(() => {
      objects = renderChart(values);
      // The config file the roles mount (LLM_LOGGER_CONFIG), as the chart's ConfigMap holds it.
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'llm-logger-config')!;
      configFile = join(mkdtempSync(join(tmpdir(), 'llm-logger-chart-')), 'config.yaml');
      writeFileSync(configFile, cm.data!['config.yaml']!);
    });
    const overlay = values;
    /** Each role's workload: StatefulSets (the gateway's: a spool volume per pod; the consumers': a stable pod name, their static membership). */
    const deployments = (): K8sObject[] => objects.filter((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && roleOf(o));
    const workload = (role: Role): K8sObject => deployments().find((d) => roleOf(d) === role)!;
    const ofKind = (kind: string, name: string): K8sObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);

    test('one workload per role, running a command the CLI has', () => {
      expect(deployments().map(roleOf).sort()).toEqual([...ROLES].sort());
      for (const d of deployments()) {
        const [c] = podSpec(d).containers;
        expect(c!.command).toBeUndefined(); // the image's entrypoint is the llm-logger CLI
        const command = c!.args?.[0] ?? '';
        expect(COMMANDS[command]).toBeDefined();
        expect(command).toBe(roleOf(d));
        if (!PENDING_COMMANDS.includes(command)) expect(COMMANDS[command]!.run).toBeDefined();
      }
    });

    test('every LLM_LOGGER_* variable is one the config accepts, with a value it accepts', () => {
      const pending = new Set(PENDING_VARIABLES);
      for (const d of deployments()) {
        const env = containerEnv(podSpec(d).containers[0]!, objects);
        // The file itself is the ConfigMap's content, checked against the config file schema.
        env.LLM_LOGGER_CONFIG = configFile;
        const accepted = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('LLM_LOGGER_') && !pending.has(k)));
        expect(() => loadConfig(accepted)).not.toThrow();
      }
    });

    test('the gateway starts as the values promise: default and prod require gateway keys from the mounted Secret and ingest tokens; dev opts out explicitly', () => {
      const d = deployments().find((x) => roleOf(x) === 'gateway')!;
      const spec = podSpec(d);
      const c = spec.containers[0]!;
      const env = { ...containerEnv(c, objects), LLM_LOGGER_CONFIG: configFile };
      // What the gateway decides at start-up (and refuses to start on, naming the setting).
      const access = resolveGatewayAccess(loadConfig(env).gateway);
      // The default values publish the gateway through an Ingress, prod through HTTPRoutes: both require keys.
      if (values !== 'dev') {
        expect(access.clients).toEqual({ mode: 'keys', file: '/etc/llm-logger/gateway-keys/keys.yaml' });
        expect(access.ingest).toEqual({ mode: 'tokens' });
        expect(access.injecting).toEqual(['anthropic', 'openai']);
        const mount = c.volumeMounts!.find((m) => '/etc/llm-logger/gateway-keys/keys.yaml'.startsWith(`${m.mountPath}/`))!;
        const volume = (spec.volumes as { name: string; secret?: { secretName: string } }[]).find((v) => v.name === mount.name);
        expect(volume?.secret?.secretName).toBe('llm-logger-gateway-keys');
      } else {
        expect(access).toEqual({ clients: { mode: 'open', reason: 'opted-out' }, ingest: { mode: 'open', reason: 'opted-out' }, injecting: [] });
      }
    });

    test('probes point at /healthz and /readyz on the port the role listens on, and those paths are served', async () => {
      for (const d of deployments()) {
        const role = roleOf(d)!;
        const c = podSpec(d).containers[0]!;
        const env = containerEnv(c, objects);
        const { variable, port } = ROLE_PORT[role];
        expect({ role, port: env[variable] }).toEqual({ role, port: String(port) });
        const probes = { startup: c.startupProbe, liveness: c.livenessProbe, readiness: c.readinessProbe };
        expect(probes.liveness?.httpGet?.path).toBe('/healthz');
        expect(probes.readiness?.httpGet?.path).toBe('/readyz');
        for (const probe of Object.values(probes)) {
          const named = c.ports?.find((p) => p.name === probe?.httpGet?.port);
          expect({ role, port: named?.containerPort ?? probe?.httpGet?.port }).toEqual({ role, port });
          const res = await fetch(`${healthUrl}${probe!.httpGet!.path}`);
          expect(res.status).toBe(200);
        }
        // The bind address must let the kubelet in.
        const host = { gateway: 'LLM_LOGGER_GATEWAY_HOST', console: 'LLM_LOGGER_CONSOLE_HOST' }[role as string] ?? 'LLM_LOGGER_METRICS_HOST';
        expect(env[host]).toBe('0.0.0.0');
      }
    });

    test('the console serves /metrics to Prometheus on its metrics port: set, bound beyond loopback, named on the pod and the Service', () => {
      const d = workload('console');
      const c = podSpec(d).containers[0]!;
      const env = containerEnv(c, objects);
      const port = Number(env.LLM_LOGGER_CONSOLE_METRICS_PORT);
      const variables = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('LLM_LOGGER_') && k !== 'LLM_LOGGER_CONFIG' && !PENDING_VARIABLES.includes(k)));
      expect(loadConfig(variables).console.access.metricsPort).toBe(port);
      expect(env.LLM_LOGGER_METRICS_HOST).toBe('0.0.0.0');
      expect(c.ports?.find((p) => p.name === 'metrics')?.containerPort).toBe(port);
      const service = ofKind('Service', 'llm-logger-console')!.spec as { ports: { name: string; port: number; targetPort: string }[] };
      expect(service.ports.find((p) => p.name === 'metrics')).toEqual({ name: 'metrics', port, targetPort: 'metrics' });
    });

    test('graceful termination outlasts the shutdown grace plus the preStop pause', () => {
      for (const d of deployments()) {
        const spec = podSpec(d);
        const c = spec.containers[0]!;
        const graceMs = Number(containerEnv(c, objects).LLM_LOGGER_SHUTDOWN_GRACE_MS ?? 30_000);
        const preStopMs = (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
        expect(spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(graceMs + preStopMs + 5_000);
      }
    });

    test('non-root, read-only root filesystem, no capabilities, requests and limits, writable paths on volumes', () => {
      for (const d of deployments()) {
        const spec = podSpec(d);
        const c = spec.containers[0]!;
        expect(spec.securityContext?.runAsNonRoot).toBe(true);
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
        const mounts = (c.volumeMounts ?? []).map((m) => m.mountPath);
        expect(mounts).toEqual(expect.arrayContaining([containerEnv(c, objects).LLM_LOGGER_DATA_DIR, '/tmp']));
        const claims = ((d.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? []).map((t) => t.metadata.name);
        for (const m of c.volumeMounts ?? []) expect([...(spec.volumes ?? []).map((v) => v.name), ...claims]).toContain(m.name);
      }
    });

    test('Kafka credentials are the role\'s Strimzi user; no Secret is committed', () => {
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      for (const d of deployments()) {
        const role = roleOf(d)!;
        const env = podSpec(d).containers[0]!.env ?? [];
        expect(env.find((e) => e.name === 'LLM_LOGGER_KAFKA_SASL_USERNAME')?.value).toBe(roleUser(role));
        expect(env.find((e) => e.name === 'LLM_LOGGER_KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: roleUser(role), key: 'password' });
        expect(ofKind('KafkaUser', roleUser(role))).toBeDefined();
      }
    });

    test('each role has a PodDisruptionBudget; the gateway an HPA on CPU', () => {
      for (const d of deployments()) {
        const pdb = ofKind('PodDisruptionBudget', d.metadata.name);
        expect((pdb?.spec as { selector: unknown }).selector).toEqual((d.spec as { selector: unknown }).selector);
      }
      const hpa = ofKind('HorizontalPodAutoscaler', 'llm-logger-gateway')!.spec as { metrics: { resource: { name: string } }[]; minReplicas: number; maxReplicas: number };
      expect(hpa.metrics.map((m) => m.resource.name)).toEqual(['cpu']);
      expect(hpa.minReplicas).toBeLessThanOrEqual(hpa.maxReplicas);
      // Autoscaled workloads leave replicas to their autoscaler, so a re-apply does not reset them.
      for (const name of ['gateway', ...CONSUMERS_SCALED_BY_LAG]) expect((workload(name as Role).spec as { replicas?: number }).replicas).toBeUndefined();
      const target = (hpa as unknown as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      expect(target).toMatchObject({ kind: workload('gateway').kind, name: 'llm-logger-gateway' });
    });

    test('the gateway\'s disk spool is on a volume of its own per pod that outlives the pod, and fits in it', () => {
      const d = workload('gateway');
      expect(d.kind).toBe('StatefulSet');
      const spec = d.spec as {
        volumeClaimTemplates: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[];
        persistentVolumeClaimRetentionPolicy: { whenDeleted: string; whenScaled: string };
      };
      // Deleted or scaled in, the pod's claim stays; the pod that comes back with that ordinal replays the spool.
      expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      expect((podSpec(d).volumes ?? []).map((v) => v.name)).not.toContain('data');
      const claim = spec.volumeClaimTemplates.find((t) => t.metadata.name === 'data')!;
      const spoolBytes = Number(containerEnv(podSpec(d).containers[0]!, objects).LLM_LOGGER_SPOOL_MAX_BYTES);
      const [, amount, unit] = /^(\d+)(Mi|Gi)$/.exec(claim.spec.resources.requests.storage)!;
      const limitBytes = Number(amount) * (unit === 'Gi' ? 1024 ** 3 : 1024 ** 2);
      expect(spoolBytes).toBeGreaterThan(0);
      expect(spoolBytes).toBeLessThanOrEqual(limitBytes * 0.8); // room for SQLite's WAL and the rest of the data dir
    });

    test('consumer roles scale on their group\'s lag, never past the partitions of the topic they read', () => {
      for (const role of CONSUMERS_SCALED_BY_LAG) {
        const so = ofKind('ScaledObject', `llm-logger-${role}`)!.spec as {
          scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
          maxReplicaCount: number;
          minReplicaCount: number;
          triggers: { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[];
        };
        // KEDA scales the StatefulSet (without kind it would look for a Deployment).
        expect(so.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: `llm-logger-${role}` });
        for (const t of so.triggers) {
          expect(t.type).toBe('kafka');
          expect(t.metadata.consumerGroup).toBe(roleGroup(role));
          const topic = TOPOLOGY.find((s) => s.name === t.metadata.topic);
          expect(topic?.consumers).toContain(role);
          expect(so.maxReplicaCount).toBeLessThanOrEqual(topic!.partitions);
          expect(ofKind('TriggerAuthentication', t.authenticationRef.name)).toBeDefined();
        }
        expect(so.minReplicaCount).toBeGreaterThanOrEqual(1);
      }
      // The console keeps a per-process view: it must not be split by its consumer group.
      expect(ofKind('ScaledObject', 'llm-logger-console')).toBeUndefined();
      expect((workload('console').spec as { replicas: number }).replicas).toBe(1);
    });

    test('each consumer pod has a stable id: a StatefulSet\'s pod name as LLM_LOGGER_INSTANCE, so static membership under it', () => {
      const scaled = new Map<string, number>(
        objects.filter((o) => o.kind === 'ScaledObject').map((o) => [(o.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name, (o.spec as { maxReplicaCount: number }).maxReplicaCount]),
      );
      for (const role of ['aggregator', 'indexer', 'roller', 'console'] as Role[]) {
        const d = workload(role);
        expect({ role, kind: d.kind }).toEqual({ role, kind: 'StatefulSet' });
        const c = podSpec(d).containers[0]!;
        expect(c.env?.find((e) => e.name === 'LLM_LOGGER_INSTANCE')?.valueFrom?.fieldRef).toEqual({ fieldPath: 'metadata.name' });
        // KEDA scales up several pods at once and down from the highest ordinal: no pod waits for another.
        const max = scaled.get(d.metadata.name);
        if (max !== undefined) expect({ role, policy: (d.spec as { podManagementPolicy?: string }).podManagementPolicy }).toEqual({ role, policy: 'Parallel' });
        // Every pod name the StatefulSet can have (ordinals below KEDA's maximum) is a group instance id Kafka accepts.
        for (const ordinal of [0, (max ?? 1) - 1]) {
          const env: Record<string, string> = {
            ...containerEnv(c, objects),
            LLM_LOGGER_INSTANCE: `${d.metadata.name}-${ordinal}`,
            LLM_LOGGER_CONFIG: configFile,
          };
          const kafka = loadConfig(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('LLM_LOGGER_')))).log.kafka;
          expect(kafka.groupInstanceId).toBe(`${d.metadata.name}-${ordinal}`);
          // The session outlasts a container restart (and its 10 s back-off); a pod really gone hands its partitions over within a minute.
          expect(kafka.sessionTimeoutMs).toBeGreaterThanOrEqual(15_000);
          expect(kafka.sessionTimeoutMs).toBeLessThanOrEqual(60_000);
        }
      }
    });

    test('NetworkPolicies allow only the flows of the architecture', () => {
      const prod = overlay === 'prod';
      const kafka = 'pods:broker-role=true,cluster=llm-logger:9093';
      const registry = 'pods:name=llm-logger-schema-registry:8080';
      const common = ['ns:kube-system/pods:k8s-app=kube-dns:53', kafka, registry];
      const elasticsearch = prod ? ['pods:cluster-name=llm-logger:9200'] : [];
      const expected: Record<string, { ingress: string[]; egress: string[] }> = {
        gateway: { ingress: ['any:8080'], egress: ['any:443', ...common] },
        aggregator: { ingress: ['ns:monitoring:9464'], egress: common },
        indexer: { ingress: ['ns:monitoring:9464'], egress: [...common, ...elasticsearch] },
        roller: { ingress: ['ns:monitoring:9464'], egress: ['any:443', ...common] },
        // Prometheus scrapes the console's metrics port: its /metrics on 3000 needs a console identity.
        // Whatever carries people to the dashboard: namespaces chosen by a label, no controller's namespace name.
        console: { ingress: ['ns:{llm-logger.io/console-access=true}:3000', 'ns:monitoring:9464'], egress: ['any:443', ...common, ...elasticsearch] },
      };
      for (const d of deployments()) {
        const labels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
        const role = roleOf(d)!;
        const actual = { role, ingress: allowedFlows(objects, labels, 'Ingress'), egress: allowedFlows(objects, labels, 'Egress') };
        expect(actual).toEqual({ role, ingress: [...expected[role]!.ingress].sort(), egress: [...expected[role]!.egress].sort() });
      }
      const registryLabels = { 'app.kubernetes.io/name': 'llm-logger-schema-registry', 'app.kubernetes.io/part-of': 'llm-logger' };
      expect(allowedFlows(objects, registryLabels, 'Ingress')).toEqual(['ns:monitoring:9000', 'pods:component in gateway|aggregator|indexer|roller|console:8080']);
      // Its journal is on the Kafka cluster (kafkasql storage).
      expect(allowedFlows(objects, registryLabels, 'Egress')).toEqual(['ns:kube-system/pods:k8s-app=kube-dns:53', 'pods:broker-role=true,cluster=llm-logger:9093']);
    });

    test('KafkaTopics are the generated ones (plus the registry\'s journal), KafkaUsers one per role and the registry', () => {
      const topics = objects.filter((o) => o.kind === 'KafkaTopic').map((o) => o.metadata.name);
      expect(topics.sort()).toEqual([...TOPOLOGY.map((t) => t.name), 'kafkasql-journal', 'kafkasql-snapshots'].sort());
      const users = objects.filter((o) => o.kind === 'KafkaUser').map((o) => o.metadata.name);
      expect(users.sort()).toEqual([...ROLES.map(roleUser), 'llm-logger-schema-registry'].sort());
      // helm template leaves namespaces to the release: nothing in the chart names one.
      expect(objects.filter((o) => o.metadata.namespace !== undefined)).toEqual([]);
    });
  });
});
