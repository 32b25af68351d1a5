import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfluentRegistryClient } from '../../services/shared/log/kafka/registry-client';
import { SCHEMAS_DIR } from '../../services/shared/event/inference-event';
import { describeWithInfra } from '../support/infra';

/** Against the real registry started by infra/dev (Apicurio, Confluent API). */
describeWithInfra('schema registry client', (settings) => {
  const subjects: string[] = [];
  let client: ConfluentRegistryClient;
  const subject = (): string => {
    const s = `test-${randomUUID()}-value`;
    subjects.push(s);
    return s;
  };

  beforeAll(() => {
    client = new ConfluentRegistryClient({ url: settings().registryUrl });
  });
  afterAll(async () => {
    for (const s of subjects) await client.deleteSubject(s).catch(() => undefined);
  });

  const v1 = readFileSync(join(SCHEMAS_DIR, 'inference-event.v1.avsc'), 'utf8');

  test('register returns a stable id and the registry gives the schema back', async () => {
    const s = subject();
    const id = await client.register(s, v1);
    expect(await new ConfluentRegistryClient({ url: settings().registryUrl }).register(s, v1)).toBe(id);
    const back = JSON.parse(await new ConfluentRegistryClient({ url: settings().registryUrl }).schemaById(id)) as { name: string };
    expect(back.name).toBe('InferenceEvent');
  });

  test('BACKWARD: a new optional field is accepted, a new required field is refused', async () => {
    const s = subject();
    await client.setCompatibility(s, 'BACKWARD');
    await client.register(s, v1);
    const doc = JSON.parse(v1) as { fields: unknown[] };
    const withOptional = JSON.stringify({ ...doc, fields: [...doc.fields, { name: 'region', type: ['null', 'string'], default: null }] });
    const withRequired = JSON.stringify({ ...doc, fields: [...doc.fields, { name: 'region', type: 'string' }] });
    expect(await client.isCompatible(s, withOptional)).toBe(true);
    expect(await client.isCompatible(s, withRequired)).toBe(false);
    await expect(client.register(s, withRequired)).rejects.toMatchObject({ code: 'EVENT_INVALID' });
    expect(await client.register(s, withOptional)).toBeGreaterThan(0);
  });

  test('every schema version in schemas/ is BACKWARD compatible with its predecessor', async () => {
    const families = new Map<string, { version: number; file: string }[]>();
    for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.avsc'))) {
      const m = /^(.+)\.v(\d+)\.avsc$/.exec(file);
      if (!m) throw new Error(`${file}: schema files are named <name>.v<N>.avsc`);
      const list = families.get(m[1]!) ?? [];
      list.push({ version: Number(m[2]), file });
      families.set(m[1]!, list);
    }
    expect(families.size).toBeGreaterThan(0);
    for (const versions of families.values()) {
      const s = subject();
      await client.setCompatibility(s, 'BACKWARD');
      for (const { file } of versions.sort((a, b) => a.version - b.version)) {
        const text = readFileSync(join(SCHEMAS_DIR, file), 'utf8');
        expect(await client.isCompatible(s, text)).toBe(true);
        await client.register(s, text);
      }
    }
  });

  test('an unknown id is a DECODE_FAILED error; an unreachable registry a retriable one', async () => {
    await expect(client.schemaById(987654321)).rejects.toMatchObject({ code: 'DECODE_FAILED' });
    const dead = new ConfluentRegistryClient({ url: 'http://127.0.0.1:1', timeoutMs: 500 });
    await expect(dead.register('x', v1)).rejects.toMatchObject({ code: 'LOG_UNAVAILABLE', retriable: true });
  });
});
