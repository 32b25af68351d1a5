import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { loadPriceTable } from '../../services/shared/pricing';
import { startCli, type RunningCli } from '../support/processes';
import { readInferenceEvents } from '../support/read-log';
import { waitFor } from '../support/roller-process';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';

/**
 * `llm-logger gateway` as a real process with LLM_LOGGER_PRICES_FILE: a new
 * file on disk, or SIGHUP, puts new prices (and their version) in force for the
 * next calls without a restart; a bad file is refused with a log line naming
 * the problem, and the prices in force stay.
 *
 * The prices file is a symlink, as Kubernetes mounts a ConfigMap: replacing the
 * link is a change in the watched directory; editing its target in place, in
 * another directory, is not, so only SIGHUP can pick that one up.
 */

const BUNDLED = loadPriceTable().version;

let upstream: StandIn;
let cli: RunningCli;
let root: string;
let dataDir: string;
let pricesPath: string;
let generation = 0;

function prices(version: string | null, input: unknown, output: number): string {
  return [
    ...(version === null ? [] : [`version: ${version}`]),
    'models:',
    `  - { provider: openai, model: gpt-4o-mini, input: ${JSON.stringify(input)}, output: ${output} }`,
    '',
  ].join('\n');
}

/** Points the prices symlink at a new file (written first, then the link swapped atomically). */
function publish(text: string): string {
  generation += 1;
  const target = join(root, 'versions', `prices-${generation}.yaml`);
  writeFileSync(target, text);
  const link = join(root, 'config', `.next-${generation}`);
  symlinkSync(target, link);
  renameSync(link, pricesPath);
  return target;
}

async function call(): Promise<InferenceEvent> {
  const res = await fetch(`${cli.gatewayUrl}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What do prices cost today?' }] }),
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  const id = res.headers.get('x-llm-request-id')!;
  let event: InferenceEvent | undefined;
  await waitFor(
    async () => (event = (await readInferenceEvents(dataDir)).find((e) => e.event_id === id)) !== undefined,
    10_000,
    () => `event ${id} not in the log`,
  );
  return event!;
}

function expectPriced(event: InferenceEvent, version: string, input: number, output: number): void {
  expect(event.price_version).toBe(version);
  expect(event.cost_micro_usd).toBe(event.usage.input_tokens! * input + event.usage.output_tokens! * output);
}

/** Waits for a log line after `from` (the output's length when the change was made). */
async function logLine(from: number, pattern: RegExp): Promise<string> {
  let line = '';
  await waitFor(
    () => {
      line = cli.output().slice(from).split('\n').find((l) => pattern.test(l)) ?? '';
      return line !== '';
    },
    10_000,
    () => `no log line matching ${pattern} in:\n${cli.output().slice(from)}`,
  );
  return line;
}

async function metrics(): Promise<string> {
  return (await fetch(`${cli.gatewayUrl}/metrics`)).text();
}

beforeAll(async () => {
  upstream = await startStandIn();
  root = mkdtempSync(join(tmpdir(), 'llm-logger-prices-'));
  dataDir = join(root, 'data');
  mkdirSync(join(root, 'versions'));
  mkdirSync(join(root, 'config'));
  pricesPath = join(root, 'config', 'prices.yaml');
  publish(prices('r1', 1, 2));
  cli = await startCli(
    {
      LLM_LOGGER_DATA_DIR: dataDir,
      LLM_LOGGER_PRICES_FILE: pricesPath,
      LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url,
      LLM_LOGGER_LOG_LEVEL: 'info',
    },
    ['gateway'],
  );
});

afterAll(async () => {
  cli?.child.kill('SIGTERM');
  await cli?.exited;
  await upstream.close();
  rmSync(root, { recursive: true, force: true });
});

test('new prices on disk or on SIGHUP apply to the next calls; a bad file changes nothing', async () => {
  expectPriced(await call(), `${BUNDLED}+custom:r1`, 1, 2);
  expect(await metrics()).toContain(`llm_logger_gateway_price_version_info{version="${BUNDLED}+custom:r1"} 1`);

  // A new file in the watched place: picked up by itself.
  let mark = cli.output().length;
  publish(prices('r2', 3, 5));
  expect(await logLine(mark, /"msg":"prices reloaded"/)).toContain(`"version":"${BUNDLED}+custom:r2","previous":"${BUNDLED}+custom:r1"`);
  expectPriced(await call(), `${BUNDLED}+custom:r2`, 3, 5);

  // A bad file: refused, naming the variable, the file and the field; r2 stays in force.
  mark = cli.output().length;
  publish(prices('r3', -1, 5));
  const refused = await logLine(mark, /prices not reloaded/);
  expect(refused).toContain('"level":50');
  expect(refused).toContain(`LLM_LOGGER_PRICES_FILE=${pricesPath}: file.models[0].input`);
  expectPriced(await call(), `${BUNDLED}+custom:r2`, 3, 5);

  // Not YAML at all: the same.
  mark = cli.output().length;
  publish('models: [ { provider: openai');
  expect(await logLine(mark, /prices not reloaded/)).toContain('not valid YAML or JSON');
  expectPriced(await call(), `${BUNDLED}+custom:r2`, 3, 5);

  // Other prices under the version label in force would make the events lie about their prices.
  mark = cli.output().length;
  const target = publish(prices('r2', 4, 5));
  expect(await logLine(mark, /prices not reloaded/)).toContain('the prices changed but their version label \\"r2\\" did not');
  expectPriced(await call(), `${BUNDLED}+custom:r2`, 3, 5);

  // Edited in place behind the link (no change in the watched directory): SIGHUP reloads it.
  writeFileSync(target, prices(null, 7, 11));
  mark = cli.output().length;
  cli.child.kill('SIGHUP');
  const reloaded = await logLine(mark, /"msg":"prices reloaded"/);
  expect(reloaded).toContain('"trigger":"SIGHUP"');
  const hashed = /"version":"([^"]+)"/.exec(reloaded)![1]!;
  expect(hashed).toMatch(new RegExp(`^${BUNDLED.replace(/\./g, '\\.')}\\+custom:[0-9a-f]{12}$`));
  expectPriced(await call(), hashed, 7, 11);

  const text = await metrics();
  expect(text).toContain(`llm_logger_gateway_price_version_info{version="${hashed}"} 1`);
  expect(text).toContain('llm_logger_gateway_price_reloads_total{result="applied"} 2');
  expect(text).toContain('llm_logger_gateway_price_reloads_total{result="refused"} 3');
  // The process is still the one started at the beginning.
  expect(cli.child.exitCode).toBeNull();
});

test('a bad prices file stops the start with the field named', async () => {
  const bad = join(root, 'bad-prices.yaml');
  writeFileSync(bad, prices('x', 'two', 5));
  await expect(
    startCli({ LLM_LOGGER_DATA_DIR: join(root, 'data-bad'), LLM_LOGGER_PRICES_FILE: bad, LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url }, ['gateway']),
  ).rejects.toThrow(new RegExp(`exited with 2 before starting:[^]*LLM_LOGGER_PRICES_FILE=${bad.replace(/[.]/g, '\\.')}: file\\.models\\[0\\]\\.input`));
});
