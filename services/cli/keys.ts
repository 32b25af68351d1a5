import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type * as Yaml from 'yaml';
import type { Config } from '../shared/config/config';
import { KEY_ID, MIN_KEY_CHARS, parseKeyFile, sha256Hex } from '../gateway/core/gateway-keys';

interface Output {
  write(text: string): unknown;
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

/** `llm-logger keys hash|add`. Returns the exit code. */
export function runKeys(
  args: string[],
  loadConfig: () => Config,
  io: { stdout: Output; stderr: Output; stdin?: () => string } = { stdout: process.stdout, stderr: process.stderr },
): number {
  const [sub, ...rest] = args;
  const fail = (message: string): number => {
    io.stderr.write(`llm-logger keys: ${message}\n`);
    return 2;
  };
  if (sub === 'hash') {
    const key = (rest[0] ?? (io.stdin ?? readStdin)().split(/\r?\n/)[0] ?? '').trim();
    if (key.length < MIN_KEY_CHARS) return fail(`a gateway key must be at least ${MIN_KEY_CHARS} characters (make one with \`llm-logger keys add\`)`);
    io.stdout.write(`${sha256Hex(key)}\n`);
    return 0;
  }
  if (sub !== 'add') return fail(`unknown subcommand ${JSON.stringify(sub ?? '')}: use hash or add (llm-logger keys --help)`);

  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        id: { type: 'string' },
        user: { type: 'string' },
        app: { type: 'string' },
        team: { type: 'string' },
        upstreams: { type: 'string' },
        'allow-user-header': { type: 'boolean' },
        'budget-usd': { type: 'string' },
        'budget-period': { type: 'string' },
        file: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!values.id || !KEY_ID.test(values.id)) return fail(`--id is required and must match ${KEY_ID.source}`);
  if ((values['budget-usd'] === undefined) !== (values['budget-period'] === undefined)) return fail('--budget-usd and --budget-period go together');
  const key = `llmk_${randomBytes(32).toString('base64url')}`;
  const entry: Record<string, unknown> = { id: values.id, sha256: sha256Hex(key) };
  if (values.user) entry.user = values.user;
  if (values.app) entry.app = values.app;
  if (values.team) entry.team = values.team;
  if (values.upstreams) entry.upstreams = values.upstreams.split(',').map((u) => u.trim()).filter(Boolean);
  if (values['allow-user-header']) entry.allowUserHeader = true;
  if (values['budget-usd'] !== undefined) entry.budget = { usd: Number(values['budget-usd']), period: values['budget-period'] };

  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by this command only
  const yaml = require('yaml') as typeof Yaml;
  const file = values.file;
  const doc = file && existsSync(file) ? yaml.parseDocument(readFileSync(file, 'utf8')) : new yaml.Document({ keys: [] });
  if (doc.errors.length > 0) return fail(`${file}: not valid YAML (${doc.errors[0]!.message})`);
  if (!doc.has('keys')) doc.set('keys', doc.createNode([]));
  (doc.get('keys') as Yaml.YAMLSeq).add(doc.createNode(entry));
  const checked = parseKeyFile(doc.toJS(), new Set(loadConfig().gateway.upstreams.keys()));
  if ('problems' in checked) return fail(`${file ?? 'the new entry'}:\n  ${checked.problems.join('\n  ')}`);

  if (file) {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, doc.toString(), { mode: 0o600 });
    renameSync(tmp, file);
    io.stderr.write(`added key "${values.id}" to ${file}; the key below is shown once, only its SHA-256 is kept\n`);
  } else {
    io.stderr.write(`add this entry under "keys:" in the file of LLM_LOGGER_GATEWAY_KEYS_FILE; the key below is shown once\n`);
    io.stderr.write(yaml.stringify([entry]));
  }
  io.stdout.write(`${key}\n`);
  return 0;
}
