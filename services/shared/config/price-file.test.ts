import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPriceTable } from '../pricing';
import { loadPrices, priceSourceOf } from './price-file';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'llm-logger-price-file-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('price sources', () => {
  it('prefers LLM_LOGGER_PRICES_FILE, then the config file, then the bundled table', () => {
    expect(priceSourceOf({ pricesFile: '/p.yaml', configFile: '/c.yaml' })).toEqual({ kind: 'prices-file', path: '/p.yaml' });
    expect(priceSourceOf({ pricesFile: null, configFile: '/c.yaml' })).toEqual({ kind: 'config-file', path: '/c.yaml' });
    expect(priceSourceOf({ pricesFile: null, configFile: null })).toEqual({ kind: 'bundled' });
    expect(loadPrices({ kind: 'bundled' }).table).toBe(loadPriceTable());
  });

  it('reads a prices file in YAML or JSON, and the prices: of a config file (nothing else of it)', () => {
    const yaml = loadPrices({ kind: 'prices-file', path: file('p.yaml', 'version: y1\nmodels:\n  - { provider: vllm, model: m, input: 1, output: 2 }\n') });
    expect(yaml).toMatchObject({ label: 'y1', table: { version: `${loadPriceTable().version}+custom:y1` } });
    const json = loadPrices({ kind: 'prices-file', path: file('p.json', '{"version":"y1","models":[{"provider":"vllm","model":"m","input":1,"output":2}]}') });
    expect(json.contentHash).toBe(yaml.contentHash);
    const config = file('c.yaml', 'upstreams: {}\nprices:\n  version: y1\n  models:\n    - { provider: vllm, model: m, input: 1, output: 2 }\n');
    expect(loadPrices({ kind: 'config-file', path: config }).contentHash).toBe(yaml.contentHash);
    // A config file without prices: the bundled table.
    expect(loadPrices({ kind: 'config-file', path: file('c2.yaml', 'upstreams: {}\n') }).table).toBe(loadPriceTable());
  });

  it.each([
    ['missing.yaml', null, /LLM_LOGGER_PRICES_FILE=.*missing\.yaml: cannot be read/],
    ['broken.yaml', 'models: [ {', /LLM_LOGGER_PRICES_FILE=.*broken\.yaml: not valid YAML or JSON/],
    ['bad.yaml', 'models:\n  - { provider: vllm, model: m, input: 1, output: -2 }\n', /bad\.yaml: file\.models\[0\]\.output: /],
    ['typo.yaml', 'modles: []\n', /typo\.yaml: file\.models: .* \(and 1 more\)/],
  ])('refuses %s with CONFIG_INVALID naming the file and the field', (name, text, message) => {
    const path = text === null ? join(dir, name) : file(name, text);
    expect(() => loadPrices({ kind: 'prices-file', path })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });
});
