// Browser test of the IWOL pages (node:test + playwright-core + Debian chromium against a
// real stack: nginx + cport-fcgi + SQLite). A domain with a baseline report hosted in NL
// and a report hosted in DE (made so in the synthetic fixture when the feed has none) goes
// the whole way: the NL analyst opens iwol.html?report=ID&domain=D (prefilled), is stopped
// by the client's checks and by the server's 400 beside the evidence field, suggests it,
// and cannot submit yet (the 409 shows beside the button); a DE analyst (made with the
// CLI) finds it under "To verify", sees none of the NL evidence, is asked for a note when
// disputing, and confirms; the NL analyst submits; INTERPOL finds it in the review queue,
// needs a reason, and accepts; the IWOL lists the domain and its CSV and text exports hold
// it. A DE viewer sees the list but no suggestion form. Every step fails on console errors,
// page errors and CSP violations (except the HTTP errors it provokes); screenshots go to
// test-artefacts/.
// Run: node --test --test-concurrency=1 test/browser/iwol.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, USERS, PASSWORD } from '../lib/stack.mjs';
import { launchBrowser, newActor, signIn, screenshot, stepper } from './lib.mjs';

const DE_ANALYST = 'de-analyst@police.example';
const JUSTIFICATION = 'Synthetic test data.\nA gallery site that serves Baseline material from several countries.';
const REASON = 'Verified by NL and DE; the evidence meets all three criteria (synthetic).';

// Runs writing SQL on the stack's database with a busy timeout (the server runs alongside).
function sqlWrite(stack, query) {
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', stack.db, query]);
}

// Quotes a value as an SQL string literal.
function lit(v) {
  return `'${String(v).replace(/'/g, "''")}'`;
}

// A domain with a baseline report hosted in NL and a report hosted in DE, and that NL
// report's id. When the fixture has none, the first DE report moves to the domain of the
// first NL baseline report (synthetic data; full-text row and cache counter kept in step).
function findDomain(stack) {
  const q = "SELECT r1.domain, r1.id AS nl_id FROM reports r1 WHERE r1.host_country='NL' AND r1.class_bits & 1"
    + " AND EXISTS (SELECT 1 FROM reports r2 WHERE r2.domain = r1.domain AND r2.host_country='DE') LIMIT 1";
  let row = stack.sql(q)[0];
  if (row) return row;
  const nl = stack.sql("SELECT id, domain FROM reports WHERE host_country='NL' AND class_bits & 1 ORDER BY id LIMIT 1")[0];
  const de = stack.sql("SELECT id, url, domain, host_provider FROM reports WHERE host_country='DE' ORDER BY id LIMIT 1")[0];
  assert.ok(nl && de, 'the fixture has NL baseline and DE reports');
  const url = de.url.split(de.domain).join(nl.domain);
  sqlWrite(stack, `BEGIN IMMEDIATE;
    INSERT INTO reports_fts(reports_fts, rowid, url, domain, host_provider) VALUES ('delete', ${de.id}, ${lit(de.url)}, ${lit(de.domain)}, ${de.host_provider === null ? 'NULL' : lit(de.host_provider)});
    UPDATE reports SET domain = ${lit(nl.domain)}, url = ${lit(url)} WHERE id = ${de.id};
    INSERT INTO reports_fts(rowid, url, domain, host_provider) SELECT id, url, domain, host_provider FROM reports WHERE id = ${de.id};
    UPDATE data_versions SET n = n + 1 WHERE name = 'reports';
    COMMIT;`);
  row = stack.sql(q)[0];
  assert.ok(row, 'the domain now has NL and DE reports');
  return row;
}

// The links of the header navigation, by test id.
function navLinks(page) {
  return page.$$eval('[data-testid="app-nav"] a', (as) => as.map((a) => a.getAttribute('data-testid')));
}

// The tabs iwol.html shows, by test id.
function tabIds(page) {
  return page.$$eval('[data-testid="iwol-tabs"] [role="tab"]', (ts) => ts.map((t) => t.getAttribute('data-testid')));
}

// The text of the error slot of a control (forms.js: #<id>-error).
async function fieldError(page, testid) {
  const id = await page.getAttribute(`[data-testid="${testid}"]`, 'id');
  return page.textContent(`#${id}-error`);
}

