/**
 * Converts the Kubernetes OpenAPI (swagger 2) definitions and CRD
 * openAPIV3Schemas into the per-kind JSON schemas kubeconform reads from a
 * local directory. Pure: the generator script does the reading and writing.
 *
 * Every schema is standalone (references inlined) and strict: an object that
 * declares its properties refuses any other one, as `kubectl apply
 * --validate=strict` would, unless the schema preserves unknown fields.
 * Descriptions and formats are dropped to keep the stored files small.
 */

export type JsonSchema = { [keyword: string]: unknown };

/** A resource kind to find in the Kubernetes definitions, e.g. `apps/v1 Deployment` or `v1 Service`. */
export interface KindRef {
  group: string; // '' for the core group
  version: string;
  kind: string;
}

export function parseKindRef(text: string): KindRef {
  const match = /^(?:([a-z0-9.-]+)\/)?(v[0-9a-z]+)\s+([A-Z][A-Za-z0-9]*)$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not "<group>/<version> <Kind>" or "<version> <Kind>"`);
  return { group: match[1] ?? '', version: match[2]!, kind: match[3]! };
}

export function apiVersionOf(ref: KindRef): string {
  return ref.group ? `${ref.group}/${ref.version}` : ref.version;
}

/** kubeconform's file name for a kind: `{{ .ResourceKind }}{{ .KindSuffix }}.json`. */
export function kubernetesSchemaFileName(ref: KindRef): string {
  const groupPrefix = ref.group ? `-${ref.group.split('.')[0]!.toLowerCase()}` : '';
  return `${ref.kind.toLowerCase()}${groupPrefix}-${ref.version.toLowerCase()}.json`;
}

/** kubeconform's CRD layout: `{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`. */
export function crdSchemaFileName(group: string, kind: string, version: string): string {
  return `${group}/${kind.toLowerCase()}_${version}.json`;
}

const DROPPED = new Set(['description', 'format', 'example', 'externalDocs', 'title', 'default']);

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** Definitions whose swagger shape is narrower than what the API server accepts. */
const SPECIAL: Record<string, JsonSchema> = {
  [QUANTITY]: { oneOf: [{ type: 'string' }, { type: 'number' }] },
  [INT_OR_STRING]: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
};

type Definitions = Record<string, JsonSchema>;

function isObjectWithProperties(schema: JsonSchema): boolean {
  return typeof schema.properties === 'object' && schema.properties !== null;
}

/** Recursively rewrites one schema node; `resolve` inlines a `$ref`. */
function transform(node: unknown, resolve: (ref: string) => JsonSchema): unknown {
  if (Array.isArray(node)) return node.map((n) => transform(n, resolve));
  if (node === null || typeof node !== 'object') return node;
  const schema = node as JsonSchema;
  if (typeof schema.$ref === 'string') return resolve(schema.$ref);
  const out: JsonSchema = {};
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key) || key.startsWith('x-')) continue;
    if (key === 'nullable') continue;
    if (key === 'type' && intOrString) continue;
    if (key === 'properties' || key === 'patternProperties') {
      const props: JsonSchema = {};
      for (const [name, child] of Object.entries(value as JsonSchema)) props[name] = transform(child, resolve);
      out[key] = props;
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not' || key === 'additionalItems') {
      out[key] = typeof value === 'boolean' ? value : transform(value, resolve);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = (value as unknown[]).map((v) => transform(v, resolve));
    } else {
      out[key] = value;
    }
  }
  if (intOrString) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (isObjectWithProperties(schema) && schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

function definitionResolver(definitions: Definitions): (ref: string) => JsonSchema {
  const stack: string[] = [];
  const resolve = (ref: string): JsonSchema => {
    const name = ref.replace(/^#\/definitions\//, '');
    const special = SPECIAL[name];
    if (special) return special;
    const definition = definitions[name];
    if (!definition) throw new Error(`$ref ${ref} is not in the definitions`);
    if (stack.includes(name)) throw new Error(`recursive definition ${[...stack, name].join(' → ')} cannot be inlined`);
    stack.push(name);
    try {
      return transform(definition, resolve) as JsonSchema;
    } finally {
      stack.pop();
    }
  };
  return resolve;
}

/** Pins apiVersion and kind, and makes both required, as the API server does. */
function pinTypeMeta(schema: JsonSchema, apiVersion: string, kind: string): JsonSchema {
  const properties = { ...(schema.properties as JsonSchema) };
  properties.apiVersion = { type: 'string', enum: [apiVersion] };
  properties.kind = { type: 'string', enum: [kind] };
  const required = [...new Set([...((schema.required as string[] | undefined) ?? []), 'apiVersion', 'kind'])];
  return { ...schema, properties, required };
}

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The standalone strict schema of one Kubernetes kind, from the swagger's definitions. */
export function kubernetesKindSchema(definitions: Definitions, ref: KindRef): JsonSchema {
  const name = Object.keys(definitions).find((key) =>
    ((definitions[key]!['x-kubernetes-group-version-kind'] as GroupVersionKind[] | undefined) ?? []).some(
      (gvk) => gvk.group === ref.group && gvk.version === ref.version && gvk.kind === ref.kind,
    ),
  );
  if (!name) throw new Error(`${apiVersionOf(ref)} ${ref.kind} is not in the Kubernetes definitions`);
  const resolve = definitionResolver(definitions);
  return pinTypeMeta(resolve(`#/definitions/${name}`), apiVersionOf(ref), ref.kind);
}

export interface CustomResourceDefinition {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: JsonSchema } }[];
  };
}

export interface CrdSchema {
  group: string;
  kind: string;
  version: string;
  schema: JsonSchema;
}

/**
 * One strict schema per served version of a CRD. `metadata` (only `type:
 * object` in a CRD) gets the Kubernetes ObjectMeta schema, so a misspelt
 * `labels` is caught there too.
 */
export function crdSchemas(crd: CustomResourceDefinition, definitions: Definitions): CrdSchema[] {
  const { group, names } = crd.spec;
  const objectMeta = definitionResolver(definitions)(`#/definitions/${OBJECT_META}`);
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => {
      const source = v.schema?.openAPIV3Schema;
      if (!source) throw new Error(`${names.kind} ${v.name} has no openAPIV3Schema`);
      const schema = transform(source, (ref) => {
        throw new Error(`unexpected $ref ${ref} in the ${names.kind} CRD`);
      }) as JsonSchema;
      const properties = { ...(schema.properties as JsonSchema), metadata: objectMeta };
      return { group, kind: names.kind, version: v.name, schema: pinTypeMeta({ ...schema, properties }, `${group}/${v.name}`, names.kind) };
    });
}
