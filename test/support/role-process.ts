import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { REPO_ROOT } from './processes';

/**
 * A consumer role as a real process (`dist/bench/role-process.js`: the CLI's
 * own start, stop and exit codes, with a group of the test's own for the
 * indexer and roller), and what the broker says about a group's members.
 */

const ROLE_PROCESS = join(REPO_ROOT, 'dist', 'bench', 'role-process.js');
const READY: Record<string, RegExp> = {
  aggregator: /aggregator health and metrics listening/,
  indexer: /"msg":"indexer running"/,
  roller: /"msg":"roller started"/,
  console: /"msg":"console listening"/,
};

export interface RoleProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

const running = new Set<ChildProcess>();

/** Kills every role process a test started and left running. */
export function killRoleProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export function startRoleProcess(role: 'aggregator' | 'indexer' | 'roller' | 'console', group: string | null, env: Record<string, string>): Promise<RoleProcess> {
  const child = spawn(process.execPath, [ROLE_PROCESS, role, ...(group ? [group] : [])], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LLM_LOGGER_METRICS_PORT: '0', LLM_LOGGER_CONSOLE_PORT: '0', LLM_LOGGER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (!READY[role]!.test(out)) return;
      clearInterval(timer);
      resolve({ child, exited, output: () => out });
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`${role} exited with ${code} before it was ready:\n${out.slice(-3000)}`));
    });
  });
}

export interface GroupMember {
  memberId: string;
  partitions: number[];
}

/** The group's state and members as the coordinator describes them (a static member's id starts with its instance id). */
export async function describeGroup(brokers: string, groupId: string, topic: string): Promise<{ state: string; members: GroupMember[] }> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    const members = (group?.members ?? []).map((m) => {
      const assignment = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      return { memberId: m.memberId, partitions: [...(assignment?.assignment[topic] ?? [])].sort((a, b) => a - b) };
    });
    return { state: group?.state ?? 'Dead', members: members.sort((a, b) => a.memberId.localeCompare(b.memberId)) };
  } finally {
    await admin.disconnect();
  }
}
