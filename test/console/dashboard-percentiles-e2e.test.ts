import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { infraRequired } from '../support/infra';
import { startCli, type RunningCli } from '../support/processes';
import { exactQuantile, relativeError, skewedTraffic, type SkewedTraffic } from '../support/skewed-latency';
import { shiftBrowserClock } from '../support/browser-clock';

/**
 * The overview's numbers over a range, in Debian's Chromium at 1,440 pixels
 * against `llm-logger start`: an hour with one slow minute (150 calls of
 * ~5 s among 3,000 of ~50 ms, sent through POST /ingest/v1/events) shows the
 * p99 of all the calls (5.1 s), not the mean of the minutes' p99s (~300 ms),
 * in the headline and the breakdown, with the sketches' accuracy stated; and
 * the charts' tick labels neither overlap nor repeat (tiny costs included).
 */

const CHROMIUM = '/usr/bin/chromium';

/** A tick label as the page publishes it (`data-axis-labels`, see services/console/web/src/charts.ts). */
interface LabelBox {
  text: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}
const describeBrowser = existsSync(CHROMIUM) || infraRequired ? describe : describe.skip;

/** "5.12 s" / "54 ms" as shown by the page → milliseconds. */
function shownMs(text: string): number {
  const m = /([\d.,]+)\s*(ms|s)\b/.exec(text);
  if (!m) throw new Error(`no duration in "${text}"`);
  const n = Number(m[1]!.replace(/,/g, ''));
  return m[2] === 's' ? n * 1000 : n;
}

