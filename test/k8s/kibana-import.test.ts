import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/processes';

/**
 * infra/kibana/import-saved-objects.mjs, the script the chart's import Job
 * runs, against a stand-in speaking the saved-objects import API of Kibana
 * (kbn-xsrf) and OpenSearch Dashboards (osd-xsrf): it waits until /api/status
 * answers 200, posts the ndjson file as multipart form data with overwrite,
 * and fails (so the Job retries) when the import does not succeed. No real
 * Kibana or OpenSearch Dashboards runs here (docs/deploy-kubernetes.md).
 */

const SCRIPT = join(REPO_ROOT, 'infra', 'kibana', 'import-saved-objects.mjs');
const FILE_8 = join(REPO_ROOT, 'infra', 'kibana', 'llm-audit-8.ndjson');

interface Received {
  xsrf: string | undefined;
  authorization: string | undefined;
  overwrite: string | null;
  fileName: string;
  objects: number;
}

interface StandIn {
  url: string;
  received: Received[];
  statusCalls: number;
  server: Server;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A dashboards server: /api/status is 503 for the first `notReady` calls; the import answers `success`. */
async function standIn(xsrfHeader: string, options: { notReady: number; success: boolean }): Promise<StandIn> {
  const state: StandIn = { url: '', received: [], statusCalls: 0, server: undefined as unknown as Server };
  state.server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/api/status') {
        state.statusCalls += 1;
        res.writeHead(state.statusCalls <= options.notReady ? 503 : 200).end('{}');
        return;
      }
      if (req.method === 'POST' && url.pathname === '/api/saved_objects/_import') {
        const form = await new Response(await body(req), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
        const file = form.get('file') as File;
        const lines = (await file.text()).split('\n').filter((l) => l.trim() !== '');
        state.received.push({
          xsrf: req.headers[xsrfHeader] as string | undefined,
          authorization: req.headers.authorization,
          overwrite: url.searchParams.get('overwrite'),
          fileName: file.name,
          objects: lines.length,
        });
        const answer = options.success ? { success: true, successCount: lines.length } : { success: false, successCount: 0, errors: [{ id: 'x', error: { type: 'conflict' } }] };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        return;
      }
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
}

function runImport(env: Record<string, string>, file: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [SCRIPT, file], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

test('Kibana: waits for it to answer, then imports every object of llm-audit-8.ndjson with overwrite and basic auth', async () => {
  const kibana = await standIn('kbn-xsrf', { notReady: 1, success: true });
  servers.push(kibana.server);
  const objects = readFileSync(FILE_8, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
  const { code, out } = await runImport({ DASHBOARDS_URL: `${kibana.url}/`, DASHBOARDS_USERNAME: 'elastic', DASHBOARDS_PASSWORD: 'pw', WAIT_SECONDS: '60' }, FILE_8);
  expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining(`imported ${objects} saved objects`) });
  expect(kibana.statusCalls).toBe(2);
  expect(kibana.received).toEqual([
    { xsrf: 'true', authorization: `Basic ${Buffer.from('elastic:pw').toString('base64')}`, overwrite: 'true', fileName: 'llm-audit-8.ndjson', objects },
  ]);
}, 30_000);

test('OpenSearch Dashboards: every object of llm-audit-opensearch.ndjson, its own xsrf header, no credentials when none are given', async () => {
  const osd = await standIn('osd-xsrf', { notReady: 0, success: true });
  servers.push(osd.server);
  const file = join(REPO_ROOT, 'infra', 'kibana', 'llm-audit-opensearch.ndjson');
  const objects = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
  const { code } = await runImport({ DASHBOARDS_URL: osd.url, DASHBOARDS_FLAVOR: 'opensearch-dashboards' }, file);
  expect(code).toBe(0);
  expect(osd.received).toEqual([{ xsrf: 'true', authorization: undefined, overwrite: 'true', fileName: 'llm-audit-opensearch.ndjson', objects }]);
});

test('a refused import fails the Job (exit 1, the answer shown); a bad setting is named (exit 2)', async () => {
  const kibana = await standIn('kbn-xsrf', { notReady: 0, success: false });
  servers.push(kibana.server);
  const refused = await runImport({ DASHBOARDS_URL: kibana.url }, FILE_8);
  expect(refused.code).toBe(1);
  expect(refused.out).toContain('import failed: 200');
  expect(refused.out).toContain('conflict');
  const bad = await runImport({ DASHBOARDS_URL: kibana.url, DASHBOARDS_FLAVOR: 'grafana' }, FILE_8);
  expect(bad).toEqual({ code: 2, out: expect.stringContaining('DASHBOARDS_FLAVOR must be kibana or opensearch-dashboards, not grafana') });
  expect((await runImport({}, FILE_8)).code).toBe(2);
});
