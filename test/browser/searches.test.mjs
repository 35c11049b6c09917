// Browser test of saved searches and exports on the reports page (node:test +
// playwright-core + Debian chromium against a real stack). The NL analyst
// filters to NL image hosts, saves the search, sees it listed with nothing new;
// an import brings three new matching reports and the list says "3 new";
// opening it shows its reports and clears the count; the export links download
// the whole search as CSV (one line a report, as many as the search's total)
// and NDJSON. Fails on console errors and CSP violations.
// Run: node --test --test-concurrency=1 test/browser/searches.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, USERS, PASSWORD } from '../lib/stack.mjs';
import { launchBrowser, newActor, signIn, screenshot, stepper } from './lib.mjs';

// Downloads through a link of the page; returns the file's text.
async function download(page, dir, testid) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid="${testid}"]`)]);
  assert.equal(await dl.failure(), null);
  const file = join(dir, dl.suggestedFilename());
  await dl.saveAs(file);
  return { name: dl.suggestedFilename(), text: readFileSync(file, 'utf8') };
}

test('saved searches and exports in the browser', { timeout: 240000 }, async (t) => {
  const stack = await startStack({ reports: 1500 });
  t.after(() => stack.stop());
  const base = stack.base;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const nl = await newActor(browser, 'NL analyst');
  const { page } = nl;
  const step = stepper(t, 'searches', nl);
  const want = () => stack.sql("SELECT count(*) AS n FROM reports WHERE host_country = 'NL' AND site_type = 'image_host'")[0].n;

  await step('filter and save the search; it is listed with nothing new', async () => {
    await signIn(page, base, USERS.nl.email, PASSWORD, /\/reports\.html/);
    await page.waitForSelector('[data-testid="saved-searches"]:visible');
    await page.waitForSelector('[data-testid="filter-hosting_country"] option[value="NL"]', { state: 'attached' });
    await page.selectOption('[data-testid="filter-hosting_country"]', 'NL');
    await page.selectOption('[data-testid="filter-site_type"]', 'image_host');
    await page.click('[data-testid="apply-filters"]');
    await page.waitForURL(/site_type=image_host/);
    // The count of this search, not of the page's first load.
    await page.waitForFunction((n) => document.querySelector('[data-testid="result-count"]').dataset.total === String(n), want());
    await page.fill('[data-testid="save-name"]', 'NL image hosts');
    await page.click('[data-testid="save-search"]');
    await page.waitForSelector('[data-testid="saved-open"]:has-text("NL image hosts")');
    assert.equal(await page.locator('[data-testid="saved-new"]').count(), 0);
  });

  await step('after an import the list says how many are new; opening clears it', async () => {
    const maxUpdated = stack.sql('SELECT max(updated_at) AS m FROM reports')[0].m;
    const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
    const rep = (n, site) => ({
      iccam_id: `R-2027-6${String(n).padStart(6, '0')}`, updated_at: iso(maxUpdated + 60 + n), reported_at: iso(maxUpdated),
      reporting_hotline: 'DE-ECO', assessing_hotline: 'DE-ECO', url: `https://fresh-${n}.example.test/`, site_type: site,
      hosting: { country: 'NL', ip: '192.0.2.77', asn: 64502, provider: 'Example Hosting B.V.' }, commercial: false,
      status: 'assessed', timeline: {}, media: [],
    });
    const feed = join(stack.dir, 'fresh');
    mkdirSync(feed, { recursive: true });
    writeFileSync(join(feed, 'hotlines.json'), JSON.stringify({ hotlines: [] }));
    writeFileSync(join(feed, 'reports-0001.json'), JSON.stringify({
      reports: [rep(1, 'image_host'), rep(2, 'image_host'), rep(3, 'image_host'), rep(4, 'forum')], next_cursor: null, has_more: false,
    }));
    stack.cport(['import', '--feed', 'file://' + feed]);
    await page.goto(`${base}/reports.html`);
    await page.waitForSelector('[data-testid="saved-new"]');
    assert.equal(await page.textContent('[data-testid="saved-new"]'), '3 new');
    await screenshot(page, 'saved-searches');
    await page.click('[data-testid="saved-open"]');
    await page.waitForURL(/hosting_country=NL/);
    await page.waitForFunction((n) => document.querySelector('[data-testid="result-count"]').dataset.total === String(n), want());
    assert.match(page.url(), /site_type=image_host/);
    await page.waitForFunction(() => !document.querySelector('[data-testid="saved-new"]'));
  });

  await step('the export links download the whole search', async () => {
    const csv = await download(page, stack.dir, 'export-csv');
    assert.match(csv.name, /^cport-reports-\d{4}-\d\d-\d\d\.csv$/);
    const lines = csv.text.trimEnd().split('\n');
    assert.match(lines[0], /^id,iccam_id,url,domain,site_type,hosting_country/);
    assert.equal(lines.length - 1, want());
    assert.ok(lines.slice(1).every((l) => l.split(',')[5] === 'NL'));
    const nd = await download(page, stack.dir, 'export-ndjson');
    const rows = nd.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, want());
    assert.ok(rows.every((r) => r.site_type === 'image_host'));
  });
});
