import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { readerGroupPrefix, roleGroup, TOPICS, TOPOLOGY, type Role } from '../../../../topology/topics';
import { CONSOLE_GROUP } from '../../../console/run-console';
import { AGGREGATOR_GROUP } from '../../../aggregator/aggregate-processor';
import {
  AGGREGATOR_TRANSACTIONAL_ID_PREFIX,
  renderKafkaTopics,
  renderKafkaUsers,
  renderStrimziFiles,
  renderStrimziYaml,
  type AclRule,
  type KafkaUserResource,
  type RenderedTopic,
} from './strimzi-render';

/**
 * The Strimzi CRDs live in shared/ beside the repository (CI puts a copy
 * there too): <repo>/../shared/crds/strimzi-1.2.0. A clone without it (e.g.
 * in a temporary directory) uses the copies of their v1 schemas that
 * infra/k8s/schemas/ keeps for kubeconform (generated from the same files,
 * see infra/k8s/schemas/sources.json).
 */
const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');
const CRD_DIR = join(REPO_ROOT, '..', 'shared', 'crds', 'strimzi-1.2.0');
const SCHEMA_COPY_DIR = join(REPO_ROOT, 'infra', 'k8s', 'schemas', 'crds', 'kafka.strimzi.io');

interface OpenApiSchema {
  type?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  additionalProperties?: OpenApiSchema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [keyword: string]: unknown;
}

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: OpenApiSchema } }[];
  };
}

function loadCrd(file: string, kind: string): Crd {
  const path = join(CRD_DIR, file);
  if (existsSync(path)) return parseYaml(readFileSync(path, 'utf8')) as Crd;
  const copy = join(SCHEMA_COPY_DIR, `${kind.toLowerCase()}_v1.json`);
  if (!existsSync(copy)) throw new Error(`Strimzi CRD not found at ${path}, nor its schema at ${copy}`);
  const schema = JSON.parse(readFileSync(copy, 'utf8')) as OpenApiSchema;
  return { spec: { group: 'kafka.strimzi.io', names: { kind }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }] } };
}

/** Keywords this check evaluates; a schema node using any other one fails the test rather than passing unchecked. */
const EVALUATED = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'minimum',
  'maximum',
  'additionalProperties',
  'x-kubernetes-preserve-unknown-fields',
  'description',
  // CEL rules: only on KafkaUser authentication, about validityDays/renewalDays of type tls, which are never rendered.
  'x-kubernetes-validations',
]);

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/**
 * A focused structural validation against a CRD's openAPIV3Schema, stricter
 * than plain JSON Schema in one way that matters: a field the schema does
 * not declare is an error (the API server would prune it silently, as with
 * a misspelt `partiton:`), unless the node preserves unknown fields.
 * `metadata` is only `type: object` in CRDs; the API server checks it, and
 * the name rule is checked separately below.
 */
function validate(value: unknown, schema: OpenApiSchema, path: string, errors: string[]): void {
  for (const keyword of Object.keys(schema)) {
    if (!EVALUATED.has(keyword)) errors.push(`${path}: schema keyword "${keyword}" is not evaluated by this check`);
  }
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const ok = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!ok) {
      errors.push(`${path}: expected ${schema.type}, got ${actual}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: ${value} < minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: ${value} > maximum ${schema.maximum}`);
  }
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) => validate(item, schema.items!, `${path}[${i}]`, errors));
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) errors.push(`${path}: required field "${key}" is missing`);
    for (const [key, child] of Object.entries(obj)) {
      const childSchema = schema.properties?.[key];
      if (childSchema) validate(child, childSchema, `${path}.${key}`, errors);
      else if (typeof schema.additionalProperties === 'object') validate(child, schema.additionalProperties, `${path}.${key}`, errors);
      else if (schema.properties && !schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) {
        errors.push(`${path}: unknown field "${key}"`);
      }
    }
  }
}

