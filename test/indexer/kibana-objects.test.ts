import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mappedFields } from '../../services/indexer/core/es-mapping';
import { REPO_ROOT } from '../support/processes';

/**
 * infra/kibana/: llm-audit.ndjson (Kibana 7.10 and OpenSearch Dashboards, which reads the 7.10
 * format) and llm-audit-8.ndjson (Kibana 8.x and 9.x: version-stamped objects, Lens charts) parse,
 * hang together, and only name fields the index mapping has. No Kibana runs here: whether a real
 * one imports them is checked by nothing but these structural tests (docs/deploy-kubernetes.md).
 */

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: { name: string; type: string; id: string }[];
  coreMigrationVersion?: string;
  typeMigrationVersion?: string;
}

const load = (name: string): SavedObject[] =>
  readFileSync(join(REPO_ROOT, 'infra', 'kibana', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as SavedObject);
const objects = load('llm-audit.ndjson');
const objects8 = load('llm-audit-8.ndjson');
const fields = new Set(mappedFields());

/** Field names a KQL query refers to (`field : value`, `field >= n`). */
function kqlFields(query: string): string[] {
  return [...query.matchAll(/([@\w.]+)\s*(?::|<=?|>=?)/g)].map((m) => m[1]!);
}

function referencedFields(o: SavedObject): string[] {
  const out: string[] = [];
  const a = o.attributes;
  if (typeof a.timeFieldName === 'string') out.push(a.timeFieldName);
  if (Array.isArray(a.columns)) out.push(...(a.columns as string[]));
  if (Array.isArray(a.sort)) out.push(...(a.sort as [string, string][]).map((s) => s[0]));
  if (typeof a.visState === 'string') {
    const vis = JSON.parse(a.visState) as { aggs: { params: { field?: string } }[] };
    for (const agg of vis.aggs) if (agg.params.field) out.push(agg.params.field);
  }
  const state = a.state as { datasourceStates?: { formBased?: { layers: Record<string, { columns: Record<string, { sourceField?: string }> }> } }; query?: { query: string } } | undefined;
  for (const layer of Object.values(state?.datasourceStates?.formBased?.layers ?? {})) {
    for (const c of Object.values(layer.columns)) if (c.sourceField && c.sourceField !== '___records___') out.push(c.sourceField);
  }
  if (state?.query) out.push(...kqlFields(state.query.query));
  const meta = a.kibanaSavedObjectMeta as { searchSourceJSON?: string } | undefined;
  if (meta?.searchSourceJSON) {
    const source = JSON.parse(meta.searchSourceJSON) as { query?: { query: string } };
    out.push(...kqlFields(source.query?.query ?? ''));
  }
  return out;
}

test('the file has a data view, the "LLM audit" saved search and a dashboard', () => {
  expect(objects.map((o) => o.type).sort()).toEqual(['dashboard', 'index-pattern', 'search', 'visualization', 'visualization', 'visualization', 'visualization']);
  const view = objects.find((o) => o.type === 'index-pattern')!;
  expect(view.attributes).toMatchObject({ title: 'llm-inference-*', timeFieldName: '@timestamp' });
  expect(objects.find((o) => o.type === 'search')!.attributes.title).toBe('LLM audit');
  const visTitles = objects.filter((o) => o.type === 'visualization').map((o) => String(o.attributes.title));
  for (const word of ['calls', 'latency', 'cost', 'errors']) expect(visTitles.some((t) => t.toLowerCase().includes(word))).toBe(true);
});

test('every reference points at an object in the file, and every panel has its reference', () => {
  const ids = new Set(objects.map((o) => `${o.type}:${o.id}`));
  for (const o of objects) for (const r of o.references) expect(ids).toContain(`${r.type}:${r.id}`);
  const dash = objects.find((o) => o.type === 'dashboard')!;
  const panels = JSON.parse(dash.attributes.panelsJSON as string) as { panelRefName: string }[];
  expect(panels.map((p) => p.panelRefName).sort()).toEqual(dash.references.map((r) => r.name).sort());
});

test('every field the objects name exists in the index mapping', () => {
  const named = objects.flatMap(referencedFields);
  expect(named.length).toBeGreaterThan(10);
  expect(named.filter((f) => !fields.has(f))).toEqual([]);
});

test('the check itself notices a field the mapping lacks', () => {
  expect(kqlFields('outcome : "error" and nosuchfield >= 3')).toEqual(['outcome', 'nosuchfield']);
  expect(fields.has('nosuchfield')).toBe(false);
});

describe('Kibana 8.x / 9.x objects (llm-audit-8.ndjson)', () => {
  test('the same objects as the 7.10 file, charts as Lens, every object stamped with its 8.x migration version', () => {
    expect(objects8.map((o) => o.id).sort()).toEqual(objects.map((o) => o.id).sort());
    expect(objects8.map((o) => o.type).sort()).toEqual(['dashboard', 'index-pattern', 'lens', 'lens', 'lens', 'lens', 'search']);
    for (const o of objects8) {
      expect({ id: o.id, core: o.coreMigrationVersion }).toEqual({ id: o.id, core: expect.stringMatching(/^8\.\d+\.\d+$/) });
      expect({ id: o.id, type: o.typeMigrationVersion }).toEqual({ id: o.id, type: expect.stringMatching(/^8\.\d+\.\d+$/) });
    }
    const view = objects8.find((o) => o.type === 'index-pattern')!;
    expect(view.attributes).toMatchObject({ title: 'llm-inference-*', timeFieldName: '@timestamp' });
  });

  test('every reference resolves; each Lens layer names the data view; every dashboard panel has its reference', () => {
    const ids = new Set(objects8.map((o) => `${o.type}:${o.id}`));
    for (const o of objects8) for (const r of o.references) expect(ids).toContain(`${r.type}:${r.id}`);
    for (const lens of objects8.filter((o) => o.type === 'lens')) {
      const layers = Object.keys((lens.attributes.state as { datasourceStates: { formBased: { layers: Record<string, unknown> } } }).datasourceStates.formBased.layers);
      expect(lens.references.map((r) => r.name).sort()).toEqual(layers.map((l) => `indexpattern-datasource-layer-${l}`).sort());
    }
    const dash = objects8.find((o) => o.type === 'dashboard')!;
    const panels = JSON.parse(dash.attributes.panelsJSON as string) as { panelIndex: string; panelRefName: string; type: string }[];
    expect(panels.map((p) => `${p.panelIndex}:${p.panelRefName}`).sort()).toEqual(dash.references.map((r) => r.name).sort());
    for (const p of panels) expect(dash.references.find((r) => r.name === `${p.panelIndex}:${p.panelRefName}`)!.type).toBe(p.type);
  });

  test('every field the objects name exists in the index mapping', () => {
    const named = objects8.flatMap(referencedFields);
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((f) => !fields.has(f))).toEqual([]);
  });
});
