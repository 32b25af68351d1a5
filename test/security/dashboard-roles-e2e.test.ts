import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { NAMES, TOKENS, writeAccessConfig } from '../support/console-identities';
import { infraRequired } from '../support/infra';
import { startCli, type RunningCli } from '../support/processes';
import { startStandIn, type StandIn } from '../support/stand-in-upstream';
import { shiftBrowserClock } from '../support/browser-clock';

/**
 * The dashboard per role, in Chromium against `llm-logger start`: a viewer
 * is offered no search and sees no prompt or answer (and the API refuses
 * what the page does not offer), an auditor reads the conversation, an
 * admin finds that read in the access log page, and signing out ends the
 * session.
 */

const CHROMIUM = '/usr/bin/chromium';
const PROMPT = 'Which pangolin enclosure needs the confidential inspection?';
const describeBrowser = existsSync(CHROMIUM) || infraRequired ? describe : describe.skip;

describeBrowser('dashboard by role in Chromium', () => {
  let upstream: StandIn;
  let cli: RunningCli;
  let browser: Browser;
  let dir: string;
  let eventId: string;
  const violations: string[] = [];

  async function signedIn(role: keyof typeof TOKENS): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await shiftBrowserClock(context);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (err) => violations.push(`page error: ${err.message}`));
    await page.goto(`${cli.consoleUrl}/login?token=${TOKENS[role]}`);
    await page.waitForSelector('#conn.ok', { timeout: 10_000 });
    expect(await page.locator('#me').textContent()).toBe(`${NAMES[role]} · ${role}`);
    return { context, page };
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`REQUIRE_INFRA=1 but ${CHROMIUM} is missing: apt-get install chromium`);
    dir = mkdtempSync(join(tmpdir(), 'llm-logger-roles-e2e-'));
    upstream = await startStandIn();
    cli = await startCli({
      LLM_LOGGER_DATA_DIR: join(dir, 'data'),
      LLM_LOGGER_CONFIG: writeAccessConfig(dir),
      LLM_LOGGER_UPSTREAM_OPENAI_URL: upstream.url,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const res = await fetch(`${cli.gatewayUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-user': 'zoe' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }),
    });
    eventId = res.headers.get('x-llm-request-id')!;
    await res.text();
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${cli.consoleUrl}/api/requests/${eventId}?bodies=false`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })).status !== 200) {
      if (Date.now() > deadline) throw new Error('the call never reached the console');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    cli?.child.kill('SIGTERM');
    await cli?.exited;
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a viewer is offered no search and reads no prompt or answer; the API refuses what the page hides', async () => {
    const { context, page } = await signedIn('viewer');
    try {
      expect(await page.locator('#nav-search').isVisible()).toBe(false);
      expect(await page.locator('#nav-access').isVisible()).toBe(false);
      await page.goto(`${cli.consoleUrl}/#/request/${eventId}`);
      await page.waitForSelector('#bodies-withheld');
      expect(await page.locator('aside').textContent()).toContain('zoe');
      expect(await page.locator('.conversation .role-user').count()).toBe(0);
      expect(await page.content()).not.toContain('pangolin');
      await page.goto(`${cli.consoleUrl}/#/live`);
      await page.waitForSelector(`tr[data-id="${eventId}"]`);
      expect(await page.locator(`tr[data-id="${eventId}"] .answer`).textContent()).toBe('');
      await page.goto(`${cli.consoleUrl}/#/search?q=pangolin`);
      await page.waitForSelector('#not-allowed');
      expect(await page.locator('#search-results').count()).toBe(0);
      // The session cookie the page holds is refused by the API too.
      expect((await page.request.get(`${cli.consoleUrl}/api/search?q=pangolin`)).status()).toBe(403);
      expect((await page.request.get(`${cli.consoleUrl}/api/access-log`)).status()).toBe(403);
    } finally {
      await context.close();
    }
  }, 30_000);

  test('an auditor reads the conversation and searches it', async () => {
    const { context, page } = await signedIn('auditor');
    try {
      expect(await page.locator('#nav-search').isVisible()).toBe(true);
      expect(await page.locator('#nav-access').isVisible()).toBe(false);
      await page.goto(`${cli.consoleUrl}/#/request/${eventId}`);
      await page.waitForSelector('.conversation .role-user');
      expect(await page.locator('.conversation .role-user pre').textContent()).toBe(PROMPT);
      await page.goto(`${cli.consoleUrl}/#/search?q=pangolin`);
      await page.waitForSelector('#search-results .hit a', { timeout: 10_000 });
    } finally {
      await context.close();
    }
  }, 30_000);

  test('an admin finds the auditor\'s reads on the access log page, and signing out ends the session', async () => {
    const { context, page } = await signedIn('admin');
    try {
      await page.click('#nav-access');
      await page.waitForSelector('#access-rows tr');
      await page.fill('#access-actor', NAMES.auditor);
      await page.selectOption('#access-action', 'request_bodies');
      await page.click('form.access-filters button');
      const row = page.locator('#access-rows tr', { hasText: eventId });
      await row.first().waitFor({ timeout: 10_000 });
      expect(await row.first().locator('td.action').textContent()).toBe('request_bodies');
      expect(await row.first().textContent()).toContain(NAMES.auditor);
      await page.click('#sign-out');
      await page.waitForURL(`${cli.consoleUrl}/login`);
      expect((await page.request.get(`${cli.consoleUrl}/api/me`)).status()).toBe(401);
    } finally {
      await context.close();
    }
  }, 30_000);

  test('no page broke the Content Security Policy', () => {
    expect(violations).toEqual([]);
  });
});
