#!/usr/bin/env node
'use strict';
/**
 * `npm test` runs jest through this, in two runs: every suite but the broker
 * outage, then the broker outage suite on its own (it stops and restarts the
 * shared broker). The second run happens whatever the first gave, so one
 * failure never hides the other run's outcome; the exit code is non-zero if
 * either failed. With arguments, it runs jest once with them.
 *
 * A test run can never hang CI:
 * - Once jest has written its results it has finished; if it then does not
 *   exit within a minute, it is ended and the outcome comes from its own
 *   results. What held it: a Kafka consumer whose close was still running on
 *   libuv's thread pool when jest force-exited (the exit waits for that
 *   thread).
 * - A run that has not written its results by its deadline
 *   (JEST_RUN_DEADLINE_MS, default 40 min; the whole suite takes under 10) is
 *   ended and fails, naming the deadline: a hang inside a test (native code
 *   blocking the event loop, where jest's own timeouts cannot fire) cannot
 *   hold CI until its limit.
 * Each jest process gets its own process group, so ending it also ends the
 * processes the tests started (CLI roles, Chromium).
 */
const { spawn } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { setInterval, clearInterval, setTimeout, clearTimeout } = require('node:timers');

const EXIT_GRACE_MS = 60_000;
const RUN_DEADLINE_MS = Number(process.env.JEST_RUN_DEADLINE_MS || 40 * 60_000);
const ISOLATED = 'broker-outage';
const RUNS = process.argv.length > 2 ? [process.argv.slice(2)] : [['--testPathIgnorePatterns', ISOLATED], ['--testPathPatterns', ISOLATED]];

let current = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) killGroup(current, sig);
    process.exit(1);
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** One jest run; resolves with whether it passed. */
function runJest(args) {
  const dir = mkdtempSync(join(tmpdir(), 'llm-logger-jest-'));
  const results = join(dir, 'results.json');
  const passed = () => {
    try {
      return JSON.parse(readFileSync(results, 'utf8')).success === true;
    } catch {
      return false; // unreadable results: a failure
    }
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve('jest/bin/jest'), '--forceExit', '--json', `--outputFile=${results}`, ...args], {
      stdio: 'inherit',
      detached: true, // its own process group: see killGroup
    });
    current = child;
    let settled = false;
    const finish = (ok) => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      clearTimeout(deadline);
      current = null;
      rmSync(dir, { recursive: true, force: true });
      resolve(ok);
    };
    child.on('exit', (code, signal) => {
      // The tests' own processes must not outlive their run.
      killGroup(child, 'SIGKILL');
      finish(code === 0 && !signal);
    });
    const watch = setInterval(() => {
      if (!existsSync(results)) return;
      clearInterval(watch);
      clearTimeout(deadline);
      setTimeout(() => {
        const ok = passed();
        process.stderr.write(`jest wrote its results (${ok ? 'passed' : 'failed'}) but did not exit within ${EXIT_GRACE_MS / 1000} s: ending it\n`);
        killGroup(child, 'SIGKILL');
        finish(ok);
      }, EXIT_GRACE_MS).unref();
    }, 1_000);
    const deadline = setTimeout(() => {
      process.stderr.write(`jest did not finish within JEST_RUN_DEADLINE_MS (${RUN_DEADLINE_MS / 60_000} min): ending it; the run fails\n`);
      killGroup(child, 'SIGKILL');
      finish(false);
    }, RUN_DEADLINE_MS);
  });
}

(async () => {
  let ok = true;
  for (const args of RUNS) ok = (await runJest(args)) && ok;
  process.exit(ok ? 0 : 1);
})();
