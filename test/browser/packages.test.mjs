// Browser test of intelligence packages (node:test + playwright-core + Debian chromium
// against a real stack: nginx + cport-fcgi + SQLite, and `cport jobs --once` run from the
// test as the background builder). The NL analyst filters the reports to NL, puts "all
// results" in the package basket (which survives a reload and asks before ticked rows
// replace it), composes a package on packages.html, sees it queued, runs the job runner,
// watches the list poll it to ready (and stop polling), downloads it through the page and
// verifies it offline with `cport package verify` and the key from /api/v1/keys. A second
// package is composed from two ticked rows, encrypted for transport (a mismatched
// passphrase is caught first), and verified with its passphrase. The server's 400 about a
// stored search that selects nothing shows beside the selection. A viewer sees the list
// but neither basket nor compose form. Every step fails on console errors, page errors and
// CSP violations; screenshots go to test-artefacts/.
// Run: node --test --test-concurrency=1 test/browser/packages.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, USERS, PASSWORD, BUILD } from '../lib/stack.mjs';
import { launchBrowser, newActor, signIn, screenshot, stepper } from './lib.mjs';

const TITLE = 'Operation Browser';
const CASE_REF = 'NL-2026-042';
const PASSPHRASE = 'correct horse battery staple';

// `cport package verify` on a file; returns {code, out} instead of throwing.
function verify(file, args) {
  try {
    return { code: 0, out: execFileSync(join(BUILD, 'cport'), ['package', 'verify', file, ...args], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (e) {
    return { code: e.status, out: `${e.stdout || ''}${e.stderr || ''}` };
  }
}

// The text of the basket summary on reports.html.
function basketSummary(page) {
  return page.textContent('[data-testid="basket-summary"]');
}

// Downloads a ready package through its row's link; returns the saved file's path.
async function downloadPackage(page, dir, id, name) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click(`[data-testid="package-row"][data-id="${id}"] [data-testid="package-download"]`),
  ]);
  assert.equal(await download.failure(), null, 'the download completed');
  const file = join(dir, name);
  await download.saveAs(file);
  return { file, suggested: download.suggestedFilename() };
}

