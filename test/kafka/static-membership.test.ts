import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TOPICS } from '../../topology/topics';
import { loadConfig } from '../../services/shared/config/config';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { KafkaEventLog } from '../../services/shared/log/kafka/kafka-log';
import { ConfluentRegistryClient } from '../../services/shared/log/kafka/registry-client';
import { embeddedIndexPath } from '../../services/indexer/adapters/sqlite-index';
import { createLogger } from '../../services/shared/observability/logger';
import { describeWithInfra } from '../support/infra';
import { startGroupAtEnd } from '../support/kafka-group';
import { ensureTopics } from '../support/kafka-topics';
import { describeGroup, killRoleProcesses, startRoleProcess, type RoleProcess } from '../support/role-process';
import { sampleEvent } from '../support/sample-event';

/**
 * Static group membership on the real broker, with two indexers as real
 * processes in a group of the test's own: a member killed with -9 and
 * started again under its LLM_LOGGER_INSTANCE takes its place back at once
 * (the other member is not disturbed), a clean stop leaves the group at once,
 * and a second process under a live member's instance id fences it. The
 * session timeout is 2 minutes, longer than the test waits for anything: what
 * happens, happens without it.
 */

describeWithInfra('static group membership (indexer processes on Kafka)', (settings) => {
  const run = randomUUID().slice(0, 8);
  const group = `llm-logger-indexer-test-static-${run}`;
  const dirs = { a: mkdtempSync(join(tmpdir(), 'llm-logger-static-a-')), b: mkdtempSync(join(tmpdir(), 'llm-logger-static-b-')) };
  const instances = { a: `static-a-${run}`, b: `static-b-${run}` };
  let log: KafkaEventLog;
  let sent = 0;
  const app = `static-${run}`;
  const env = (who: 'a' | 'b'): Record<string, string> => ({
    LLM_LOGGER_KAFKA_BROKERS: settings().brokers,
    LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl,
    LLM_LOGGER_DATA_DIR: dirs[who],
    LLM_LOGGER_INSTANCE: instances[who],
    LLM_LOGGER_KAFKA_SESSION_TIMEOUT_MS: '120000',
  });
  const members = () => describeGroup(settings().brokers, group, TOPICS.inference);
  const of = <M extends { memberId: string }>(who: 'a' | 'b', list: M[]): M[] => list.filter((m) => m.memberId.startsWith(`${instances[who]}-`));

  /** 24 batches: every partition of llm.inference.v1 gets some (one batch, one partition). */
  async function send(): Promise<void> {
    const serde = await inferenceEventSerde(log.schemaRegistry);
    for (let b = 0; b < 24; b++) {
      const events = Array.from({ length: 5 }, () => sampleEvent({ event_id: randomUUID(), app, started_at: Date.now() - 500, ended_at: Date.now() }));
      await log.append(TOPICS.inference, events.map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })));
      sent += events.length;
    }
  }

  /** Calls of the run indexed by either indexer (each has an embedded index of its own). */
  function indexed(): number {
    const ids = new Set<string>();
    for (const dir of Object.values(dirs)) {
      if (!existsSync(embeddedIndexPath(dir))) continue;
      const db = new Database(embeddedIndexPath(dir), { readonly: true });
      for (const r of db.prepare<[string], { event_id: string }>('SELECT event_id FROM docs WHERE app = ?').all(app)) ids.add(r.event_id);
      db.close();
    }
    return ids.size;
  }

  async function until(what: () => string | null, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what() ?? ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  let a: RoleProcess;
  let b: RoleProcess;

  beforeAll(async () => {
    await ensureTopics(settings().brokers);
    await startGroupAtEnd(settings().brokers, group, TOPICS.inference);
    const config = loadConfig({ LLM_LOGGER_KAFKA_BROKERS: settings().brokers, LLM_LOGGER_SCHEMA_REGISTRY_URL: settings().registryUrl });
    log = new KafkaEventLog({ brokers: config.log.kafkaBrokers!, settings: config.log.kafka, registry: new ConfluentRegistryClient({ url: settings().registryUrl }), logger: createLogger('warn', 'test') });
    a = await startRoleProcess('indexer', group, env('a'));
    b = await startRoleProcess('indexer', group, env('b'));
    await until(
      () => 'two members sharing the partitions',
      async () => {
        const g = await members();
        return g.state === 'Stable' && g.members.length === 2 && g.members.every((m) => m.partitions.length > 0);
      },
    );
  }, 120_000);

  afterAll(async () => {
    killRoleProcesses();
    await log?.close();
    for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  });

  test('killed -9 and started again as the same instance, a member takes its partitions back; the other one keeps its own', async () => {
    const before = await members();
    a.child.kill('SIGKILL');
    await a.exited;
    a = await startRoleProcess('indexer', group, env('a'));
    await send();
    // Every partition is read again, the dead member's too, long before its 2-minute session could end.
    await until(() => `${indexed()} of ${sent} indexed; ${JSON.stringify(before)}`, () => indexed() === sent);
    const after = await members();
    expect(after.state).toBe('Stable');
    expect(after.members).toHaveLength(2);
    // The other member was not rebalanced: same member id, same partitions.
    expect(of('b', after.members)).toEqual(of('b', before.members));
    // The restarted one replaced its dead self (a new member id) with the same partitions.
    const [oldA, newA] = [of('a', before.members)[0]!, of('a', after.members)[0]!];
    expect(newA.memberId).not.toBe(oldA.memberId);
    expect(newA.partitions).toEqual(oldA.partitions);
  }, 120_000);

  test('a clean stop leaves the group at once: the other member takes every partition', async () => {
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    // Without a LeaveGroup a static member would stay listed for its 2-minute session.
    expect(of('b', (await members()).members)).toEqual([]);
    await send();
    await until(() => `${indexed()} of ${sent} indexed`, () => indexed() === sent);
    const g = await members();
    expect(g.members).toHaveLength(1);
    expect(of('a', g.members)[0]!.partitions).toHaveLength(12);
  }, 120_000);

  test('a second process under a live member\'s instance id fences it: the fenced one stops and exits 1, naming the setting', async () => {
    const impostor = await startRoleProcess('indexer', group, { ...env('a'), LLM_LOGGER_DATA_DIR: dirs.b });
    expect(await a.exited).toBe(1);
    expect(a.output()).toMatch(/kafka consumer fenced: another process joined group [^ ]+ as instance static-a-[0-9a-f]+ \(LLM_LOGGER_INSTANCE must be unique per process\)/);
    // The one that took over goes on.
    await send();
    await until(() => `${indexed()} of ${sent} indexed`, () => indexed() === sent);
    impostor.child.kill('SIGTERM');
    expect(await impostor.exited).toBe(0);
  }, 120_000);
});
