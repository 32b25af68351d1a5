'use strict';
/**
 * Moves this process's JavaScript clock by TEST_CLOCK_SHIFT_MS (e.g. a
 * year ahead) to prove that no test depends on today's date. Loaded by jest in
 * every test file's context (setupFiles) and, through NODE_OPTIONS=--require,
 * in every Node process and worker thread the tests start. Without the variable
 * it does nothing.
 *
 * Why not Debian's faketime: libfaketime shifts CLOCK_REALTIME for the whole
 * process, and librdkafka's timed waits (absolute CLOCK_REALTIME deadlines)
 * then never wake, so no Kafka client connects; the JVMs of infra/dev spin.
 * Every timestamp the project makes comes from Date.now() (Kafka record
 * timestamps too: the producer passes them), so shifting Date shifts them all.
 */
const shift = Number(process.env.TEST_CLOCK_SHIFT_MS || 0);
if (shift && !globalThis.Date.__llmLoggerShifted) {
  const RealDate = globalThis.Date;
  // A plain function that returns real Date objects (not a subclass): Date's methods stay native and fast.
  const ShiftedDate = function Date(...args) {
    if (!new.target) return new RealDate(RealDate.now() + shift).toString();
    if (args.length === 0) return new RealDate(RealDate.now() + shift);
    return args.length === 1 ? new RealDate(args[0]) : new RealDate(...args);
  };
  ShiftedDate.prototype = RealDate.prototype;
  ShiftedDate.now = () => RealDate.now() + shift;
  ShiftedDate.parse = RealDate.parse;
  ShiftedDate.UTC = RealDate.UTC;
  Object.defineProperty(ShiftedDate, '__llmLoggerShifted', { value: true });
  globalThis.Date = ShiftedDate;
}

/*
 * Processes the tests start carry the shift too. Test helpers give children an
 * explicit environment (`{ PATH, ...settings }`, so a developer's own
 * LLM_LOGGER_* variables cannot leak into a test); with the shift on, the
 * child_process functions add the two variables the shift needs to any such
 * environment that lacks them.
 */
if (shift) {
  const cp = require('node:child_process');
  const marker = Symbol.for('llm-logger.clock-shift.child-process');
  if (!cp[marker]) {
    Object.defineProperty(cp, marker, { value: true });
    const withShift = (opts) => {
      if (!opts || typeof opts !== 'object' || !opts.env || opts.env.TEST_CLOCK_SHIFT_MS !== undefined) return opts;
      const nodeOptions = [opts.env.NODE_OPTIONS, `--require=${__filename}`].filter(Boolean).join(' ');
      return { ...opts, env: { ...opts.env, TEST_CLOCK_SHIFT_MS: String(shift), NODE_OPTIONS: nodeOptions } };
    };
    // (file, args?, options?, ...): the options follow the arguments when there are any.
    for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork']) {
      const real = cp[name];
      cp[name] = function (file, ...rest) {
        const i = Array.isArray(rest[0]) ? 1 : 0;
        if (rest.length > i) rest[i] = withShift(rest[i]);
        return real.call(this, file, ...rest);
      };
    }
    // (command, options?, ...)
    for (const name of ['exec', 'execSync']) {
      const real = cp[name];
      cp[name] = function (command, ...rest) {
        if (rest.length > 0) rest[0] = withShift(rest[0]);
        return real.call(this, command, ...rest);
      };
    }
  }
}