function validateAgainstCrd(doc: { apiVersion: string; kind: string }, crd: Crd): string[] {
  const errors: string[] = [];
  const version = crd.spec.versions.find((v) => `${crd.spec.group}/${v.name}` === doc.apiVersion);
  if (!version) return [`apiVersion ${doc.apiVersion} is not a version of ${crd.spec.names.kind}`];
  if (!version.served || !version.storage) errors.push(`${doc.apiVersion} is not the served storage version`);
  if (doc.kind !== crd.spec.names.kind) errors.push(`kind ${doc.kind} is not ${crd.spec.names.kind}`);
  validate(doc, version.schema.openAPIV3Schema, '', errors);
  return errors;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function aclFor(user: KafkaUserResource, type: string, name?: string): AclRule | undefined {
  return user.spec.authorization.acls.find(
    (a) => a.resource.type === type && (name === undefined || ('name' in a.resource && a.resource.name === name)),
  );
}

describe('rendered resources validate against the Strimzi 1.2.0 CRDs', () => {
  const topicCrd = loadCrd('043-Crd-kafkatopic.yaml', 'KafkaTopic');
  const userCrd = loadCrd('044-Crd-kafkauser.yaml', 'KafkaUser');

  test('every document of the rendered stream is a valid KafkaTopic or KafkaUser', () => {
    const docs = parseAllDocuments(renderStrimziYaml(TOPOLOGY)).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } });
    expect(docs).toHaveLength(TOPOLOGY.length + 5);
    for (const doc of docs) {
      const crd = doc.kind === 'KafkaTopic' ? topicCrd : userCrd;
      expect({ name: doc.metadata.name, errors: validateAgainstCrd(doc, crd) }).toEqual({ name: doc.metadata.name, errors: [] });
      expect(doc.metadata.name).toMatch(DNS_SUBDOMAIN);
    }
  });

  test('the check itself catches what the API server would prune or refuse', () => {
    const [topic] = renderKafkaTopics(TOPOLOGY);
    const misspelt = { ...topic!, spec: { ...topic!.spec, partiton: 3 } };
    expect(validateAgainstCrd(misspelt, topicCrd)).toEqual(['.spec: unknown field "partiton"']);
    const noPartitions = { ...topic!, spec: { ...topic!.spec, partitions: 0 } };
    expect(validateAgainstCrd(noPartitions, topicCrd)).toEqual(['.spec.partitions: 0 < minimum 1']);
    const [user] = renderKafkaUsers(TOPOLOGY);
    const badOp = JSON.parse(JSON.stringify(user)) as KafkaUserResource;
    (badOp.spec.authorization.acls[0]!.operations as string[]) = ['Produce'];
    expect(validateAgainstCrd(badOp, userCrd)).toHaveLength(1);
    expect(validateAgainstCrd({ ...user!, apiVersion: 'kafka.strimzi.io/v1beta2' }, userCrd)[0]).toContain('not a version');
  });
});

describe('KafkaTopic', () => {
  test('one per topic, with partitions, replicas and configs from topology/', () => {
    const topics = renderKafkaTopics(TOPOLOGY);
    expect(topics.map((t) => t.metadata.name)).toEqual(TOPOLOGY.map((t) => t.name));
    const inference = topics.find((t) => t.metadata.name === TOPICS.inference)!;
    expect(inference.metadata.labels).toEqual({ 'strimzi.io/cluster': 'llm-logger' });
    expect(inference.spec).toEqual({
      partitions: 12,
      replicas: 3,
      config: { 'cleanup.policy': 'delete', 'retention.ms': 604_800_000, 'min.insync.replicas': 2, 'compression.type': 'producer' },
    });
    expect(topics.find((t) => t.metadata.name === TOPICS.aggregates)!.spec.config).toMatchObject({ 'cleanup.policy': 'compact,delete', 'retention.ms': 35 * 86_400_000 });
  });

  test('the cluster name and the replication factor can be chosen', () => {
    const [t] = renderKafkaTopics(TOPOLOGY, { clusterName: 'prod', replicationFactor: 1 });
    expect(t!.metadata.labels['strimzi.io/cluster']).toBe('prod');
    expect(t!.spec).toMatchObject({ replicas: 1, config: { 'min.insync.replicas': 1 } });
  });

  test('a topic name that is not a Kubernetes name goes into spec.topicName', () => {
    const [t] = renderKafkaTopics([{ ...TOPOLOGY[0]!, name: 'Weird_Topic' }]);
    expect(t!.metadata.name).toBe('weird-topic');
    expect(t!.spec.topicName).toBe('Weird_Topic');
  });
});

