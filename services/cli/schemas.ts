import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOPOLOGY, type TopicSpec } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { isLlmLoggerError, LlmLoggerError } from '../shared/errors';
import { SCHEMAS_DIR } from '../shared/event/inference-event';
import { ConfluentRegistryClient } from '../shared/log/kafka/registry-client';

interface Output {
  write(text: string): unknown;
}

export interface SchemasCommandOptions {
  /** Topics whose value schemas are registered; TOPOLOGY unless a test passes renamed copies. */
  topics?: readonly (Pick<TopicSpec, 'valueSchema'> & { name: string })[];
  /** Where the *.avsc files are; schemas/ unless a test passes another directory. */
  schemasDir?: string;
  stdout?: Output;
  stderr?: Output;
}

export interface SubjectRegistration {
  subject: string;
  topic: string;
  /** Every version of the topic's schema, oldest first. */
  files: string[];
}

const SCHEMA_FILE = /^(.+)\.v(\d+)\.avsc$/;

/** TopicNameStrategy, as Confluent serializers use it: `<topic>-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * Which files go under which subject, from the file names alone: a topic's
 * `valueSchema` names one version of a schema (`<name>.v<N>.avsc`), and every
 * version of that schema is registered under the topic's subject, in order.
 * A file no topic uses is a problem: it could never be registered.
 */
export function planSchemaRegistrations(
  files: readonly string[],
  topics: readonly (Pick<TopicSpec, 'valueSchema'> & { name: string })[],
): { registrations: SubjectRegistration[]; problems: string[] } {
  const problems: string[] = [];
  const families = new Map<string, { version: number; file: string }[]>();
  for (const file of files.filter((f) => f.endsWith('.avsc'))) {
    const m = SCHEMA_FILE.exec(file);
    if (!m) {
      problems.push(`schemas/${file}: schema files are named <name>.v<N>.avsc`);
      continue;
    }
    const list = families.get(m[1]!) ?? [];
    list.push({ version: Number(m[2]), file });
    families.set(m[1]!, list);
  }
  const used = new Set<string>();
  const registrations: SubjectRegistration[] = [];
  for (const topic of topics) {
    if (topic.valueSchema === null) continue;
    const m = SCHEMA_FILE.exec(topic.valueSchema);
    const family = m ? families.get(m[1]!) : undefined;
    if (!m || !family?.some((v) => v.file === topic.valueSchema)) {
      problems.push(`topic ${topic.name} declares value schema ${topic.valueSchema}, which is not in schemas/`);
      continue;
    }
    used.add(m[1]!);
    registrations.push({
      subject: valueSubject(topic.name),
      topic: topic.name,
      files: [...family].sort((a, b) => a.version - b.version).map((v) => v.file),
    });
  }
  for (const [name, versions] of families) {
    if (!used.has(name)) {
      for (const v of versions) problems.push(`schemas/${v.file}: no topic in topology/ has it as its valueSchema, so it has no subject`);
    }
  }
  return { registrations, problems };
}

/**
 * `llm-logger schemas register`: every schema version under its topic's
 * subject, oldest first, with the subject's compatibility set to BACKWARD
 * so the registry refuses a version that cannot read the data before it.
 * Registering again is harmless: the registry answers the same ids.
 */
export async function runSchemas(args: string[], config: Config, options: SchemasCommandOptions = {}): Promise<number> {
  const out = options.stdout ?? process.stdout;
  const err = options.stderr ?? process.stderr;
  const dir = options.schemasDir ?? SCHEMAS_DIR;
  if (args.length !== 1 || args[0] !== 'register') {
    err.write('usage: llm-logger schemas register\n');
    return 2;
  }
  const url = config.log.schemaRegistryUrl;
  if (!url) {
    err.write('llm-logger schemas register: LLM_LOGGER_SCHEMA_REGISTRY_URL is not set\n');
    return 2;
  }
  const { registrations, problems } = planSchemaRegistrations(readdirSync(dir).sort(), options.topics ?? TOPOLOGY);
  if (problems.length > 0) {
    for (const p of problems) err.write(`${p}\n`);
    err.write('nothing was registered\n');
    return 1;
  }
  const registry = new ConfluentRegistryClient({
    url,
    username: config.log.schemaRegistryAuth?.username,
    password: config.log.schemaRegistryAuth?.password,
  });
  for (const { subject, files } of registrations) {
    await registry.setCompatibility(subject, 'BACKWARD');
    for (const file of files) {
      const schema = readFileSync(join(dir, file), 'utf8');
      let id: number;
      try {
        // Registering a version that is already there answers its id; a new one is checked against the latest.
        id = await registry.register(subject, schema);
      } catch (e) {
        if (isLlmLoggerError(e, 'EVENT_INVALID')) {
          err.write(
            `schemas/${file} is not BACKWARD compatible with the latest version under ${subject}: ` +
              `it was not registered (nor anything after it)\n`,
          );
          return 1;
        }
        throw new LlmLoggerError(isLlmLoggerError(e) ? e.code : 'LOG_UNAVAILABLE', `schemas/${file}: ${(e as Error).message}`, {
          cause: e,
          retriable: isLlmLoggerError(e) && e.retriable,
        });
      }
      out.write(`${subject}  ${file}  id ${id}\n`);
    }
  }
  return 0;
}