// The state shown on the suggestion page.
function pageState(page) {
  return page.getAttribute('[data-testid="suggestion-status"]', 'data-status');
}

// Downloads a file through a link of the page; returns its text and suggested name.
async function download(page, selector, dir, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  assert.equal(await dl.failure(), null, 'the download completed');
  const file = join(dir, name);
  await dl.saveAs(file);
  return { text: readFileSync(file, 'utf8'), suggested: dl.suggestedFilename() };
}

test('IWOL suggestion, verification, submission and decision in the browser', { timeout: 240000 }, async (t) => {
  const stack = await startStack({ reports: 400 });
  t.after(() => stack.stop());
  const base = stack.base;
  stack.cport(['user', 'add', '--org', 'DE Police', '--email', DE_ANALYST, '--role', 'analyst'], `${PASSWORD}\n`);
  const { domain, nl_id: nlId } = findDomain(stack);
  const other = stack.sql(`SELECT id FROM reports WHERE host_country = 'NL' AND domain != ${lit(domain)} ORDER BY id LIMIT 1`)[0].id;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const nl = await newActor(browser, 'NL analyst');
  const de = await newActor(browser, 'DE analyst');
  const ip = await newActor(browser, 'INTERPOL analyst');
  const step = stepper(t, 'iwol');
  let id = 0;

  await step('the NL analyst has IWOL in the navigation and its tabs', nl, async () => {
    const { page } = nl;
    await signIn(page, base, USERS.nl.email, PASSWORD, /\/reports\.html/);
    await page.waitForSelector('[data-testid="nav-iwol"]');
    assert.deepEqual(await navLinks(page), ['nav-reports', 'nav-packages', 'nav-hashlists', 'nav-match', 'nav-dashboard', 'nav-iwol', 'nav-account']);
    await page.click('[data-testid="nav-iwol"]');
    await page.waitForURL(/\/iwol\.html$/);
    await page.waitForSelector('[data-testid="suggest-form"]');
    assert.deepEqual(await tabIds(page), ['tab-suggest', 'tab-mine', 'tab-verify', 'tab-list']);
    assert.equal(await page.getAttribute('[data-testid="nav-iwol"]', 'aria-current'), 'page');
    await page.click('[data-testid="tab-mine"]');
    await page.waitForSelector('[data-testid="mine-table-empty"]');
    await page.waitForURL(/#mine$/);
  });

  await step('a prefilled suggestion is checked by the page, then by the server', nl, async () => {
    const { page } = nl;
    await page.goto(`${base}/iwol.html?report=${nlId}&domain=${encodeURIComponent(domain)}`);
    await page.waitForSelector('[data-testid="suggest-form"]');
    assert.equal(await page.getAttribute('[data-testid="tab-suggest"]', 'aria-selected'), 'true', 'the form opens');
    assert.equal(await page.inputValue('[data-testid="suggest-domain"]'), domain);
    assert.equal(await page.inputValue('[data-testid="suggest-evidence"]'), String(nlId));
    assert.match(await page.textContent('[data-testid="suggest-prefilled"]'), new RegExp(`report #${nlId}`));
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'suggest-justification');
    // Nothing affirmed, no justification: the page says so beside each field.
    await page.click('[data-testid="suggest-submit"]');
    assert.match(await fieldError(page, 'suggest-justification'), /why/);
    for (const c of ['real_children', 'under_13', 'severe_abuse']) {
      assert.match(await fieldError(page, `suggest-criteria-${c}`), /Affirm this criterion/);
    }
    assert.match(await page.textContent('[data-testid="suggest-form"] [data-testid="form-error"]'), /4 fields need attention/);
    await page.fill('[data-testid="suggest-justification"]', JUSTIFICATION);
    for (const c of ['real_children', 'under_13', 'severe_abuse']) await page.check(`[data-testid="suggest-criteria-${c}"]`);
    // A report of another domain: the server's 400 names the evidence field.
    nl.allowed.push([400, /\/api\/v1\/iwol$/]);
    await page.fill('[data-testid="suggest-evidence"]', `${nlId}, ${other}`);
    await page.click('[data-testid="suggest-submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="suggest-evidence"]').getAttribute('aria-invalid') === 'true');
    assert.match(await fieldError(page, 'suggest-evidence'), new RegExp(`in your scope and on ${domain.replace(/\./g, '\\.')}`));
    assert.match(await page.textContent('[data-testid="suggest-form"] [data-testid="form-error"]'), /The domain was not suggested/);
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'suggest-evidence');
    assert.equal(stack.sql('SELECT count(*) AS n FROM iwol_suggestions')[0].n, 0, 'nothing stored');
  });

  await step('the NL analyst suggests the domain', nl, async () => {
    const { page } = nl;
    await page.fill('[data-testid="suggest-evidence"]', `#${nlId}\n`);
    await page.click('[data-testid="suggest-submit"]');
    await page.waitForSelector('[data-testid="suggest-result"]');
    assert.equal(await page.getAttribute('[data-testid="suggest-result"]', 'data-merged'), 'false');
    id = Number(await page.getAttribute('[data-testid="suggest-result"]', 'data-id'));
    assert.ok(id > 0);
    assert.match(await page.textContent('[data-testid="suggest-result-text"]'), new RegExp(`Suggestion #${id} for ${domain.replace(/\./g, '\\.')} is open`));
    assert.equal(await page.inputValue('[data-testid="suggest-domain"]'), '', 'the form is reset');
    const row = stack.sql(`SELECT domain, status, country FROM iwol_suggestions WHERE id = ${id}`)[0];
    assert.deepEqual(row, { domain, status: 'open', country: 'NL' });
    await screenshot(page, 'iwol-suggested');
    await page.click('[data-testid="tab-mine"]');
    const mine = page.locator(`[data-testid="mine-table"] [data-testid="iwol-row"][data-id="${id}"]`);
    await mine.waitFor();
    assert.equal(await mine.getAttribute('data-status'), 'open');
    assert.equal(await mine.locator('[data-testid="iwol-next-step"]').textContent(), 'Waiting for another country to confirm');
  });

  await step('the suggestion page shows it; submitting too early explains the 409', nl, async () => {
    const { page } = nl;
    await page.click(`[data-testid="mine-table"] [data-testid="iwol-row"][data-id="${id}"] [data-testid="iwol-domain-link"]`);
    await page.waitForURL(new RegExp(`/iwol-suggestion\\.html\\?id=${id}$`));
    await page.waitForSelector('[data-testid="suggestion"]:visible');
    assert.equal(await page.textContent('[data-testid="suggestion-domain"]'), domain);
    assert.equal(await pageState(page), 'open');
    assert.equal(await page.textContent('[data-testid="suggestion-justification"]'), JUSTIFICATION);
    assert.equal(await page.locator('[data-testid="suggestion-criteria"] li.is-yes').count(), 3);
    assert.equal(await page.textContent('[data-testid="confirmation-text"]'), '1 of 2 countries confirm');
    assert.equal(await page.textContent('[data-testid="evidence-reports"]'), '1');
    assert.equal(await page.getAttribute(`[data-testid="evidence-row"][data-id="${nlId}"] [data-testid="evidence-link"]`, 'href'), `report.html?id=${nlId}`);
    assert.equal(await page.getAttribute('[data-testid="nav-iwol"]', 'aria-current'), 'page');
    assert.equal(await page.locator('[data-testid="action-verify"]').count(), 0, 'no verdict on your own suggestion');
    assert.equal(await page.locator('[data-testid="events"] [data-testid="event"][data-action="suggest"]').count(), 1);
    nl.allowed.push([409, new RegExp(`/api/v1/iwol/${id}/submit$`)]);
    await page.click('[data-testid="submit-button"]');
    const err = page.locator('[data-testid="submit-form"] [data-testid="form-error"]');
    await err.waitFor();
    assert.match(await err.textContent(), /at least two countries must confirm/);
    assert.equal(await pageState(page), 'open');
    await screenshot(page, 'iwol-suggestion-open');
  });

  await step('the DE analyst confirms it from "To verify"', de, async () => {
    const { page } = de;
    await signIn(page, base, DE_ANALYST, PASSWORD, /\/reports\.html/);
    await page.click('[data-testid="nav-iwol"]');
    await page.waitForURL(/\/iwol\.html$/);
    await page.waitForSelector('[data-testid="iwol-tabs"]');
    assert.deepEqual(await tabIds(page), ['tab-suggest', 'tab-mine', 'tab-verify', 'tab-list']);
    await page.click('[data-testid="tab-verify"]');
    const row = page.locator(`[data-testid="verify-table"] [data-testid="iwol-row"][data-id="${id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-verdict'), '', 'no verdict yet');
    assert.match(await row.textContent(), /NL Police \(NL\)/);
    assert.doesNotMatch(await page.textContent('[data-testid="panel-verify"]'), /\bnull\b|undefined/);
    await screenshot(page, 'iwol-to-verify');
    await row.locator('[data-testid="iwol-verify-link"]').click();
    await page.waitForURL(new RegExp(`/iwol-suggestion\\.html\\?id=${id}#verify$`));
    await page.waitForSelector('[data-testid="action-verify"]');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'action-verify', 'focus on the verdict');
    // DE sees none of the NL evidence, only the summary, and a link to its own reports of the domain.
    await page.waitForSelector('[data-testid="evidence-table-empty"]');
    assert.equal(await page.textContent('[data-testid="evidence-reports"]'), '1');
    assert.equal(await page.getAttribute('[data-testid="domain-reports-link"]', 'href'), `reports.html?domain=${encodeURIComponent(domain)}`);
    assert.equal(await page.locator('[data-testid="action-submit"]').count(), 0, 'only the suggester submits');
    // A dispute needs a note.
    await page.check('[data-testid="verify-dispute"]');
    await page.click('[data-testid="verify-submit"]');
    assert.match(await fieldError(page, 'verify-note'), /why you dispute/);
    await page.check('[data-testid="verify-confirm"]');
    await page.fill('[data-testid="verify-note"]', 'Our DE-hosted report of this domain shows the same series (synthetic).');
    await page.click('[data-testid="verify-submit"]');
    await page.waitForFunction(() => /confirmed/.test(document.querySelector('[data-testid="page-status"]').textContent));
    await page.waitForSelector('[data-testid="verification-row"][data-verdict="confirm"][data-country="DE"]');
    assert.equal(await page.textContent('[data-testid="confirmation-text"]'), '2 countries confirm (2 needed)');
    assert.deepEqual((await page.$$eval('[data-testid="countries-confirming"] abbr', (as) => as.map((a) => a.textContent))).sort(), ['DE', 'NL']);
    assert.match(await page.textContent('[data-testid="verify-own"]'), /confirmed/);
    await screenshot(page, 'iwol-confirmed');
  });

  await step('the NL analyst submits it to INTERPOL', nl, async () => {
    const { page } = nl;
    await page.reload();
    await page.waitForSelector('[data-testid="suggestion"]:visible');
    assert.equal(await page.textContent('[data-testid="confirmation-text"]'), '2 countries confirm (2 needed)');
    assert.match(await page.textContent('[data-testid="action-submit"]'), /Confirmed by 2 countries/);
    await page.click('[data-testid="submit-button"]');
    await page.waitForSelector('[data-testid="suggestion-status"][data-status="submitted"]');
    assert.match(await page.textContent('[data-testid="page-status"]'), /submitted to INTERPOL/);
    assert.equal(await page.locator('[data-testid="action-submit"]').count(), 0, 'nothing more to submit');
    assert.equal(await page.locator('[data-testid="events"] [data-testid="event"][data-action="submit"]').count(), 1);
    assert.equal(stack.sql(`SELECT status FROM iwol_suggestions WHERE id = ${id}`)[0].status, 'submitted');
  });

  await step('INTERPOL accepts it from the review queue with a reason', ip, async () => {
    const { page } = ip;
    await signIn(page, base, USERS.interpol.email, PASSWORD, /\/reports\.html/);
    await page.click('[data-testid="nav-iwol"]');
    await page.waitForURL(/\/iwol\.html$/);
    await page.waitForSelector('[data-testid="iwol-tabs"]');
    assert.deepEqual(await tabIds(page), ['tab-review', 'tab-list']);
    const row = page.locator(`[data-testid="review-table"] [data-testid="iwol-row"][data-id="${id}"]`);
    await row.waitFor();
    assert.deepEqual((await row.locator('[data-testid="iwol-countries"] abbr').allTextContents()).sort(), ['DE', 'NL']);
    assert.doesNotMatch(await page.textContent('[data-testid="panel-review"]'), /\bnull\b|undefined/);
    await screenshot(page, 'iwol-review-queue');
    // No decision without a reason.
    await row.locator('[data-testid="review-accept"]').click();
    const reasonId = await row.locator('[data-testid="review-reason"]').getAttribute('id');
    assert.match(await page.textContent(`#${reasonId}-error`), /reason to accept/);
    await row.locator('[data-testid="review-reason"]').fill(REASON);
    await row.locator('[data-testid="review-accept"]').click();
    await page.waitForSelector('[data-testid="review-table-empty"]');
    assert.match(await page.textContent('[data-testid="panel-review-status"]'), new RegExp(`${domain.replace(/\./g, '\\.')}: accepted`));
    const stored = stack.sql(`SELECT status, decision_reason FROM iwol_suggestions WHERE id = ${id}`)[0];
    assert.deepEqual(stored, { status: 'accepted', decision_reason: REASON });
  });

  await step('the IWOL lists the domain and its exports hold it', ip, async () => {
    const { page } = ip;
    await page.click('[data-testid="tab-list"]');
    const row = page.locator(`[data-testid="list-table"] [data-testid="iwol-row"][data-id="${id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-domain'), domain);
    assert.equal(await page.getAttribute('[data-testid="export-csv"]', 'href'), '/api/v1/iwol/export?format=csv');
    const csv = await download(page, '[data-testid="export-csv"]', stack.dir, 'iwol.csv');
    assert.equal(csv.suggested, 'iwol.csv');
    const lines = csv.text.trim().split('\n');
    assert.equal(lines[0], 'domain,listed_at,suggested_by');
    assert.ok(lines.some((l) => l.startsWith(`${domain},`) && l.endsWith(',NL')), csv.text);
    const text = await download(page, '[data-testid="export-text"]', stack.dir, 'iwol.txt');
    assert.deepEqual(text.text.trim().split('\n'), [domain]);
    await screenshot(page, 'iwol-list');
    // The suggestion page shows the decision and offers delisting.
    await row.locator('[data-testid="iwol-domain-link"]').click();
    await page.waitForSelector('[data-testid="suggestion-status"][data-status="accepted"]');
    assert.equal(await page.textContent('[data-testid="decision-reason"]'), REASON);
    assert.equal(await page.locator('[data-testid="events"] [data-testid="event"][data-action="accept"]').count(), 1);
    await page.waitForSelector('[data-testid="decide-delist"]');
    assert.equal(await page.locator('[data-testid="action-delisting"]').count(), 0, 'INTERPOL delists directly');
    await screenshot(page, 'iwol-accepted');
  });

  await step('the NL analyst sees it accepted', nl, async () => {
    const { page } = nl;
    await page.goto(`${base}/iwol.html#list`);
    await page.waitForSelector(`[data-testid="list-table"] [data-testid="iwol-row"][data-id="${id}"]`);
    await page.click('[data-testid="tab-mine"]');
    await page.waitForSelector(`[data-testid="mine-table"] [data-testid="iwol-row"][data-id="${id}"][data-status="accepted"]`);
    // A listed domain: others may ask INTERPOL to delist it.
    await page.goto(`${base}/iwol-suggestion.html?id=${id}`);
    await page.waitForSelector('[data-testid="action-delisting"]');
    assert.equal(await page.locator('[data-testid="action-decide"]').count(), 0, 'only INTERPOL decides');
  });

  await t.test('a DE viewer reads the list but suggests nothing', { skip: !id && 'no suggestion was made' }, async () => {
    const viewer = await newActor(browser, 'DE viewer');
    try {
      await signIn(viewer.page, base, USERS.de.email, PASSWORD, /\/reports\.html/);
      await viewer.page.click('[data-testid="nav-iwol"]');
      await viewer.page.waitForSelector('[data-testid="iwol-tabs"]');
      assert.deepEqual(await tabIds(viewer.page), ['tab-mine', 'tab-list']);
      await viewer.page.click('[data-testid="tab-list"]');
      await viewer.page.waitForSelector(`[data-testid="list-table"] [data-testid="iwol-row"][data-id="${id}"]`);
      await viewer.page.waitForTimeout(50);
      assert.deepEqual(viewer.problems, [], 'console errors / CSP violations');
    } finally {
      await viewer.context.close();
    }
  });
});
