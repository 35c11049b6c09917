// Browser test of the cport web portal (node:test + playwright-core + Debian chromium):
// sign in, search, filter, sort, page, open a report, keyboard use, sign out; fails on
// any console error, page error or CSP violation and saves screenshots.
//
// Env: CPORT_BASE_URL (e.g. https://127.0.0.1:18443; unset = start a real stack with
// test/lib/stack.mjs: nginx + cport-fcgi + an imported synthetic feed),
// CPORT_USER_EMAIL, CPORT_USER_PASSWORD, CPORT_ARTEFACTS (default test-artefacts/),
// CPORT_CHROMIUM (default /usr/bin/chromium).
// Run: node --test test/browser/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startStack, USERS, PASSWORD } from '../lib/stack.mjs';
import { ARTEFACTS, CSP_LISTENER, launchBrowser, watchPage } from './lib.mjs';

// Texts of the result rows' cells with the given data-testid.
function columnTexts(page, testid) {
  return page.$$eval(`[data-testid="results-body"] [data-testid="${testid}"]`, (cells) => cells.map((c) => c.textContent.trim()));
}

// Waits until the results table has finished loading.
async function waitForResults(page) {
  await page.waitForSelector('[data-testid="results-table"][aria-busy="false"]');
}

test('cport portal end to end', { timeout: 180000 }, async (t) => {
  let base = process.env.CPORT_BASE_URL;
  let email = process.env.CPORT_USER_EMAIL;
  let password = process.env.CPORT_USER_PASSWORD;
  let stack = null;
  if (!base) {
    stack = await startStack({ reports: 3000 });
    base = stack.base;
    email = email || USERS.nl.email;
    password = password || PASSWORD;
    t.after(() => stack.stop());
  }
  assert.ok(email && password, 'CPORT_USER_EMAIL and CPORT_USER_PASSWORD are required with CPORT_BASE_URL');
  base = base.replace(/\/+$/, '');

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  await context.addInitScript(CSP_LISTENER);
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  watchPage(page, problems);

  let failed = false;
  // Runs one step as a subtest; later steps are skipped after a failure.
  const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
      await page.waitForTimeout(50);
      assert.deepEqual(problems, [], 'console errors / CSP violations');
    } catch (err) {
      failed = true;
      await page.screenshot({ path: path.join(ARTEFACTS, `failure-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
      throw err;
    }
  });

  await step('unauthenticated search page redirects to sign-in', async () => {
    await page.goto(`${base}/reports.html`);
    await page.waitForURL(/\/index\.html/);
    await page.waitForSelector('[data-testid="signin-form"]');
  });

  await step('wrong password shows the problem detail', async () => {
    await page.fill('[data-testid="signin-email"]', email);
    await page.fill('[data-testid="signin-password"]', `${password}-wrong`);
    // The browser logs the expected 401 of POST /session; tolerate exactly that one.
    const before = problems.length;
    await page.click('[data-testid="signin-submit"]');
    const banner = page.locator('[data-testid="signin-error"]');
    await banner.waitFor({ state: 'visible' });
    assert.ok((await banner.textContent()).trim().length > 0);
    await page.waitForTimeout(50);
    const extra = problems.splice(before);
    assert.ok(extra.every((p) => /status of 401/.test(p) && /\/api\/v1\/session/.test(p)), extra.join('\n'));
  });

  await step('sign in', async () => {
    await page.fill('[data-testid="signin-email"]', email);
    await page.fill('[data-testid="signin-password"]', password);
    await page.click('[data-testid="signin-submit"]');
    await page.waitForURL(/\/reports\.html/);
    await page.waitForSelector('[data-testid="sign-out"]:visible');
    const who = await page.textContent('[data-testid="user-info"]');
    assert.match(who, new RegExp(email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i'));
    // The shared navigation: an LEA analyst reads reports and manages their own account.
    const nav = await page.$$eval('[data-testid="app-nav"] a', (as) => as.map((a) => a.getAttribute('data-testid')));
    if (stack) assert.deepEqual(nav, ['nav-reports', 'nav-packages', 'nav-hashlists', 'nav-match', 'nav-dashboard', 'nav-iwol', 'nav-account']);
    assert.equal(await page.getAttribute('[data-testid="nav-reports"]', 'aria-current'), 'page');
  });

  let total = 0;
  await step('results table shows rows and the total', async () => {
    await waitForResults(page);
    const rows = await page.locator('[data-testid="results-body"] tr').count();
    assert.ok(rows > 0, 'at least one row');
    total = Number(await page.getAttribute('[data-testid="result-count"]', 'data-total'));
    assert.ok(total >= rows, `total ${total} >= rows ${rows}`);
    assert.match(await page.textContent('[data-testid="result-count"]'), /\d+ reports?/);
    assert.equal(await page.getAttribute('th[data-sort-key="reported_at"]', 'aria-sort'), 'descending');
    const dates = await columnTexts(page, 'cell-reported');
    assert.ok(dates.every((d) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/.test(d)), 'dates as YYYY-MM-DD HH:MM UTC');
    await page.screenshot({ path: path.join(ARTEFACTS, 'reports.png'), fullPage: true });
  });

  await step('filter by hosting country NL', async () => {
    await page.waitForSelector('[data-testid="filter-hosting_country"] option[value="NL"]', { state: 'attached' });
    await page.selectOption('[data-testid="filter-hosting_country"]', 'NL');
    await page.click('[data-testid="apply-filters"]');
    await page.waitForURL(/[?&]hosting_country=NL(&|$)/);
    await waitForResults(page);
    const countries = await columnTexts(page, 'cell-country');
    assert.ok(countries.length > 0, 'NL rows shown');
    assert.ok(countries.every((c) => c === 'NL'), `all rows NL: ${countries.join(',')}`);
    const label = await page.textContent('[data-testid="filter-hosting_country"] option[value="NL"]');
    assert.match(label, /^NL \(\d+\)$/, 'facet count in option');
  });

  await step('sort by domain', async () => {
    await page.click('[data-testid="sort-domain"]');
    await page.waitForURL(/[?&]sort=domain(&|$)/);
    await waitForResults(page);
    assert.equal(await page.getAttribute('th[data-sort-key="domain"]', 'aria-sort'), 'ascending');
    assert.equal(await page.getAttribute('th[data-sort-key="reported_at"]', 'aria-sort'), null);
    const domains = await columnTexts(page, 'cell-domain');
    for (let i = 1; i < domains.length; i++) assert.ok(domains[i - 1] <= domains[i], `sorted: ${domains[i - 1]} <= ${domains[i]}`);
    assert.ok(page.url().includes('hosting_country=NL'), 'filter kept');
  });

  await step('next page and back', async () => {
    if (await page.isDisabled('[data-testid="next-page"]')) {
      await page.selectOption('[data-testid="page-size"]', '25');
      await page.waitForURL(/[?&]limit=25(&|$)/);
      await waitForResults(page);
    }
    assert.equal(await page.isDisabled('[data-testid="next-page"]'), false, 'a second page exists');
    const firstPage = await columnTexts(page, 'cell-iccam-id');
    const firstUrl = page.url();
    await page.click('[data-testid="next-page"]');
    await page.waitForURL(/[?&]cursor=/);
    await waitForResults(page);
    const secondPage = await columnTexts(page, 'cell-iccam-id');
    assert.ok(secondPage.length > 0);
    assert.ok(!secondPage.some((id) => firstPage.includes(id)), 'second page has other rows');
    const secondUrl = page.url();
    await page.click('[data-testid="prev-page"]');
    await page.waitForURL((u) => !u.searchParams.has('cursor'));
    await waitForResults(page);
    assert.deepEqual(await columnTexts(page, 'cell-iccam-id'), firstPage, 'Previous returns to page 1');
    assert.equal(page.url(), firstUrl);
    // Browser history: back goes to page 2, back again to page 1.
    await page.goBack();
    await page.waitForURL(secondUrl);
    await waitForResults(page);
    assert.deepEqual(await columnTexts(page, 'cell-iccam-id'), secondPage, 'back button restores page 2');
    await page.goBack();
    await page.waitForURL(firstUrl);
    await waitForResults(page);
    assert.deepEqual(await columnTexts(page, 'cell-iccam-id'), firstPage, 'back button restores page 1');
    // Reload keeps the view.
    await page.reload();
    await waitForResults(page);
    assert.deepEqual(await columnTexts(page, 'cell-iccam-id'), firstPage, 'reload restores the view');
    assert.equal(await page.inputValue('[data-testid="filter-hosting_country"]'), 'NL');
  });

  let listUrl = '';
  await step('open a report', async () => {
    listUrl = page.url();
    const rows = page.locator('[data-testid="results-body"] tr');
    const n = await rows.count();
    let row = null;
    for (let i = 0; i < n; i++) {
      if (Number(await rows.nth(i).locator('[data-testid="cell-media"]').textContent()) > 0) { row = rows.nth(i); break; }
    }
    assert.ok(row, 'a row with media');
    const iccamId = (await row.locator('[data-testid="cell-iccam-id"]').textContent()).trim();
    await row.locator('[data-testid="cell-domain"]').click(); // a click on the row, not the link
    await page.waitForURL(/\/report\.html\?id=\d+/);
    await page.waitForSelector('[data-testid="report-detail"]:visible');
    assert.equal((await page.textContent('[data-testid="report-iccam-id"]')).trim(), iccamId);
    await page.waitForSelector('[data-testid="media-table"]');
    assert.ok(await page.locator('[data-testid="media-row"]').count() > 0, 'media rows');
    const shared = await page.locator('[data-testid="media-hashes"]').count();
    const note = await page.locator('[data-testid="media-metadata-note"]').count();
    assert.ok(shared > 0 || note === 1, 'either hashes or the not-shared note');
    assert.equal(await page.locator('[data-testid="report-detail"] img, [data-testid="report-detail"] video').count(), 0, 'no media rendered');
    await page.screenshot({ path: path.join(ARTEFACTS, 'report.png'), fullPage: true });
  });

  await step('back link keeps the filters', async () => {
    await page.click('[data-testid="back-link"]');
    await page.waitForURL(listUrl);
    await waitForResults(page);
    assert.equal(await page.inputValue('[data-testid="filter-hosting_country"]'), 'NL');
  });

  await step('keyboard: Tab reaches the search field and Enter submits', async () => {
    await page.goto(`${base}/reports.html`);
    await waitForResults(page);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-testid') === 'filter-q');
    }
    assert.ok(reached, 'Tab reaches the search field');
    await page.keyboard.type('example');
    await page.keyboard.press('Enter');
    await page.waitForURL(/[?&]q=example(&|$)/);
    await waitForResults(page);
    const focusOnSkip = await page.evaluate(() => document.querySelector('.skip-link').getAttribute('href'));
    assert.equal(focusOnSkip, '#main');
  });

  await step('sign out returns to the sign-in page', async () => {
    await page.click('[data-testid="sign-out"]');
    await page.waitForURL(/\/index\.html/);
    await page.waitForSelector('[data-testid="signin-form"]');
    await page.goto(`${base}/reports.html`);
    await page.waitForURL(/\/index\.html/);
  });

  // Against our own stack: an LEA whose agreement shares no media metadata.
  if (stack) {
    await step('without media metadata the detail says so', async () => {
      await page.fill('[data-testid="signin-email"]', USERS.de.email);
      await page.fill('[data-testid="signin-password"]', PASSWORD);
      await page.click('[data-testid="signin-submit"]');
      await page.waitForURL(/\/reports\.html/);
      await waitForResults(page);
      await page.locator('[data-testid="report-link"]').first().click();
      await page.waitForSelector('[data-testid="media-table"]');
      assert.match(await page.textContent('[data-testid="media-metadata-note"]'),
        /Hashes and classifications are not shared under your agreement/);
      assert.equal(await page.locator('[data-testid="media-hashes"]').count(), 0);
      await page.click('[data-testid="sign-out"]');
      await page.waitForURL(/\/index\.html/);
    });
  }
});
