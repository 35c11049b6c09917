// Browser test of the hash-list pages (node:test + playwright-core + Debian chromium
// against a real stack: nginx + cport-fcgi + SQLite). The NL analyst signs in, creates a
// list (and sees a duplicate name refused), uploads a CSV through the file control (counts
// and the invalid line's number shown), pages through 120 entries 50 at a time, disables
// and removes an entry, shares the list with every hotline through the dialog, checks the
// export links, sees a report hit after correlation (and the report page's hash-hits
// module), then matches an uploaded md5 on match.html. Every step fails on console
// errors, page errors and CSP violations, except the HTTP errors it provokes on purpose;
// screenshots go to test-artefacts/.
// Run: node --test --test-concurrency=1 test/browser/hashlists.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startStack, clientFor, USERS, PASSWORD } from '../lib/stack.mjs';
import { launchBrowser, newActor, signIn, screenshot, stepper } from './lib.mjs';

const LIST = 'NL browser test list';
const hex = (n) => randomBytes(n).toString('hex');

// The hash values shown in the entries table, in order.
function entryValues(page) {
  return page.$$eval('[data-testid="entries-table"] [data-testid="entry-value"]', (cells) => cells.map((c) => c.textContent.trim()));
}

// Waits until the entries table has been (re)loaded.
async function waitForEntries(page) {
  await page.waitForSelector('[data-testid="entries-area"][aria-busy="false"] [data-testid="entries-table"]');
}