/** The page shows seconds with two decimals (10 ms): the shown value may be that much further off. */
const SHOWN_ROUNDING_MS = 5;

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeBrowser('overview percentiles and axes in Chromium', () => {
  let cli: RunningCli;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let traffic: SkewedTraffic;
  let exactP99: number;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`REQUIRE_INFRA=1 but ${CHROMIUM} is missing: apt-get install chromium`);
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-e2e-pct-'));
    cli = await startCli({ LLM_LOGGER_DATA_DIR: join(dir, 'data') });
    traffic = skewedTraffic(Date.now());
    exactP99 = exactQuantile(traffic.latencies, 0.99);
    // Tiny costs for the cost chart's axis: one micro-dollar on each of the first ten calls of every
    // minute, so $0.00001 a minute, whose ticks (5 µ$ apart) read "$0.00001" twice with five decimals.
    const perMinute = new Map<number, number>();
    const events = traffic.events.map((e) => {
      const minute = Math.floor(e.ended_at / 60_000);
      const n = perMinute.get(minute) ?? 0;
      perMinute.set(minute, n + 1);
      return { ...e, cost_micro_usd: n < 10 ? 1 : 0 };
    });
    const res = await fetch(`${cli.gatewayUrl}/ingest/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    expect(res.status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await shiftBrowserClock(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    cli?.child.kill('SIGTERM');
    await cli?.exited;
    rmSync(dir, { recursive: true, force: true });
    // Sometimes this suite's `llm-logger start` takes its whole shutdown grace (30 s) to stop, with one
    // connection still open; the cause is not found yet (see the README's Tests section). Allow for it.
  }, 60_000);

  test('the headline and the breakdown show the p99 of all the calls in the hour, with the accuracy, and no ≈', async () => {
    await page.goto(`${cli.consoleUrl}/#/overview`);
    expect(await page.locator('#range').inputValue()).toBe('1h');
    // The aggregator counts the back-filled calls within seconds; the page follows the updates.
    await until(async () => ((await page.locator('[data-kpi="calls"] .kpi-value').textContent().catch(() => '')) ?? '') === '3,150', 30_000);
    const latencySub = (await page.locator('[data-kpi="latency"] .kpi-sub').textContent())!;
    const p99 = shownMs(latencySub.split('p99')[1]!);
    expect(Math.abs(p99 - exactP99)).toBeLessThanOrEqual(exactP99 * 0.01 + SHOWN_ROUNDING_MS);
    expect(p99).toBeGreaterThan(4_900); // the mean of the minutes' p99s would be ~300 ms
    expect(await page.locator('[data-kpi="latency"] .kpi-label').textContent()).toBe('Latency p95');
    expect(await page.locator('.accuracy').getAttribute('data-relative-accuracy')).toBe('0.01');
    expect(await page.locator('.accuracy').textContent()).toContain('within ±1% of the exact value');
    expect(await page.locator('body').textContent()).not.toContain('≈');

    const row = page.locator(`.breakdown tr[data-group="${traffic.model}"]`);
    await row.waitFor();
    expect(await row.locator('[data-column="calls"]').textContent()).toBe('3,150');
    const rowP99 = shownMs((await row.locator('[data-column="p99"]').textContent())!);
    expect(Math.abs(rowP99 - exactP99)).toBeLessThanOrEqual(exactP99 * 0.01 + SHOWN_ROUNDING_MS);
    expect(await page.locator('.breakdown .card-head').textContent()).toContain('percentiles ±1%');

    // The snapshot that answered is its own breakdown.
    await page.locator('[data-dimension="served_model"]').click();
    const served = page.locator(`.breakdown tr[data-group="${traffic.model}-2026-01-01"]`);
    await served.waitFor();
    expect(await served.locator('[data-column="calls"]').textContent()).toBe('3,150');
    expect(await page.locator('.breakdown th').first().textContent()).toBe('served model');
    expect(relativeError(shownMs((await served.locator('[data-column="p99"]').textContent())!), exactP99)).toBeLessThanOrEqual(0.012);
  }, 60_000);

  test.each(['15m', '1h', '6h', '24h'])('at %s, the tick labels of every chart neither overlap nor repeat', async (range) => {
    await page.goto(`${cli.consoleUrl}/#/overview`);
    await page.selectOption('#range', range);
    await page.waitForSelector('.kpis');
    await until(async () => (await page.locator('.chart[data-axis-labels]').count()) === 6, 10_000);
    const charts = await page.locator('.chart').evaluateAll((els) =>
      els.map((e) => ({
        title: e.getAttribute('data-chart')!,
        width: e.querySelector('canvas')!.getBoundingClientRect().width,
        labels: JSON.parse(e.getAttribute('data-axis-labels')!) as { x: LabelBox[]; y: LabelBox[] },
      })),
    );
    for (const c of charts) {
      const where = `${range} ${c.title}`;
      expect({ where, xTicks: c.labels.x.length >= 3 }).toEqual({ where, xTicks: true });
      const x = [...c.labels.x].sort((a, b) => a.left - b.left);
      for (let i = 1; i < x.length; i++) {
        // At least 4 px between neighbours: "10:50" must not touch "10:55".
        expect({ where, a: x[i - 1]!.text, b: x[i]!.text, gap: x[i]!.left - x[i - 1]!.right >= 4 }).toEqual({ where, a: x[i - 1]!.text, b: x[i]!.text, gap: true });
      }
      for (const b of x) expect({ where, text: b.text, inside: b.left >= 0 && b.right <= c.width }).toEqual({ where, text: b.text, inside: true });
      const yTexts = c.labels.y.map((b) => b.text);
      expect({ where, distinct: new Set(yTexts).size === yTexts.length, yTexts }).toEqual({ where, distinct: true, yTexts });
      const y = [...c.labels.y].sort((a, b) => a.top - b.top);
      for (let i = 1; i < y.length; i++) expect({ where, gap: y[i]!.top - y[i - 1]!.bottom >= 0 }).toEqual({ where, gap: true });
      for (const b of y) expect({ where, text: b.text, inside: b.left >= 0 }).toEqual({ where, text: b.text, inside: true });
    }
    // Per minute, the cost chart's ticks are a few micro-dollars apart, and written so ($0.000005, $0.000010, …).
    const cost = charts.find((c) => c.title.startsWith('Cost'))!;
    if (range !== '24h') expect(cost.labels.y.map((b) => b.text)).toContain('$0.000005');
  }, 30_000);
});
