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