test('hash lists in the browser', { timeout: 240000 }, async (t) => {
  const stack = await startStack({ reports: 300 });
  t.after(() => stack.stop());
  const base = stack.base;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const nl = await newActor(browser, 'NL analyst');
  const { page } = nl;
  const step = stepper(t, 'hashlists', nl);

  // A media item NL may see with its hashes, so the list has a report hit after correlation.
  const media = stack.sql(`SELECT m.id AS media, r.id AS report, lower(hex(m.md5)) AS md5 FROM media m
    JOIN reports r ON r.id = m.report_id WHERE r.host_country = 'NL' AND m.md5 IS NOT NULL ORDER BY m.id LIMIT 1`)[0];
  assert.ok(media, 'an NL media item with an md5');
  // The upload: a header, 119 random md5s, the media's md5 last, one invalid line at line 42.
  const md5s = [...Array.from({ length: 119 }, () => hex(16)), media.md5];
  const lines = ['md5,category', ...md5s.map((m, i) => `${m},${i % 5}`)];
  const INVALID_LINE = 42;
  lines.splice(INVALID_LINE - 1, 0, 'zz-not-a-hash,1');
  const csv = Buffer.from(lines.join('\n') + '\n');

  let listId = 0;
  await step('sign in and create a list', async () => {
    await signIn(page, base, USERS.nl.email, PASSWORD, /\/reports\.html/);
    await page.goto(`${base}/hashlists.html`);
    await page.waitForSelector('[data-testid="create-form"]');
    assert.equal(await page.locator('[data-testid="hashlists-table-empty"]').count(), 1, 'no lists yet');
    await page.fill('[data-testid="create-name"]', LIST);
    await page.fill('[data-testid="create-description"]', 'Synthetic hashes for the browser test.');
    await page.selectOption('[data-testid="create-scheme"]', 'vic_us');
    await page.click('[data-testid="create-submit"]');
    await page.waitForURL(/\/hashlist\.html\?id=\d+$/);
    listId = Number(new URL(page.url()).searchParams.get('id'));
    await page.waitForSelector('[data-testid="upload-form"]');
    assert.equal((await page.textContent('[data-testid="list-title"]')).trim(), LIST);
    assert.match(await page.textContent('[data-testid="page-status"]'), /List created/);
    assert.equal((await page.textContent('[data-testid="list-entries"]')).trim(), '0');
    assert.equal(await page.locator('[data-testid="entries-table-empty"]').count(), 1);
  });

  await step('a duplicate name is refused with the server\'s problem', async () => {
    nl.allowed.push([409, /\/api\/v1\/hash-lists$/]);
    await page.goto(`${base}/hashlists.html`);
    await page.waitForSelector(`[data-testid="hashlist-row"][data-id="${listId}"]`);
    await page.fill('[data-testid="create-name"]', LIST);
    await page.click('[data-testid="create-submit"]');
    const banner = page.locator('[data-testid="create-form"] [data-testid="form-error"]');
    await banner.waitFor({ state: 'visible' });
    assert.match(await banner.textContent(), /The list was not created/);
    assert.ok(page.url().endsWith('/hashlists.html'), 'stays on the page');
    await screenshot(page, 'hashlists');
  });

  await step('upload a CSV file with progress and counts', async () => {
    await page.click(`[data-testid="hashlist-row"][data-id="${listId}"] [data-testid="hashlist-link"]`);
    await page.waitForSelector('[data-testid="upload-form"]');
    await page.setInputFiles('[data-testid="upload-file"]', { name: 'nl-test.csv', mimeType: 'text/csv', buffer: csv });
    // Record what the progress text says while the upload runs (too fast to catch by polling).
    await page.evaluate(() => {
      const node = document.querySelector('[data-testid="upload-progress-text"]');
      window.progressSeen = [];
      new MutationObserver(() => window.progressSeen.push(node.textContent)).observe(node, { childList: true, characterData: true, subtree: true });
    });
    await page.click('[data-testid="upload-submit"]');
    await page.waitForSelector('[data-testid="import-result"]');
    const seen = await page.evaluate(() => window.progressSeen);
    assert.ok(seen.some((s) => /^Sending: \d+ %/.test(s)), `upload progress shown: ${seen.join(' | ')}`);
    assert.ok(seen.includes('Processing on the server…'), `processing state shown: ${seen.join(' | ')}`);
    const count = async (id) => (await page.textContent(`[data-testid="${id}"]`)).trim();
    assert.equal(await count('import-added'), '120');
    assert.equal(await count('import-invalid'), '1');
    assert.equal(await count('import-removed'), '0');
    assert.equal(await count('import-version'), '1');
    const invalid = await page.$$eval('[data-testid="invalid-line"]', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent.trim())));
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0][0], String(INVALID_LINE), 'the invalid line number');
    assert.ok(invalid[0][1].length > 0, 'a reason');
    assert.match(await page.textContent('[data-testid="upload-phase"]'), /Import finished/);
    assert.equal(await page.isHidden('[data-testid="upload-progress-area"]'), true, 'progress gone after the answer');
    await page.waitForFunction(() => document.querySelector('[data-testid="list-entries"]').textContent.trim() === '120');
    assert.equal((await page.textContent('[data-testid="list-version"]')).trim(), '1');
    await screenshot(page, 'hashlist-upload');
  });

  let page2 = [];
  await step('page through the entries 50 at a time', async () => {
    await waitForEntries(page);
    assert.equal(await page.inputValue('[data-testid="entries-page-size"]'), '50');
    const first = await entryValues(page);
    assert.equal(first.length, 50);
    assert.deepEqual(first, md5s.slice(0, 50), 'first page in upload order');
    assert.match(await page.textContent('[data-testid="entries-count"]'), /Entries 1–50/);
    assert.equal(await page.isDisabled('[data-testid="entries-prev"]'), true);
    await page.click('[data-testid="entries-next"]');
    await page.waitForFunction(() => /Entries 51–100/.test(document.querySelector('[data-testid="entries-count"]').textContent));
    page2 = await entryValues(page);
    assert.deepEqual(page2, md5s.slice(50, 100));
    assert.match(await page.textContent('[data-testid="entries-page"]'), /Page 2/);
    await page.click('[data-testid="entries-next"]');
    await page.waitForFunction(() => /Entries 101–120/.test(document.querySelector('[data-testid="entries-count"]').textContent));
    assert.deepEqual(await entryValues(page), md5s.slice(100));
    assert.equal(await page.isDisabled('[data-testid="entries-next"]'), true, 'no page after the last');
    await page.click('[data-testid="entries-prev"]');
    await page.waitForFunction(() => /Entries 51–100/.test(document.querySelector('[data-testid="entries-count"]').textContent));
    assert.deepEqual(await entryValues(page), page2, 'previous returns to page 2');
    await page.click('[data-testid="entries-prev"]');
    await page.waitForFunction(() => /Entries 1–50/.test(document.querySelector('[data-testid="entries-count"]').textContent));
    assert.equal(await page.isDisabled('[data-testid="entries-prev"]'), true);
  });

  await step('disable and remove an entry', async () => {
    const row = page.locator(`[data-testid="entry-row"]`).first();
    const id = await row.getAttribute('data-id');
    await row.locator('[data-testid="entry-toggle"]').click();
    await page.waitForSelector(`[data-testid="entry-row"][data-id="${id}"] [data-testid="entry-state"]:text("disabled")`);
    assert.match(await page.textContent('[data-testid="entries-status"]'), /disabled/);
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'entry-toggle', 'focus stays on the row');
    const again = page.locator(`[data-testid="entry-row"][data-id="${id}"]`);
    await again.locator('[data-testid="entry-remove"]').click();
    await again.locator('[data-testid="entry-remove-confirm"]').click();
    await page.waitForSelector(`[data-testid="entry-row"][data-id="${id}"]`, { state: 'detached' });
    await page.waitForFunction(() => document.querySelector('[data-testid="list-entries"]').textContent.trim() === '119');
    assert.deepEqual((await entryValues(page)).slice(0, 2), md5s.slice(1, 3), 'the page moved up');
  });

  await step('share with every hotline through the dialog', async () => {
    assert.equal(await page.locator('[data-testid="shares-table-empty"]').count(), 1, 'not shared yet');
    // Escape closes the dialog and gives focus back to its button.
    await page.click('[data-testid="share-open"]');
    await page.waitForSelector('[data-testid="share-dialog"][open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="share-dialog"]:not([open])', { state: 'attached' });
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'share-open');
    await page.click('[data-testid="share-open"]');
    await page.waitForSelector('[data-testid="share-dialog"][open]');
    assert.equal(await page.isDisabled('[data-testid="share-org-id"]'), true, 'org id off while sharing by kind');
    await page.selectOption('[data-testid="share-kind"]', 'hotline');
    await screenshot(page, 'hashlist-share-dialog');
    await page.click('[data-testid="share-submit"]');
    await page.waitForSelector('[data-testid="share-dialog"]:not([open])', { state: 'attached' });
    await page.waitForSelector('[data-testid="share-row"]');
    assert.match(await page.textContent('[data-testid="share-target"]'), /Hotlines/);
    assert.match(await page.textContent('[data-testid="shares-status"]'), /Shared with every organisation of kind: Hotlines/);
    const hotline = await clientFor(stack, 'hotline');
    const seen = (await hotline.get('/api/v1/hash-lists')).body.items.find((l) => l.id === listId);
    assert.ok(seen && !seen.owned && seen.entries === 119, 'the hotline now reads the list');
  });

  await step('export links download the list and its changes', async () => {
    const href = await page.getAttribute('[data-testid="export-csv"]', 'href');
    assert.equal(href, `/api/v1/hash-lists/${listId}/export?format=csv`);
    assert.equal(await page.getAttribute('[data-testid="export-csv"]', 'download'), '');
    const res = await page.request.get(base + href);
    assert.equal(res.status(), 200);
    assert.ok((await res.text()).includes(md5s[5]), 'the export holds an uploaded hash');
    await page.fill('[data-testid="export-since"]', '1');
    assert.equal(await page.getAttribute('[data-testid="export-since-text"]', 'href'), `/api/v1/hash-lists/${listId}/export?format=text&since=1`);
    await page.fill('[data-testid="export-since"]', '99');
    assert.equal(await page.getAttribute('[data-testid="export-since-text"]', 'href'), null, 'no link past the list version');
    assert.match(await page.textContent('#' + (await page.getAttribute('[data-testid="export-since"]', 'id')) + '-error'), /version/);
  });

  await step('report hits after correlation, and the report page module', async () => {
    stack.cport(['hashlist', 'reindex']);
    await page.reload();
    await page.waitForSelector(`[data-testid="report-hit-row"][data-report-id="${media.report}"]`);
    await screenshot(page, 'hashlist');
    await page.click(`[data-testid="report-hit-row"][data-report-id="${media.report}"] [data-testid="report-hit-link"]`);
    await page.waitForURL(new RegExp(`/report\\.html\\?id=${media.report}$`));
    await page.waitForSelector('[data-testid="report-detail"]:visible');
    // hashhits.js (for report.js to wire in) renders the report's hits now.
    const text = await page.evaluate(async (id) => {
      const mod = await import('/js/hashhits.js');
      const slot = document.createElement('div');
      slot.setAttribute('data-testid', 'hash-hits-slot');
      document.getElementById('main').append(slot);
      const r = await mod.renderHashHits(slot, id);
      return r ? slot.textContent : '';
    }, media.report);
    assert.ok(text.includes(LIST), 'the list is named among the hash hits');
    assert.ok(await page.locator(`[data-testid="hash-hits-slot"] [data-testid="hash-hits-row"][data-media-id="${media.media}"]`).count() === 1);
  });

  await step('match an uploaded md5 on match.html', async () => {
    await page.goto(`${base}/match.html`);
    await page.waitForSelector('[data-testid="match-form"]');
    assert.equal(await page.isHidden('[data-testid="match-64"]'), true, 'no 64-digit choice without such lines');
    // A bad line is named before anything is sent.
    await page.fill('[data-testid="match-input"]', `${md5s[5]}\nabc`);
    await page.click('[data-testid="match-submit"]');
    const errId = `#${await page.getAttribute('[data-testid="match-input"]', 'id')}-error`;
    assert.match(await page.textContent(errId), /line 2/);
    const unknown = hex(16);
    await page.fill('[data-testid="match-input"]', `${md5s[5].toUpperCase()}\n${unknown}\n# a comment\n${hex(32)}`);
    await page.waitForSelector('[data-testid="match-64"]:visible');
    await page.click('[data-testid="match-submit"]');
    await page.waitForSelector('[data-testid="match-table"]');
    assert.equal(await page.textContent(errId), '', 'the error is gone');
    const rows = page.locator('[data-testid="match-row"]');
    assert.equal(await rows.count(), 3);
    assert.match(await rows.nth(0).locator('[data-testid="match-hits"]').textContent(), new RegExp(LIST));
    assert.equal(await rows.nth(0).locator('[data-testid="match-list-link"]').getAttribute('href'), `hashlist.html?id=${listId}`);
    assert.equal(await rows.nth(1).locator('[data-testid="match-hits-none"]').count(), 1, 'the unknown md5 matches nothing');
    assert.equal((await rows.nth(2).locator('td').nth(1).textContent()).trim(), 'SHA-256');
    assert.equal((await rows.nth(2).locator('td').first().textContent()).trim(), '4', 'rows name their lines');
    assert.match(await page.textContent('[data-testid="match-summary"]'), /3 hashes checked .*: 1 with matches, 0 with warning-list hits/);
    await page.check('[data-testid="match-only-hits"]');
    assert.equal(await page.locator('[data-testid="match-row"]:visible').count(), 1, 'only the hit stays');
    await screenshot(page, 'match');
  });
});
