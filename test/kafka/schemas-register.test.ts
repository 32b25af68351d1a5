import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS, TOPOLOGY } from '../../topology/topics';
import { planSchemaRegistrations, runSchemas, type SchemasCommandOptions } from '../../services/cli/schemas';
import { loadConfig, type Config } from '../../services/shared/config/config';
import { INFERENCE_EVENT_SCHEMA_FILE, INFERENCE_EVENT_SUBJECT, SCHEMAS_DIR } from '../../services/shared/event/inference-event';
import { ConfluentRegistryClient } from '../../services/shared/log/kafka/registry-client';
import { describeWithInfra } from '../support/infra';

const v1 = readFileSync(join(SCHEMAS_DIR, INFERENCE_EVENT_SCHEMA_FILE), 'utf8');
const v1Doc = JSON.parse(v1) as { fields: unknown[] };
const withOptional = JSON.stringify({ ...v1Doc, fields: [...v1Doc.fields, { name: 'region', type: ['null', 'string'], default: null }] });
const withRequired = JSON.stringify({ ...v1Doc, fields: [...v1Doc.fields, { name: 'region', type: 'string' }] });

describe('which schema goes under which subject', () => {
  test('the inference event goes under llm.inference.v1-value (TopicNameStrategy), from topology/', () => {
    const { registrations, problems } = planSchemaRegistrations(readdirSync(SCHEMAS_DIR), TOPOLOGY);
    expect(problems).toEqual([]);
    expect(registrations).toEqual([
      { subject: INFERENCE_EVENT_SUBJECT, topic: TOPICS.inference, files: ['inference-event.v1.avsc', INFERENCE_EVENT_SCHEMA_FILE] },
      { subject: `${TOPICS.aggregates}-value`, topic: TOPICS.aggregates, files: ['aggregate.v1.avsc'] },
    ]);
  });

  test('every version of a topic’s schema, oldest first (v10 after v9)', () => {
    const files = ['e.v10.avsc', 'e.v2.avsc', 'e.v9.avsc', 'e.v1.avsc', 'README.md'];
    const { registrations } = planSchemaRegistrations(files, [{ name: 't', valueSchema: 'e.v2.avsc' }]);
    expect(registrations[0]!.files).toEqual(['e.v1.avsc', 'e.v2.avsc', 'e.v9.avsc', 'e.v10.avsc']);
  });

  test('a misnamed file, a file no topic uses and a missing schema are all named', () => {
    const { problems } = planSchemaRegistrations(['e.v1.avsc', 'orphan.v1.avsc', 'bad.avsc'], [
      { name: 't', valueSchema: 'e.v1.avsc' },
      { name: 'u', valueSchema: 'gone.v3.avsc' },
      { name: 'json', valueSchema: null },
    ]);
    expect(problems).toEqual([
      'schemas/bad.avsc: schema files are named <name>.v<N>.avsc',
      'topic u declares value schema gone.v3.avsc, which is not in schemas/',
      'schemas/orphan.v1.avsc: no topic in topology/ has it as its valueSchema, so it has no subject',
    ]);
  });
});