describe('KafkaUser ACLs: least privilege per role', () => {
  const users = new Map(renderKafkaUsers(TOPOLOGY).map((u) => [u.metadata.name, u]));
  const user = (role: Role): KafkaUserResource => users.get(`llm-logger-${role}`)!;
  const ops = (role: Role, type: string, name?: string): string[] | undefined => aclFor(user(role), type, name)?.operations;

  test('one SCRAM-SHA-512 user per role', () => {
    expect([...users.keys()]).toEqual(['aggregator', 'console', 'gateway', 'indexer', 'roller'].map((r) => `llm-logger-${r}`));
    for (const u of users.values()) expect(u.spec.authentication).toEqual({ type: 'scram-sha-512' });
  });

  test('producers write and describe their topics only; the gateway reads nothing and has no group', () => {
    expect(ops('gateway', 'topic', TOPICS.inference)).toEqual(['Write', 'Describe']);
    expect(ops('gateway', 'topic', TOPICS.inferenceLive)).toEqual(['Write', 'Describe']);
    expect(user('gateway').spec.authorization.acls.map((a) => a.resource.type)).toEqual(['topic', 'topic', 'cluster']);
    expect(ops('gateway', 'cluster')).toEqual(['IdempotentWrite']);
  });

  test('consumers read their topics and the groups named after their own (their group, state restore, ephemeral readers)', () => {
    for (const role of ['aggregator', 'indexer', 'roller', 'console'] as const) {
      expect(ops(role, 'topic', TOPICS.inference)).toEqual(['Read', 'Describe']);
      expect(aclFor(user(role), 'group')).toEqual({ resource: { type: 'group', name: `llm-logger-${role}`, patternType: 'prefix' }, operations: ['Read'] });
      expect(readerGroupPrefix(role).startsWith(roleGroup(role))).toBe(true);
    }
    expect(roleGroup('console')).toBe(CONSOLE_GROUP);
    // The aggregator's restore consumer: `${group}-restore-<uuid>`, under the same prefix.
    expect(`${AGGREGATOR_GROUP}-restore-x`.startsWith(roleGroup('aggregator'))).toBe(true);
    expect(ops('indexer', 'topic', TOPICS.aggregates)).toBeUndefined();
    expect(ops('console', 'topic', TOPICS.alerts)).toEqual(['Read', 'Write', 'Describe']);
  });

  test('every consuming role may write to the DLQ, even when topology/ does not list it as a producer', () => {
    for (const role of ['aggregator', 'indexer', 'roller', 'console'] as const) expect(ops(role, 'topic', TOPICS.dlq)).toEqual(['Write', 'Describe']);
    const dlqWithoutProducers: RenderedTopic[] = TOPOLOGY.map((t) => (t.name === TOPICS.dlq ? { ...t, producers: [] } : t));
    const indexer = renderKafkaUsers(dlqWithoutProducers).find((u) => u.metadata.name === 'llm-logger-indexer')!;
    expect(aclFor(indexer, 'topic', TOPICS.dlq)?.operations).toEqual(['Write', 'Describe']);
  });

  test('the whole ACL table: nothing beyond what each role produces, consumes and commits', () => {
    const table = (role: Role): string[] =>
      user(role).spec.authorization.acls.map((a) => `${'name' in a.resource ? `${a.resource.type}:${a.resource.name}${a.resource.patternType === 'prefix' ? '*' : ''}` : a.resource.type} ${a.operations.join(',')}`);
    const readsEvents = `topic:${TOPICS.inference} Read,Describe`;
    expect(table('gateway')).toEqual([`topic:${TOPICS.inference} Write,Describe`, `topic:${TOPICS.inferenceLive} Write,Describe`, 'cluster IdempotentWrite']);
    expect(table('aggregator')).toEqual([
      readsEvents,
      `topic:${TOPICS.aggregates} Write,Describe`,
      `topic:${TOPICS.dlq} Write,Describe`,
      `topic:${TOPICS.aggregatorChangelog} Read,Write,Describe`,
      `group:llm-logger-aggregator* Read`,
      `transactionalId:${AGGREGATOR_TRANSACTIONAL_ID_PREFIX}* Write,Describe`,
      'cluster IdempotentWrite',
    ]);
    // The erasures (llm-logger erase): followed by every role that keeps bodies.
    const readsErasures = `topic:${TOPICS.erasures} Read,Describe`;
    for (const role of ['indexer', 'roller'] as const) expect(table(role)).toEqual([readsEvents, `topic:${TOPICS.dlq} Write,Describe`, readsErasures, `group:llm-logger-${role}* Read`, 'cluster IdempotentWrite']);
    expect(table('console')).toEqual([
      readsEvents,
      `topic:${TOPICS.inferenceLive} Read,Describe`,
      `topic:${TOPICS.aggregates} Read,Describe`,
      `topic:${TOPICS.alerts} Read,Write,Describe`,
      `topic:${TOPICS.dlq} Write,Describe`,
      // The access log: the console writes who read what, and reads it back for the admins' view.
      `topic:${TOPICS.access} Read,Write,Describe`,
      // The admin API records erasures and follows them, as the other body-keeping roles do.
      `topic:${TOPICS.erasures} Read,Write,Describe`,
      'group:llm-logger-console* Read',
      'cluster IdempotentWrite',
    ]);
  });

  test('only the aggregator has a transactional id prefix', () => {
    expect(aclFor(user('aggregator'), 'transactionalId')).toEqual({
      resource: { type: 'transactionalId', name: AGGREGATOR_TRANSACTIONAL_ID_PREFIX, patternType: 'prefix' },
      operations: ['Write', 'Describe'],
    });
    for (const role of ['gateway', 'indexer', 'roller', 'console'] as const) expect(aclFor(user(role), 'transactionalId')).toBeUndefined();
  });
});

test('the files are stable multi-document YAML with a generated-file header', () => {
  const a = renderStrimziFiles(TOPOLOGY);
  expect(renderStrimziFiles(TOPOLOGY)).toEqual(a);
  expect(a.topics.startsWith('# Generated from topology/topics.ts')).toBe(true);
  expect(parseAllDocuments(a.topics).map((d) => (d.toJS() as { kind: string }).kind)).toEqual(TOPOLOGY.map(() => 'KafkaTopic'));
  expect(parseAllDocuments(a.users).every((d) => d.errors.length === 0 && (d.toJS() as { kind: string }).kind === 'KafkaUser')).toBe(true);
});