test('intelligence packages in the browser', { timeout: 240000 }, async (t) => {
  const stack = await startStack({ reports: 300 });
  t.after(() => stack.stop());
  const base = stack.base;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const nl = await newActor(browser, 'NL analyst');
  const { page } = nl;
  const step = stepper(t, 'packages', nl);
  const key = (await (await fetch(`${base}/api/v1/keys`)).json()).keys[0].public_key;
  assert.match(key, /^[0-9a-f]{64}$/, 'the instance has a signing key');

  await step('sign in; the navigation has Packages', async () => {
    await signIn(page, base, USERS.nl.email, PASSWORD, /\/reports\.html/);
    await page.waitForSelector('[data-testid="nav-packages"]');
    const nav = await page.$$eval('[data-testid="app-nav"] a', (as) => as.map((a) => a.getAttribute('data-testid')));
    assert.deepEqual(nav.slice(0, 2), ['nav-reports', 'nav-packages'], 'Packages next to Reports');
    await page.waitForSelector('[data-testid="basket-bar"]:visible');
    assert.match(await basketSummary(page), /nothing selected/);
  });

  let total = 0;
  await step('filter to NL and add all results to the basket', async () => {
    await page.waitForSelector('[data-testid="filter-hosting_country"] option[value="NL"]', { state: 'attached' });
    await page.selectOption('[data-testid="filter-hosting_country"]', 'NL');
    await page.click('[data-testid="apply-filters"]');
    await page.waitForURL(/\/reports\.html\?hosting_country=NL$/);
    await page.waitForFunction(() => document.querySelector('[data-testid="result-count"]').dataset.total);
    total = Number(await page.getAttribute('[data-testid="result-count"]', 'data-total'));
    const want = stack.sql("SELECT count(*) AS n FROM reports WHERE host_country = 'NL'")[0].n;
    assert.ok(total > 25 && total === want, `${total} NL reports (${want} in the database)`);
    const addAll = page.locator('[data-testid="basket-add-all"]');
    await page.waitForFunction((n) => document.querySelector('[data-testid="basket-add-all"]').textContent === `Add all ${n} results`, total.toLocaleString('en'));
    await addAll.click();
    assert.equal(await basketSummary(page), `all ${total.toLocaleString('en')} results of: hosting_country=NL`);
    assert.equal(await addAll.isDisabled(), true, 'the same search cannot be added twice');
    // The basket keeps the filter, not ids: it survives paging and a reload.
    await page.selectOption('[data-testid="page-size"]', '25');
    await page.waitForURL(/limit=25$/);
    await page.click('[data-testid="next-page"]');
    await page.waitForURL(/cursor=/);
    await page.reload();
    await page.waitForSelector('[data-testid="basket-bar"]:visible');
    assert.equal(await basketSummary(page), `all ${total.toLocaleString('en')} results of: hosting_country=NL`);
    const stored = await page.evaluate(() => sessionStorage.getItem('cport.package-basket'));
    assert.deepEqual(JSON.parse(stored), { filter: { hosting_country: 'NL' }, total });
  });

  await step('ticking a row asks before replacing the filter', async () => {
    await page.waitForSelector('[data-testid="results-body"] tr [data-testid="basket-row-check"]');
    const box = page.locator('[data-testid="results-body"] [data-testid="basket-row-check"]').first();
    await box.click();
    await page.waitForSelector('[data-testid="basket-question"]:visible');
    assert.match(await page.textContent('[data-testid="basket-question"]'), /holds all .* results of: hosting_country=NL\. Replace that with report/);
    assert.equal(await box.isChecked(), false, 'not ticked while the question is open');
    await screenshot(page, 'reports-basket');
    await page.click('[data-testid="basket-keep"]');
    assert.equal(await page.isHidden('[data-testid="basket-question"]'), true);
    assert.equal(await box.isChecked(), false);
    assert.match(await basketSummary(page), /^all .* results of: hosting_country=NL$/);
    assert.ok(page.url().includes('cursor='), 'the row click did not open the report');
  });

  let pkgId = 0;
  await step('compose on packages.html and see it queued', async () => {
    await page.click('[data-testid="basket-compose"]');
    await page.waitForURL(/\/packages\.html#compose$/);
    await page.waitForSelector('[data-testid="compose-form"]');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'compose-title', 'focus on the title');
    assert.equal(await page.textContent('[data-testid="selection-summary"]'), `all ${total.toLocaleString('en')} results of: hosting_country=NL`);
    assert.equal(await page.getAttribute('[data-testid="selection-link"]', 'href'), 'reports.html?hosting_country=NL');
    assert.equal(await page.isHidden('[data-testid="compose-passphrase-group"]'), true, 'no passphrase unless encrypting');
    // The NL agreement shares media metadata but not content.
    assert.equal(await page.locator('[data-testid="compose-media-content"]').count(), 0, 'no media content choice');
    // A missing title is caught before anything is sent.
    await page.click('[data-testid="compose-submit"]');
    const titleId = await page.getAttribute('[data-testid="compose-title"]', 'id');
    assert.match(await page.textContent(`#${titleId}-error`), /title/);
    await page.fill('[data-testid="compose-title"]', TITLE);
    await page.fill('[data-testid="compose-case-ref"]', CASE_REF);
    await page.fill('[data-testid="compose-notes"]', 'Synthetic data.\nSecond line.');
    await page.click('[data-testid="compose-submit"]');
    await page.waitForSelector('[data-testid="package-row"][data-status="queued"]');
    const row = page.locator('[data-testid="package-row"]').first();
    pkgId = Number(await row.getAttribute('data-id'));
    assert.ok(pkgId > 0);
    assert.match(await page.textContent('[data-testid="compose-status"]'), new RegExp(`Package #${pkgId} "${TITLE}" is queued`));
    assert.equal(await row.locator('[data-testid="package-title"]').textContent(), TITLE);
    assert.match(await row.locator('[data-testid="package-case-ref"]').textContent(), new RegExp(CASE_REF));
    assert.equal(await row.locator('[data-testid="package-progress"]').count(), 1, 'a progress bar while queued');
    assert.equal(await row.locator('[data-testid="package-download"]').count(), 0, 'no download yet');
    assert.match(await page.textContent('[data-testid="list-status"]'), /1 package is being prepared/);
    // The basket was used up.
    await page.waitForSelector('[data-testid="selection-empty"]');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cport.package-basket')), null);
    assert.equal(await page.inputValue('[data-testid="compose-title"]'), '', 'the form is reset');
    await screenshot(page, 'packages-queued');
  });

  await step('the job runner builds it; polling follows it to ready, then stops', async () => {
    // Record every status the row shows and every list request made.
    await page.evaluate(() => {
      window.statusesSeen = [];
      const tbody = document.querySelector('[data-testid="packages-table"] tbody');
      new MutationObserver(() => {
        const s = tbody.querySelector('[data-testid="package-row"]')?.dataset.status;
        if (s && window.statusesSeen.at(-1) !== s) window.statusesSeen.push(s);
      }).observe(tbody, { childList: true, subtree: true, attributes: true });
    });
    let listRequests = 0;
    page.on('request', (req) => { if (/\/api\/v1\/packages$/.test(req.url())) listRequests += 1; });
    const out = stack.cport(['jobs', '--once']);
    assert.match(out, /1 job\(s\) run/);
    const row = `[data-testid="package-row"][data-id="${pkgId}"]`;
    await page.waitForSelector(`${row}[data-status="ready"]`, { timeout: 10000 });
    assert.ok(listRequests >= 1, 'the list was polled');
    const statuses = await page.evaluate(() => window.statusesSeen);
    assert.equal(statuses.at(-1), 'ready', statuses.join(' → '));
    assert.match(await page.textContent('[data-testid="list-status"]'), new RegExp(`Package #${pkgId} is ready to download`));
    const api = stack.sql(`SELECT report_count, bytes FROM packages WHERE id = ${pkgId}`)[0];
    assert.equal(api.report_count, total);
    assert.equal((await page.textContent(`${row} [data-testid="package-count"]`)).trim(), total.toLocaleString('en'));
    assert.equal(await page.locator(`${row} [data-testid="package-progress"]`).count(), 0, 'no progress bar once ready');
    assert.equal(await page.getAttribute(`${row} [data-testid="package-download"]`, 'href'), `/api/v1/packages/${pkgId}/download`);
    assert.notEqual((await page.textContent(`${row} [data-testid="package-expires"]`)).trim(), '—', 'an expiry date');
    assert.match(await page.textContent(`${row} [data-testid="package-sha256"]`), /^[0-9a-f]{64}$/);
    // Nothing pending: no more requests.
    const seen = listRequests;
    await page.waitForTimeout(4500);
    assert.equal(listRequests, seen, 'polling stopped');
    await screenshot(page, 'packages-ready');
  });

  await step('download through the page and verify it offline', async () => {
    assert.equal(await page.textContent('[data-testid="public-key"]'), key);
    assert.equal(await page.textContent('[data-testid="verify-command"]'), `cport package verify FILE --key ${key}`);
    assert.equal(await page.textContent('[data-testid="verify-command-encrypted"]'), `cport package verify FILE --key ${key} --passphrase-file F`);
    const { file, suggested } = await downloadPackage(page, stack.dir, pkgId, 'browser-package.zip');
    assert.equal(suggested, `cport-package-${pkgId}.zip`);
    const size = statSync(file).size;
    assert.ok(size > 0, 'a non-empty file');
    assert.equal(size, stack.sql(`SELECT bytes FROM packages WHERE id = ${pkgId}`)[0].bytes);
    const v = verify(file, ['--key', key]);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, new RegExp(`ok: package ${pkgId} "${TITLE}".* ${total} reports`));
    assert.notEqual(verify(file, ['--key', 'ab'.repeat(32)]).code, 0, 'another key does not verify');
  });

  let ids = [];
  await step('tick two rows into the basket', async () => {
    await page.click('[data-testid="nav-reports"]');
    await page.waitForURL(/\/reports\.html$/);
    await page.waitForSelector('[data-testid="results-body"] tr [data-testid="basket-row-check"]');
    assert.match(await basketSummary(page), /nothing selected/);
    const rows = page.locator('[data-testid="results-body"] tr');
    ids = [Number(await rows.nth(0).getAttribute('data-id')), Number(await rows.nth(2).getAttribute('data-id'))];
    await rows.nth(0).locator('[data-testid="basket-row-check"]').check();
    await rows.nth(2).locator('[data-testid="basket-row-check"]').check();
    assert.equal(await basketSummary(page), '2 reports selected');
    assert.ok(page.url().endsWith('/reports.html'), 'ticking does not open the report');
    // "Add all" asks before replacing the ticked rows; keeping them changes nothing.
    await page.click('[data-testid="basket-add-all"]');
    await page.waitForSelector('[data-testid="basket-question"]:visible');
    assert.match(await page.textContent('[data-testid="basket-question"]'), /holds 2 ticked reports\. Replace them with all \d+ reports you can see/);
    await page.keyboard.press('Escape');
    assert.equal(await page.isHidden('[data-testid="basket-question"]'), true);
    assert.equal(await basketSummary(page), '2 reports selected');
    // The ticks survive paging away and back.
    await page.click('[data-testid="next-page"]');
    await page.waitForURL(/cursor=/);
    await page.click('[data-testid="prev-page"]');
    await page.waitForURL(/\/reports\.html$/);
    await page.waitForSelector(`[data-testid="results-body"] tr[data-id="${ids[0]}"] [data-testid="basket-row-check"]:checked`);
    assert.equal(await page.isChecked(`[data-testid="results-body"] tr[data-id="${ids[1]}"] [data-testid="basket-row-check"]`), true);
    const unticked = await rows.nth(1).getAttribute('data-id');
    assert.equal(await page.isChecked(`[data-testid="results-body"] tr[data-id="${unticked}"] [data-testid="basket-row-check"]`), false);
  });

  let encId = 0;
  await step('compose an encrypted package from the two ticked reports', async () => {
    await page.click('[data-testid="basket-compose"]');
    await page.waitForSelector('[data-testid="compose-form"]');
    assert.equal(await page.textContent('[data-testid="selection-summary"]'), '2 reports selected');
    await page.fill('[data-testid="compose-title"]', 'Two reports');
    await page.check('[data-testid="compose-encrypt"]');
    await page.waitForSelector('[data-testid="compose-passphrase-group"]:visible');
    await page.fill('[data-testid="compose-passphrase"]', PASSPHRASE);
    await page.fill('[data-testid="compose-passphrase-confirm"]', `${PASSPHRASE}!`);
    await page.click('[data-testid="compose-submit"]');
    const confirmId = await page.getAttribute('[data-testid="compose-passphrase-confirm"]', 'id');
    assert.match(await page.textContent(`#${confirmId}-error`), /differ/);
    await page.fill('[data-testid="compose-passphrase-confirm"]', PASSPHRASE);
    await page.click('[data-testid="compose-submit"]');
    await page.waitForSelector(`[data-testid="package-row"]:not([data-id="${pkgId}"])`);
    encId = Number(await page.getAttribute(`[data-testid="package-row"]:not([data-id="${pkgId}"])`, 'data-id'));
    assert.ok(encId > pkgId, 'the new package comes first');
    const stored = stack.sql(`SELECT report_ids, filter, encrypted FROM packages WHERE id = ${encId}`)[0];
    assert.deepEqual(JSON.parse(stored.report_ids).sort(), [...ids].sort(), 'composed from the ticked ids');
    assert.equal(stored.filter, null);
    assert.equal(stored.encrypted, 1);
    stack.cport(['jobs', '--once']);
    const row = `[data-testid="package-row"][data-id="${encId}"]`;
    await page.waitForSelector(`${row}[data-status="ready"]`, { timeout: 10000 });
    assert.equal((await page.textContent(`${row} [data-testid="package-count"]`)).trim(), '2');
    assert.match(await page.textContent(`${row} [data-testid="package-download"]`), /encrypted/);
    const { file, suggested } = await downloadPackage(page, stack.dir, encId, 'browser-package.cpenc');
    assert.equal(suggested, `cport-package-${encId}.cpenc`);
    const pass = join(stack.dir, 'browser-pass.txt');
    writeFileSync(pass, `${PASSPHRASE}\n`);
    const v = verify(file, ['--key', key, '--passphrase-file', pass]);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, / 2 reports/);
    await screenshot(page, 'packages');
  });

  await step('the server\'s 400 about the selection shows beside it', async () => {
    nl.allowed.push([400, /\/api\/v1\/packages$/]);
    // A stored search that now selects nothing (as after a change of agreement).
    await page.evaluate(() => sessionStorage.setItem('cport.package-basket', JSON.stringify({ filter: { domain: 'none-such.example' }, total: 3 })));
    await page.reload();
    await page.waitForSelector('[data-testid="selection-summary"]');
    assert.equal(await page.textContent('[data-testid="selection-summary"]'), 'all 3 results of: domain=none-such.example');
    await page.fill('[data-testid="compose-title"]', 'Nothing');
    await page.click('[data-testid="compose-submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="selection-error"]').textContent !== '');
    assert.match(await page.textContent('[data-testid="selection-error"]'), /selects no report/);
    assert.match(await page.textContent('[data-testid="compose-form"] [data-testid="form-error"]'), /The package was not composed/);
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'compose-selection');
    assert.equal(await page.locator('[data-testid="package-row"]').count(), 2, 'nothing queued');
    await page.click('[data-testid="selection-empty-basket"]');
    await page.waitForSelector('[data-testid="selection-empty"]');
    assert.equal(await page.textContent('[data-testid="selection-error"]'), '', 'the message goes with the selection');
  });

  await t.test('a viewer follows packages but composes none', async () => {
    const de = await newActor(browser, 'DE viewer');
    try {
      await signIn(de.page, base, USERS.de.email, PASSWORD, /\/reports\.html/);
      await de.page.waitForSelector('[data-testid="results-body"] tr');
      assert.equal(await de.page.isHidden('[data-testid="basket-bar"]'), true, 'no basket for viewers');
      assert.equal(await de.page.locator('[data-testid="basket-row-check"]').count(), 0);
      await de.page.click('[data-testid="nav-packages"]');
      await de.page.waitForSelector('[data-testid="viewer-note"]:visible');
      assert.equal(await de.page.isHidden('[data-testid="compose-section"]'), true);
      await de.page.waitForSelector('[data-testid="packages-empty"]');
      await de.page.waitForSelector('[data-testid="public-key"]');
      await de.page.waitForTimeout(50);
      assert.deepEqual(de.problems, [], 'console errors / CSP violations');
    } finally {
      await de.context.close();
    }
  });
});
