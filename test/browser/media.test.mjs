// Browser test of media content (node:test + playwright-core + Debian chromium
// against a real stack whose import fetched generated pictures with --media).
// The NL analyst (agreement with media content) opens a report: the gallery shows
// the server's blurred greyscale previews and loads no original. Revealing one
// loads it through the audited content route and shows it blurred and grey, as the
// first original of every session is; the filters switch off per picture. With
// blur turned off on the account page, the next original shows unblurred but
// grey. After the re-authentication window passes, a reveal opens the password
// dialog first. A hash the feed got wrong is flagged. The DE viewer (no content)
// sees no gallery. Every step fails on console errors and CSP violations;
// screenshots go to test-artefacts/.
// Run: node --test --test-concurrency=1 test/browser/media.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, USERS, PASSWORD, Client } from '../lib/stack.mjs';
import { launchBrowser, newActor, signIn, screenshot, stepper } from './lib.mjs';

test('media previews and originals in the browser', { timeout: 240000 }, async (t) => {
  const stack = await startStack({ reports: 300, mediaFiles: 400 });
  t.after(() => stack.stop());
  const base = stack.base;
  // The NL agreement shares media content (as an operator sets it on the admin page).
  const op = new Client(base);
  await op.signIn(USERS.operator.email);
  const ag = (await op.get('/api/v1/admin/agreements')).body.items.find((a) => a.lea === 'NL Police');
  assert.equal((await op.req('PATCH', `/api/v1/admin/agreements/${ag.id}`, { media_content: true })).status, 200);
  // An NL report with at least two previewable pictures, one with a wrong MD5 in the feed if there is one.
  const rep = stack.sql(`SELECT m.report_id AS id, count(*) AS n, sum(m.hash_mismatch IS NOT NULL) AS bad
    FROM media m JOIN reports r ON r.id = m.report_id JOIN media_files f ON f.sha256 = m.file_sha256
    WHERE r.host_country = 'NL' AND f.preview = 1 GROUP BY m.report_id HAVING n >= 2
    ORDER BY bad DESC, n DESC LIMIT 1`)[0];
  assert.ok(rep, 'an NL report with pictures');

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const nl = await newActor(browser, 'NL analyst');
  const { page } = nl;
  const step = stepper(t, 'media', nl);
  const contentRequests = [];
  page.on('request', (r) => { if (/\/api\/v1\/media\/\d+\/content$/.test(r.url())) contentRequests.push(r.url()); });
  const tiles = '[data-testid="media-tile"]';

  await step('the report shows blurred greyscale previews and loads no original', async () => {
    await signIn(page, base, USERS.nl.email, PASSWORD, /\/reports\.html/);
    await page.goto(`${base}/report.html?id=${rep.id}`);
    await page.waitForSelector('[data-testid="media-gallery"]');
    const previews = page.locator('[data-testid="media-preview"]');
    assert.ok(await previews.count() >= 2);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="media-preview"]')]
      .every((img) => img.complete && img.naturalWidth > 0));
    const srcs = await previews.evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')));
    assert.ok(srcs.every((s) => /^\/api\/v1\/media\/\d+\/preview$/.test(s)), srcs.join());
    const dims = await previews.evaluateAll((imgs) => imgs.map((i) => Math.max(i.naturalWidth, i.naturalHeight)));
    assert.ok(dims.every((d) => d <= 192), 'previews are small');
    assert.deepEqual(contentRequests, [], 'no original was loaded');
    if (rep.bad) assert.match(await page.textContent('[data-testid="hash-mismatch"]'), /md5 differs/);
    await screenshot(page, 'media-previews');
  });

  await step('the first original of the session is shown blurred and grey; filters switch off', async () => {
    const tile = page.locator(tiles).first();
    await tile.locator('[data-testid="media-reveal"]').click();
    const orig = tile.locator('[data-testid="media-original"]');
    await orig.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="media-original"]').naturalWidth > 0);
    assert.match(await orig.getAttribute('class'), /\bf-blur\b/);
    assert.match(await orig.getAttribute('class'), /\bf-grey\b/);
    await tile.locator('[data-testid="first-view-note"]').waitFor();
    assert.equal(contentRequests.length, 1);
    const w = await orig.evaluate((img) => img.naturalWidth);
    assert.ok(w === 320 || w === 240, `the original's own size (${w})`);
    await tile.locator('[data-testid="toggle-blur"]').uncheck();
    await tile.locator('[data-testid="toggle-grey"]').uncheck();
    assert.doesNotMatch(await orig.getAttribute('class'), /f-blur|f-grey/);
    await screenshot(page, 'media-original-revealed');
    await tile.locator('[data-testid="media-hide"]').click();
    await page.locator(tiles).first().locator('[data-testid="media-preview"]').waitFor();
    const audited = stack.sql(`SELECT count(*) AS n FROM audit WHERE action = 'media.content' AND actor = '${USERS.nl.email}'`)[0].n;
    assert.equal(audited, 1, 'the reveal is on the audit trail');
  });

  await step('with blur off in the account, the next original shows unblurred but grey', async () => {
    await page.goto(`${base}/account.html`);
    await page.locator('[data-testid="pref-blur"]').uncheck();
    await page.waitForFunction(() => document.querySelector('[data-testid="media-prefs-status"]').textContent === 'Saved.');
    await page.goto(`${base}/report.html?id=${rep.id}`);
    const tile = page.locator(tiles).nth(1);
    await tile.locator('[data-testid="media-reveal"]').click();
    const orig = tile.locator('[data-testid="media-original"]');
    await orig.waitFor();
    const cls = await orig.getAttribute('class');
    assert.doesNotMatch(cls, /f-blur/);
    assert.match(cls, /f-grey/);
    assert.equal(await tile.locator('[data-testid="first-view-note"]').count(), 0);
  });

  await step('after the re-authentication window a reveal asks for the password first', async () => {
    stack.sql(`UPDATE sessions SET reauth_at = reauth_at - 3600 WHERE user_id = (SELECT id FROM users WHERE email = '${USERS.nl.email}')`);
    nl.allowed.push([403, /\/content$/]);
    await page.goto(`${base}/report.html?id=${rep.id}`);
    const tile = page.locator(tiles).first();
    await tile.locator('[data-testid="media-reveal"]').click();
    await page.waitForSelector('[data-testid="reauth-password"]');
    await page.fill('[data-testid="reauth-password"]', PASSWORD);
    await page.click('[data-testid="reauth-submit"]');
    await tile.locator('[data-testid="media-original"]').waitFor();
  });

  const de = await newActor(browser, 'DE viewer');
  await step('an LEA without media content sees no gallery', de, async () => {
    await signIn(de.page, base, USERS.de.email, PASSWORD, /\/reports\.html/);
    const deRep = stack.sql(`SELECT m.report_id AS id FROM media m JOIN reports r ON r.id = m.report_id
      WHERE r.host_country = 'DE' LIMIT 1`)[0];
    await de.page.goto(`${base}/report.html?id=${deRep.id}`);
    await de.page.waitForSelector('[data-testid="report-media"]');
    assert.equal(await de.page.locator('[data-testid="media-gallery"]').count(), 0);
    assert.equal(await de.page.locator('[data-testid="media-preview"]').count(), 0);
  });
});
