import {
  crdSchemaFileName,
  crdSchemas,
  kubernetesKindSchema,
  kubernetesSchemaFileName,
  parseKindRef,
  type JsonSchema,
} from '../../infra/k8s/tools/json-schemas';

const definitions: Record<string, JsonSchema> = {
  'io.k8s.api.apps.v1.Deployment': {
    description: 'dropped',
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
      spec: {
        type: 'object',
        properties: {
          replicas: { type: 'integer', format: 'int32' },
          maxSurge: { $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString' },
          cpu: { $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' },
          raw: { type: 'object' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
    'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'Deployment' }],
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': { type: 'object', properties: { name: { type: 'string' } } },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  'io.k8s.Loop': { type: 'object', properties: { self: { $ref: '#/definitions/io.k8s.Loop' } }, 'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Loop' }] },
};

test('kind references and kubeconform file names', () => {
  expect(parseKindRef('apps/v1 Deployment')).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
  expect(kubernetesSchemaFileName(parseKindRef('networking.k8s.io/v1 NetworkPolicy'))).toBe('networkpolicy-networking-v1.json');
  expect(kubernetesSchemaFileName(parseKindRef('v1 Service'))).toBe('service-v1.json');
  expect(crdSchemaFileName('keda.sh', 'ScaledObject', 'v1alpha1')).toBe('keda.sh/scaledobject_v1alpha1.json');
  expect(() => parseKindRef('Deployment')).toThrow('is not');
});

test('a Kubernetes kind: references inlined, strict objects, pinned type meta, quantities and int-or-string', () => {
  const schema = kubernetesKindSchema(definitions, parseKindRef('apps/v1 Deployment'));
  expect(schema).toEqual({
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind'],
    properties: {
      apiVersion: { type: 'string', enum: ['apps/v1'] },
      kind: { type: 'string', enum: ['Deployment'] },
      metadata: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false },
      spec: {
        type: 'object',
        additionalProperties: false,
        properties: {
          replicas: { type: 'integer' },
          maxSurge: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
          cpu: { oneOf: [{ type: 'string' }, { type: 'number' }] },
          raw: { type: 'object' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
  });
  expect(() => kubernetesKindSchema(definitions, parseKindRef('v1 Loop'))).toThrow('recursive definition');
  expect(() => kubernetesKindSchema(definitions, parseKindRef('v1 Missing'))).toThrow('not in the Kubernetes definitions');
});

test('a CRD: one schema per served version, int-or-string, nullable, preserved unknown fields, ObjectMeta', () => {
  const crd = {
    spec: {
      group: 'example.io',
      names: { kind: 'Thing' },
      versions: [
        { name: 'v1beta1', served: false, schema: { openAPIV3Schema: { type: 'object' } } },
        {
          name: 'v1',
          served: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  'x-kubernetes-validations': [{ rule: 'self.a > 0' }],
                  properties: {
                    size: { 'x-kubernetes-int-or-string': true },
                    note: { type: 'string', nullable: true },
                    config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
  const [only, ...rest] = crdSchemas(crd, definitions);
  expect(rest).toEqual([]);
  expect(only!.version).toBe('v1');
  const props = only!.schema.properties as Record<string, JsonSchema>;
  expect(props.kind).toEqual({ type: 'string', enum: ['Thing'] });
  expect(props.metadata).toMatchObject({ additionalProperties: false });
  expect(props.spec).toEqual({
    type: 'object',
    additionalProperties: false,
    properties: {
      size: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
      note: { type: ['string', 'null'] },
      config: { type: 'object', properties: { a: { type: 'string' } } },
    },
  });
});