/** `llm-logger schemas register` against the real registry (infra/dev), under unique subjects. */
describeWithInfra('schemas register', (settings) => {
  const subjects: string[] = [];
  const dirs: string[] = [];
  let config: Config;
  let registry: ConfluentRegistryClient;

  /** A topic like llm.inference.v1 with a unique name, so its subject is unique too. */
  function uniqueTopic(): { name: string; valueSchema: string } {
    const name = `test.${randomUUID()}.${TOPICS.inference}`;
    subjects.push(`${name}-value`);
    return { name, valueSchema: INFERENCE_EVENT_SCHEMA_FILE };
  }

  function schemasDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'llm-logger-schemas-'));
    dirs.push(dir);
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    return dir;
  }

  async function cli(options: SchemasCommandOptions, cfg: Config = config): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runSchemas(['register'], cfg, {
      ...options,
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
    });
    return { code, stdout, stderr };
  }

  async function versions(subject: string): Promise<number[] | 'none'> {
    const res = await fetch(`${settings().registryUrl}/subjects/${encodeURIComponent(subject)}/versions`);
    if (res.status === 404) return 'none';
    return (await res.json()) as number[];
  }

  beforeAll(() => {
    config = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: settings().brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl });
    registry = new ConfluentRegistryClient({ url: settings().registryUrl });
  });

  afterAll(async () => {
    for (const s of subjects) await registry.deleteSubject(s).catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('registers schemas/ under the topic’s subject and prints subject, file and id; again gives the same id', async () => {
    const topic = uniqueTopic();
    const dir = schemasDir({ [INFERENCE_EVENT_SCHEMA_FILE]: v1 });
    const first = await cli({ topics: [topic], schemasDir: dir });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const m = new RegExp(`^${topic.name.replace(/\./g, '\\.')}-value  ${INFERENCE_EVENT_SCHEMA_FILE.replace(/\./g, '\\.')}  id (\\d+)\\n$`).exec(first.stdout);
    expect(m).not.toBeNull();
    const id = Number(m![1]);
    expect(JSON.parse(await registry.schemaById(id))).toEqual(JSON.parse(v1));
    expect(await versions(`${topic.name}-value`)).toEqual([1]);
    const level = (await (await fetch(`${settings().registryUrl}/config/${encodeURIComponent(`${topic.name}-value`)}`)).json()) as {
      compatibilityLevel: string;
    };
    expect(level.compatibilityLevel).toBe('BACKWARD');

    const again = await cli({ topics: [topic], schemasDir: dir });
    expect(again).toEqual(first);
    expect(await versions(`${topic.name}-value`)).toEqual([1]);
  });

  test('the real schemas/ register in order, each version accepted by the registry as BACKWARD compatible', async () => {
    const topic = uniqueTopic();
    const dir = schemasDir(Object.fromEntries(['inference-event.v1.avsc', 'inference-event.v2.avsc'].map((f) => [f, readFileSync(join(SCHEMAS_DIR, f), 'utf8')])));
    const r = await cli({ topics: [topic], schemasDir: dir });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split('  ')[1])).toEqual(['inference-event.v1.avsc', 'inference-event.v2.avsc']);
    expect(await versions(`${topic.name}-value`)).toEqual([1, 2]);
  });

  test('versions are registered oldest first; running again changes nothing', async () => {
    const topic = uniqueTopic();
    const dir = schemasDir({ 'inference-event.v1.avsc': v1, 'inference-event.v2.avsc': withOptional });
    const first = await cli({ topics: [topic], schemasDir: dir });
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines.map((l) => l.split('  ')[1])).toEqual(['inference-event.v1.avsc', 'inference-event.v2.avsc']);
    expect(new Set(lines.map((l) => l.split('  id ')[1])).size).toBe(2);
    expect(await versions(`${topic.name}-value`)).toEqual([1, 2]);
    expect(await cli({ topics: [topic], schemasDir: dir })).toEqual(first);
    expect(await versions(`${topic.name}-value`)).toEqual([1, 2]);
  });

  test('a version that is not BACKWARD compatible exits 1 naming the file; the versions before it stay', async () => {
    const topic = uniqueTopic();
    const dir = schemasDir({ 'inference-event.v1.avsc': v1, 'inference-event.v2.avsc': withRequired, 'inference-event.v3.avsc': withOptional });
    const r = await cli({ topics: [topic], schemasDir: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('inference-event.v1.avsc');
    expect(r.stderr).toContain(`schemas/inference-event.v2.avsc is not BACKWARD compatible with the latest version under ${topic.name}-value`);
    expect(r.stdout + r.stderr).not.toContain('v3');
    expect(await versions(`${topic.name}-value`)).toEqual([1]);
  });

  test('a schema file no topic uses is refused before anything is registered', async () => {
    const topic = uniqueTopic();
    const dir = schemasDir({ 'inference-event.v1.avsc': v1, 'orphan.v1.avsc': withOptional });
    const r = await cli({ topics: [topic], schemasDir: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('schemas/orphan.v1.avsc: no topic in topology/');
    expect(r.stderr).toContain('nothing was registered');
    expect(await versions(`${topic.name}-value`)).toBe('none');
  });

  test('without a registry URL it says which variable is missing', async () => {
    const r = await cli({ topics: [uniqueTopic()] }, loadConfig({}));
    expect(r).toMatchObject({ code: 2, stderr: expect.stringContaining('LLM_LOGGER_SCHEMA_REGISTRY_URL') });
  });
});
