#!/usr/bin/env node
'use strict';
/**
 * `npm test` runs jest through this: jest in a child process, with its results
 * also written as JSON. Once jest has written them it has finished; if it then
 * does not exit within a minute, it is ended and the outcome comes from its
 * own results, so a test run can never hang CI. What held it: a Kafka
 * consumer whose close was still running on libuv's thread pool when jest
 * force-exited (the exit waits for that thread). A consumer of an unreachable
 * cluster (the spool tests) closes only when librdkafka gives up (~15 s); two
 * members of one group closing at the same moment in one process could block
 * ~45 s (the roller's Kafka test now closes them one after the other).
 */
const { spawn } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { setInterval, clearInterval, setTimeout } = require('node:timers');

const EXIT_GRACE_MS = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'llm-logger-jest-'));
const results = join(dir, 'results.json');
const child = spawn(process.execPath, [require.resolve('jest/bin/jest'), '--forceExit', '--json', `--outputFile=${results}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
});

function finish(code) {
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}

child.on('exit', (code, signal) => finish(code ?? (signal ? 1 : 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));

const watch = setInterval(() => {
  if (!existsSync(results)) return;
  clearInterval(watch);
  setTimeout(() => {
    let success = false;
    try {
      success = JSON.parse(readFileSync(results, 'utf8')).success === true;
    } catch {
      // unreadable results: a failure
    }
    process.stderr.write(`jest wrote its results (${success ? 'passed' : 'failed'}) but did not exit within ${EXIT_GRACE_MS / 1000} s: ending it\n`);
    child.kill('SIGKILL');
    finish(success ? 0 : 1);
  }, EXIT_GRACE_MS).unref();
}, 1_000);
watch.unref();
