import type { BrowserContext, Page } from 'playwright-core';

/**
 * With TEST_CLOCK_SHIFT_MS set (see clock-shift.js), the dashboard in
 * Chromium runs on the shifted clock too: its "last hour" must be the tests'
 * last hour. Call before the first navigation; without the variable it does nothing.
 */
export async function shiftBrowserClock(target: Page | BrowserContext): Promise<void> {
  const shift = Number(process.env.TEST_CLOCK_SHIFT_MS || 0);
  if (!shift) return;
  await target.addInitScript((ms: number) => {
    const RealDate = Date;
    function ShiftedDate(this: unknown, ...args: unknown[]): Date | string {
      if (!new.target) return new RealDate(RealDate.now() + ms).toString();
      if (args.length === 0) return new RealDate(RealDate.now() + ms);
      return new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
    }
    ShiftedDate.prototype = RealDate.prototype;
    ShiftedDate.now = () => RealDate.now() + ms;
    ShiftedDate.parse = RealDate.parse;
    ShiftedDate.UTC = RealDate.UTC;
    (globalThis as unknown as { Date: unknown }).Date = ShiftedDate;
  }, shift);
}
