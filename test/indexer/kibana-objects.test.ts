import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mappedFields } from '../../services/indexer/core/es-mapping';
import { REPO_ROOT } from '../support/processes';

/**
 * infra/kibana/: llm-audit.ndjson (Kibana 7.10), llm-audit-8.ndjson (Kibana 8.x and 9.x:
 * version-stamped objects, Lens charts) and llm-audit-opensearch.ndjson (OpenSearch Dashboards
 * 2.x: the 7.10-style objects it reads, no Kibana 8 stamps) parse, hang together, and only name
 * fields the index mapping has; every .ndjson file there gets the same checks. No Kibana or
 * OpenSearch Dashboards runs here: whether a real one imports them is checked by nothing but these
 * structural tests (docs/deploy-kubernetes.md).
 */

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: { name: string; type: string; id: string }[];
  coreMigrationVersion?: string;
  typeMigrationVersion?: string;
  migrationVersion?: Record<string, string>;
}

const load = (name: string): SavedObject[] =>
  readFileSync(join(REPO_ROOT, 'infra', 'kibana', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as SavedObject);
const FILES = readdirSync(join(REPO_ROOT, 'infra', 'kibana')).filter((f) => f.endsWith('.ndjson')).sort();
const objects = load('llm-audit.ndjson');
const objects8 = load('llm-audit-8.ndjson');
const objectsOsd = load('llm-audit-opensearch.ndjson');
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

test('the three files the docs and the chart name are the ones there', () => {
  expect(FILES).toEqual(['llm-audit-8.ndjson', 'llm-audit-opensearch.ndjson', 'llm-audit.ndjson']);
});

describe.each(FILES)('%s', (file) => {
  const all = load(file);

  test('ids are unique; a data view on llm-inference-* keyed on @timestamp; the "LLM audit" search and a dashboard', () => {
    expect(new Set(all.map((o) => `${o.type}:${o.id}`)).size).toBe(all.length);
    expect(all.find((o) => o.type === 'index-pattern')!.attributes).toMatchObject({ title: 'llm-inference-*', timeFieldName: '@timestamp' });
    expect(all.find((o) => o.type === 'search')!.attributes.title).toBe('LLM audit');
    expect(all.filter((o) => o.type === 'dashboard')).toHaveLength(1);
  });

  test('every reference resolves, and every dashboard panel has its reference', () => {
    const ids = new Set(all.map((o) => `${o.type}:${o.id}`));
    for (const o of all) for (const r of o.references) expect(ids).toContain(`${r.type}:${r.id}`);
    const dash = all.find((o) => o.type === 'dashboard')!;
    const panels = JSON.parse(dash.attributes.panelsJSON as string) as { panelIndex: string; panelRefName: string }[];
    const names = new Set(dash.references.map((r) => r.name));
    // 7.x names a panel's reference panel_N; 8.x prefixes it with the panel index.
    for (const p of panels) expect(names.has(p.panelRefName) || names.has(`${p.panelIndex}:${p.panelRefName}`)).toBe(true);
    expect(panels).toHaveLength(dash.references.length);
  });

  test('every field the objects name exists in the index mapping', () => {
    const named = all.flatMap(referencedFields);
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((f) => !fields.has(f))).toEqual([]);
  });
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
});

describe('OpenSearch Dashboards 2.x objects (llm-audit-opensearch.ndjson)', () => {
  test('the same objects and attributes as the 7.10 file: visualizations, no Lens (OpenSearch Dashboards has none)', () => {
    const byId = (list: SavedObject[]) => Object.fromEntries(list.map((o) => [o.id, { type: o.type, attributes: o.attributes, references: o.references }]));
    expect(byId(objectsOsd)).toEqual(byId(objects));
    expect(objectsOsd.some((o) => o.type === 'lens')).toBe(false);
  });

  test('no Kibana 8 version stamps, an empty migrationVersion, dashboard panels of the 7.10 line OpenSearch Dashboards forked from', () => {
    for (const o of objectsOsd) {
      // OpenSearch Dashboards refuses an object whose migration version is newer than the
      // migrations it knows; an empty map (as its own sample data has) lets it run all of them.
      expect({ id: o.id, core: o.coreMigrationVersion, type: o.typeMigrationVersion }).toEqual({ id: o.id, core: undefined, type: undefined });
      expect({ id: o.id, migrationVersion: o.migrationVersion }).toEqual({ id: o.id, migrationVersion: {} });
    }
    const dash = objectsOsd.find((o) => o.type === 'dashboard')!;
    for (const p of JSON.parse(dash.attributes.panelsJSON as string) as { version: string }[]) expect(p.version).toMatch(/^7\.10\.\d+$/);
  });

  test('saved searches and visualizations query in DQL (stored as "kuery", the language id OpenSearch Dashboards kept)', () => {
    for (const o of objectsOsd) {
      const meta = o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string } | undefined;
      if (meta) expect((JSON.parse(meta.searchSourceJSON) as { query: { language: string } }).query.language).toBe('kuery');
    }
  });
});
