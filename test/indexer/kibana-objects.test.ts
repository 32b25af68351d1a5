import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mappedFields } from '../../services/indexer/core/es-mapping';
import { REPO_ROOT } from '../support/processes';

/** infra/kibana/llm-audit.ndjson: parses, hangs together, and only names fields the index mapping has. */

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: { name: string; type: string; id: string }[];
}

const file = join(REPO_ROOT, 'infra', 'kibana', 'llm-audit.ndjson');
const objects = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as SavedObject);
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
