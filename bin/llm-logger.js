#!/usr/bin/env node
'use strict';
// Entry point of the `llm-logger` command (also the container entrypoint).
// Runs the compiled CLI; `npm ci` builds it (the `prepare` script).
const { main } = require('../dist/services/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`llm-logger: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(err && err.code === 'CONFIG_INVALID' ? 2 : 1);
  },
);
