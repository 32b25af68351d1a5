import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TOPOLOGY } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { renderStrimziFiles, renderStrimziYaml, type RenderedTopic } from '../shared/log/kafka/strimzi-render';
import { KafkaTopologyAdmin } from '../shared/log/kafka/topology-admin';
import { planChangesSomething, type TopologyPlan } from '../shared/log/kafka/topology-plan';

interface Output {
  write(text: string): unknown;
}

export interface TopologyCommandOptions {
  /** The topics to apply or render; TOPOLOGY unless a test passes renamed copies. */
  topics?: readonly RenderedTopic[];
  stdout?: Output;
  stderr?: Output;
}

const USAGE = 'usage: llm-logger topology apply | render [--out dir]\n';

/** One line per planned action, in the order they are applied. */
export function describePlan(plan: TopologyPlan): string[] {
  const lines: string[] = [];
  for (const c of plan.create) {
    const configs = Object.entries(c.configs).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`create      ${c.topic}: ${c.partitions} partitions, replication factor ${c.replicationFactor}, ${configs}`);
  }
  for (const p of plan.addPartitions) lines.push(`partitions  ${p.topic}: ${p.from} -> ${p.to}`);
  for (const a of plan.alterConfigs) {
    const changes = Object.entries(a.changes).map(([k, { from, to }]) => `${k} ${from ?? '(unset)'} -> ${to}`).join(', ');
    lines.push(`config      ${a.topic}: ${changes}`);
  }
  for (const t of plan.unchanged) lines.push(`unchanged   ${t}`);
  return lines;
}

async function apply(config: Config, topics: readonly RenderedTopic[], out: Output, err: Output): Promise<number> {
  const brokers = config.log.kafkaBrokers;
  if (!brokers) {
    err.write('llm-logger topology apply: LLM_LOGGER_KAFKA_BROKERS is not set (the embedded log needs no topics)\n');
    return 2;
  }
  const replicationFactor = config.log.kafka.replicationFactor;
  const admin = await KafkaTopologyAdmin.connect(brokers, config.log.kafka);
  try {
    const plan = await admin.plan(topics, { replicationFactor });
    if (plan.refusals.length > 0) {
      // All or nothing: applying the possible part would leave a topology nobody declared.
      for (const r of plan.refusals) err.write(`refused: ${r.reason}\n`);
      err.write('nothing was changed: bring topology/ and the cluster into agreement, then run topology apply again\n');
      return 1;
    }
    if (replicationFactor !== null) out.write(`replication factor ${replicationFactor} for every topic (LLM_LOGGER_KAFKA_REPLICATION_FACTOR)\n`);
    for (const line of describePlan(plan)) out.write(`${line}\n`);
    if (!planChangesSomething(plan)) {
      out.write('nothing to change: every topic matches topology/\n');
      return 0;
    }
    await admin.apply(plan);
    out.write(
      `applied: ${plan.create.length} created, ${plan.addPartitions.length} with more partitions, ` +
        `${plan.alterConfigs.length} reconfigured, ${plan.unchanged.length} unchanged\n`,
    );
    return 0;
  } finally {
    await admin.close();
  }
}

function render(config: Config, topics: readonly RenderedTopic[], outDir: string | undefined, out: Output, err: Output): number {
  const replicationFactor = config.log.kafka.replicationFactor;
  if (replicationFactor !== null) {
    err.write(
      `llm-logger topology render: replication factor ${replicationFactor} from LLM_LOGGER_KAFKA_REPLICATION_FACTOR ` +
        `(the checked-in strimzi/ files use topology/'s own)\n`,
    );
  }
  if (outDir === undefined) {
    out.write(renderStrimziYaml(topics, { replicationFactor }));
    return 0;
  }
  const files = renderStrimziFiles(topics, { replicationFactor });
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of [
    ['topics.yaml', files.topics],
    ['users.yaml', files.users],
  ] as const) {
    writeFileSync(join(outDir, name), text);
    out.write(`wrote ${join(outDir, name)}\n`);
  }
  return 0;
}

/** `llm-logger topology apply|render [--out dir]`. */
export async function runTopology(args: string[], config: Config, options: TopologyCommandOptions = {}): Promise<number> {
  const out = options.stdout ?? process.stdout;
  const err = options.stderr ?? process.stderr;
  const topics = options.topics ?? TOPOLOGY;
  let parsed;
  try {
    parsed = parseArgs({ args, options: { out: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (e) {
    err.write(`llm-logger topology: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [sub, ...extra] = parsed.positionals;
  if (extra.length > 0 || (sub === 'apply' && parsed.values.out !== undefined)) {
    err.write(USAGE);
    return 2;
  }
  if (sub === 'apply') return apply(config, topics, out, err);
  if (sub === 'render') return render(config, topics, parsed.values.out, out, err);
  err.write(USAGE);
  return 2;
}
