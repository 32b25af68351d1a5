import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  crdSchemaFileName,
  crdSchemas,
  kubernetesKindSchema,
  kubernetesSchemaFileName,
  parseKindRef,
  type CustomResourceDefinition,
  type JsonSchema,
} from './json-schemas';

/**
 * Writes infra/k8s/schemas/ from infra/k8s/schemas/sources.json:
 *
 *   node dist/infra/k8s/tools/generate-schemas.js --swagger swagger.json --crds <dir with strimzi-1.2.0/ …>
 *
 * infra/k8s/schemas/update.sh fetches the swagger from the Go module proxy
 * and runs this. Output is deterministic (sorted keys are not needed: the
 * sources' order is kept), so a regeneration shows as a clean diff.
 */

interface Sources {
  kubernetes: { version: string; kinds: string[] };
  crds: { dir: string; files: string[] }[];
}

const SCHEMAS_DIR = resolve(__dirname, '..', '..', '..', '..', 'infra', 'k8s', 'schemas');

function write(path: string, schema: JsonSchema): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(schema)}\n`);
}

function main(): void {
  const { values } = parseArgs({ options: { swagger: { type: 'string' }, crds: { type: 'string' }, out: { type: 'string' } } });
  if (!values.swagger || !values.crds) throw new Error('usage: generate-schemas --swagger <swagger.json> --crds <dir> [--out dir]');
  const out = values.out ?? SCHEMAS_DIR;
  const sources = JSON.parse(readFileSync(join(out, 'sources.json'), 'utf8')) as Sources;
  const definitions = (JSON.parse(readFileSync(values.swagger, 'utf8')) as { definitions: Record<string, JsonSchema> }).definitions;

  const k8sDir = join(out, `kubernetes-v${sources.kubernetes.version}`);
  rmSync(k8sDir, { recursive: true, force: true });
  for (const text of sources.kubernetes.kinds) {
    const ref = parseKindRef(text);
    write(join(k8sDir, kubernetesSchemaFileName(ref)), kubernetesKindSchema(definitions, ref));
  }

  const crdDir = join(out, 'crds');
  rmSync(crdDir, { recursive: true, force: true });
  for (const source of sources.crds) {
    for (const file of source.files) {
      const docs = parseAllDocuments(readFileSync(join(values.crds, source.dir, file), 'utf8')).map((d) => d.toJS() as { kind?: string });
      for (const crd of docs.filter((d) => d.kind === 'CustomResourceDefinition') as unknown as CustomResourceDefinition[]) {
        for (const s of crdSchemas(crd, definitions)) write(join(crdDir, crdSchemaFileName(s.group, s.kind, s.version)), s.schema);
      }
    }
  }
  process.stdout.write(`schemas written under ${out}\n`);
}

main();
