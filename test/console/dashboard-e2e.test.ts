import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { infraRequired } from '../support/infra';
import { REPO_ROOT, startCli, type RunningCli } from '../support/processes';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { shiftBrowserClock } from '../support/browser-clock';

/**
 * The dashboard in a real browser (Debian's Chromium driven by
 * playwright-core) against `llm-logger start` as a process, with calls sent by
 * the OpenAI SDK: live tail, request detail, overview charts, search, alerts.
 * `UPDATE_SCREENSHOTS=1` writes the views to docs/screenshots/ for the README.
 */

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'e2e-console-token-000000001';
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(REPO_ROOT, 'docs', 'screenshots') : null;

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const describeBrowser = existsSync(CHROMIUM) || infraRequired ? describe : describe.skip;

describeBrowser('dashboard in Chromium', () => {
  let upstream: StandIn;
  let cli: RunningCli;
  let browser: Browser;
  let page: Page;
  let dir: string;
  /** What the browser reported against the Content Security Policy, and uncaught errors, on every page. */
  const violations: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`REQUIRE_INFRA=1 but ${CHROMIUM} is missing: apt-get install chromium`);
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-e2e-'));
    const config = join(dir, 'llm-logger.yaml');
    writeFileSync(
      config,
      [
        'alerts:',
        '  evaluateEverySeconds: 1',
        '  rules:',
        '    - { name: errors, kind: error_rate, above: 0.1, windowMinutes: 1, minCalls: 3 }',
        '    - { name: slow-gpt-4o, kind: latency, percentile: p95, aboveMs: 30000, model: gpt-4o }',
        '',
      ].join('\n'),
    );
    // Answers name dated snapshots, as OpenAI's do.
    upstream = await startStandIn(0, { servedModels: { 'gpt-4o': 'gpt-4o-2024-08-06', 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18' } });
    cli = await startCli({
      LLM_LOGGER_DATA_DIR: join(dir, 'data'),
      LLM_LOGGER_CONFIG: config,
      LLM_LOGGER_CONSOLE_TOKEN: TOKEN,
      LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await shiftBrowserClock(page);
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (err) => violations.push(`page error: ${err.message}`));
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    cli?.child.kill('SIGTERM');
    await cli?.exited;
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const openai = (headers: Record<string, string> = {}) =>
    new OpenAI({ apiKey: 'sk-e2e', baseURL: `${cli.gatewayUrl}/openai/v1`, maxRetries: 0, defaultHeaders: headers });

  const shot = async (name: string): Promise<void> => {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  };

  test('signs in with the token link and lands on the dashboard, under a Content Security Policy', async () => {
    const unauth = await page.goto(`${cli.consoleUrl}/`);
    expect(page.url()).toBe(`${cli.consoleUrl}/login`);
    expect(unauth?.status()).toBe(200);
    const landed = await page.goto(`${cli.consoleUrl}/login?token=${TOKEN}`);
    expect(page.url()).toBe(`${cli.consoleUrl}/`);
    expect(landed?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await page.waitForSelector('#conn.ok', { timeout: 5_000 });
    // LLM_LOGGER_CONSOLE_TOKEN is an admin: every view is offered.
    expect(await page.locator('#me').textContent()).toContain('admin');
    expect(await page.locator('#nav-search').isVisible()).toBe(true);
    expect(await page.locator('#nav-access').isVisible()).toBe(true);
  });

  test('a streamed call shows in the live tail within 2 s, grows token by token, then settles', async () => {
    await page.goto(`${cli.consoleUrl}/#/live`);
    await page.waitForSelector('table.live');
    // Some finished traffic first, from two users and apps.
    for (const [user, app, model] of [
      ['alice', 'support-bot', 'gpt-4o-mini'],
      ['bob', 'search', 'gpt-4o'],
      ['carol', 'support-bot', 'gpt-4o-mini'],
    ] as const) {
      await openai({ 'x-llm-user': user, 'x-llm-app': app }).chat.completions.create({ model, messages: [{ role: 'user', content: `Hello from ${user}` }] });
    }
    // A second stream runs alongside (the tail shows several calls in flight).
    const other = openai({ 'x-llm-user': 'erin', 'x-llm-app': 'search', 'x-stand-in-chunk-delay-ms': '90', 'x-stand-in-chunks': '40' }).chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'Summarise the release notes.' }],
    });
    const sentAt = Date.now();
    const { data: stream, response } = await openai({ 'x-llm-user': 'dana', 'x-llm-app': 'writer', 'x-stand-in-chunk-delay-ms': '60', 'x-stand-in-chunks': '40' })
      .chat.completions.create({
        model: 'gpt-4o',
        stream: true,
        messages: [
          { role: 'system', content: 'You are a concise assistant.' },
          { role: 'user', content: 'Explain the llm-logger live tail with a zebra analogy.' },
        ],
      })
      .withResponse();
    const id = response.headers.get('x-llm-request-id')!;
    const row = page.locator(`tr[data-id="${id}"]`);
    await row.locator('.pill.run').waitFor({ timeout: 2_000 });
    expect(Date.now() - sentAt).toBeLessThan(2_000);
    const answer = row.locator('.answer');
    await until(async () => ((await answer.textContent()) ?? '').length > 10, 3_000);
    const early = (await answer.textContent())!.length;
    await until(async () => ((await answer.textContent()) ?? '').length > early, 3_000);
    await shot('live');
    let answerText = '';
    for await (const chunk of stream) answerText += chunk.choices[0]?.delta?.content ?? '';
    for await (const _ of await other);
    await row.locator('.pill.ok').waitFor({ timeout: 5_000 });
    expect(await row.locator('.pill.ok').textContent()).toBe('200');
    expect(answerText.startsWith((await answer.textContent())!.slice(0, 50))).toBe(true);

    // The request detail: the rendered conversation, timings, usage and cost.
    await row.locator('a').first().click();
    await page.waitForSelector('.conversation .role-user');
    expect(await page.locator('.conversation .role-system pre').textContent()).toBe('You are a concise assistant.');
    expect(await page.locator('.conversation .role-user pre').textContent()).toContain('zebra analogy');
    expect(await page.locator('.answer-msg pre').first().textContent()).toBe(answerText);
    const details = await page.locator('aside').textContent();
    expect(details).toContain('dana');
    // The model asked for heads the page; the snapshot that answered is beside it.
    expect(await page.locator('.detail-head h2').textContent()).toContain('gpt-4o');
    expect(details).toContain('served modelgpt-4o-2024-08-06');
    expect(details).toContain('first token');
    expect(details).toMatch(/cost\$0\.\d+/);
    await shot('detail');
  }, 30_000);

  test('the overview charts and breakdown count the calls', async () => {
    // More traffic: models, users and apps for the breakdown, a spread of latencies for the charts.
    const users = ['alice', 'bob', 'carol', 'dana'];
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        openai({ 'x-llm-user': users[i % 4]!, 'x-llm-app': i % 3 ? 'support-bot' : 'search', 'x-stand-in-delay-ms': String(20 + ((i * 37) % 300)) }).chat.completions.create({
          model: i % 3 ? 'gpt-4o-mini' : 'gpt-4o',
          messages: [{ role: 'user', content: `Question number ${i} about invoices` }],
        }),
      ),
    );
    await page.goto(`${cli.consoleUrl}/#/overview`);
    await page.selectOption('#range', '15m');
    await page.waitForSelector('.kpis, .card.empty');
    const unavailable = await page.locator('#overview .card.empty').count();
    if (unavailable > 0) {
      // Marked: GET /api/aggregates comes with the aggregator (merged separately).
      expect(await page.locator('#overview .card.empty').textContent()).toContain('/api/aggregates');
      return;
    }
    await until(async () => Number(((await page.locator('.kpi .kpi-value').first().textContent()) ?? '0').replace(/\D/g, '')) >= 28, 15_000);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(6);
    await page.locator('[data-dimension="user"]').click();
    await page.waitForSelector('.breakdown td:text("alice")');
    await shot('overview');
  }, 30_000);

  test('searches prompts and answers for a phrase', async () => {
    await page.goto(`${cli.consoleUrl}/#/search?q=${encodeURIComponent('zebra analogy')}`);
    expect((await page.request.get(`${cli.consoleUrl}/api/search?q=zebra`)).status()).toBe(200);
    await page.waitForSelector('#search-results .hit a', { timeout: 10_000 });
    expect((await page.locator('#search-results .hit').first().textContent())?.toLowerCase()).toContain('zebra');
    await shot('search');
  });

  test('an alert fires when the error rate crosses its threshold, and shows on every page', async () => {
    expect((await page.request.get(`${cli.consoleUrl}/api/aggregates?window=1m&groupBy=overall`)).status()).toBe(200);
    for (let i = 0; i < 8; i++) {
      await openai({ 'x-stand-in-status': '500', 'x-llm-user': 'erin' })
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fail please' }] })
        .catch(() => undefined);
    }
    await page.goto(`${cli.consoleUrl}/#/alerts`);
    await page.waitForSelector('#alerts-active', { timeout: 20_000 });
    expect(await page.locator('#alert-banner').textContent()).toContain('FIRING errors');
    expect(await page.locator('#alert-count').textContent()).toBe('1');
    await shot('alerts');
  }, 40_000);

  test('no page broke the Content Security Policy (no inline script or style, nothing from elsewhere)', () => {
    expect(violations).toEqual([]);
  });
});
