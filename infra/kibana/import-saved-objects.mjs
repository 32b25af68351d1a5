// Imports an ndjson file of saved objects into Kibana (8.x, 9.x) or OpenSearch Dashboards
// through their saved-objects import API, once it answers. Run by the Helm chart's import Job
// (templates/kibana-import.yaml) in the llm-logger image (Node 22: fetch, FormData, Blob):
//   DASHBOARDS_URL=https://kibana:5601 [DASHBOARDS_FLAVOR=kibana|opensearch-dashboards]
//   [DASHBOARDS_USERNAME=… DASHBOARDS_PASSWORD=…] [WAIT_SECONDS=1200] node import-saved-objects.mjs objects.ndjson
// Exit 0 when every object was imported, 1 otherwise (the Job retries).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const file = process.argv[2];
const base = (process.env.DASHBOARDS_URL ?? '').replace(/\/$/, '');
const flavor = process.env.DASHBOARDS_FLAVOR ?? 'kibana';
const waitMs = Number(process.env.WAIT_SECONDS ?? '1200') * 1000;
if (!file || !base) {
  console.error('usage: DASHBOARDS_URL=… node import-saved-objects.mjs <file.ndjson>');
  process.exit(2);
}
if (flavor !== 'kibana' && flavor !== 'opensearch-dashboards') {
  console.error(`DASHBOARDS_FLAVOR must be kibana or opensearch-dashboards, not ${flavor}`);
  process.exit(2);
}
const headers = { [flavor === 'kibana' ? 'kbn-xsrf' : 'osd-xsrf']: 'true' };
if (process.env.DASHBOARDS_USERNAME) {
  headers.authorization = `Basic ${Buffer.from(`${process.env.DASHBOARDS_USERNAME}:${process.env.DASHBOARDS_PASSWORD ?? ''}`).toString('base64')}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deadline = Date.now() + waitMs;
for (;;) {
  const status = await fetch(`${base}/api/status`, { headers }).then((r) => r.status, (e) => e.message);
  if (status === 200) break;
  if (Date.now() > deadline) {
    console.error(`${base}/api/status still answers ${status} after ${waitMs / 1000} s`);
    process.exit(1);
  }
  console.log(`waiting for ${base} (${status})`);
  await sleep(5_000);
}

const form = new FormData();
form.append('file', new Blob([readFileSync(file)], { type: 'application/ndjson' }), basename(file));
const res = await fetch(`${base}/api/saved_objects/_import?overwrite=true`, { method: 'POST', headers, body: form });
const body = await res.json().catch(() => ({}));
if (!res.ok || body.success !== true) {
  console.error(`import failed: ${res.status} ${JSON.stringify(body).slice(0, 2000)}`);
  process.exit(1);
}
console.log(`imported ${body.successCount} saved objects into ${base}`);
