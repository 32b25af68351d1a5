import { runRoles, type RoleName } from '../services/cli/main';

/**
 * `llm-logger <role>` exactly as the CLI runs it (configuration from the
 * LLM_LOGGER_* environment, the same start, stop and exit codes), except that
 * the indexer or roller joins the consumer group named on the command line:
 * benchmarks and tests on a shared broker must not join the groups of other
 * runs. The console's groups are named after LLM_LOGGER_INSTANCE already, and
 * the aggregator's group cannot change (its changelog and output topics are
 * shared by every member): give it a unique LLM_LOGGER_INSTANCE instead.
 *
 *   node dist/bench/role-process.js indexer llm-logger-indexer-bench-1234
 */

const ROLES: readonly RoleName[] = ['aggregator', 'indexer', 'roller', 'console'];

function main(): Promise<number> {
  const [role, group] = process.argv.slice(2);
  if (!ROLES.includes(role as RoleName)) {
    process.stderr.write(`usage: role-process.js ${ROLES.join('|')} [group]\n`);
    return Promise.resolve(2);
  }
  const groups = group && (role === 'indexer' || role === 'roller') ? { [role]: group } : {};
  return runRoles([role as RoleName], undefined, { groups });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`role-process: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
