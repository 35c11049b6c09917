// Browser test of the dashboard (node:test + playwright-core + Debian chromium against a
// real stack: nginx + cport-fcgi + SQLite with 3000 generated reports). The NL analyst
// opens it from the navigation: the stacked chart has one bar per bucket of the API's
// answer and its segments (data-value) add up to the API's numbers, the "Show table"
// button reveals a table holding the same series, the CSV download has a header and a
// line per bucket (formula-like cells escaped), the map has a circle per hosting
// country of the series, the other charts are drawn, and the view (interval, period)
// lives in the URL. The DE viewer, whose agreement shares no media metadata, gets the
// page without the classification option and without errors. An operator gets the
// time-series charts and the map (operators read /stats/timeseries as counts),
// and otherwise the page's "not available" note. Every step fails on console errors,
// page errors and CSP violations; test-artefacts/dashboard.png is the screenshot.
// Run: CPORT_BUILD=build node --test test/browser/dashboard.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, USERS, PASSWORD, clientFor } from '../lib/stack.mjs';
import { launchBrowser, newActor, signIn, screenshot, stepper } from './lib.mjs';

// The page orders status series by the workflow.
const STATUS_ORDER = ['received', 'assessed', 'forwarded', 'lea_notified', 'ntd_sent', 'content_removed', 'closed'];

// Waits for the page's GET /stats/timeseries with these parameters; resolves with the
// request's path and query (to ask the API the same question).
function seriesRequest(page, params) {
  return page.waitForRequest((req) => {
    const u = new URL(req.url());
    return u.pathname === '/api/v1/stats/timeseries'
      && Object.entries(params).every(([k, v]) => u.searchParams.get(k) === v);
  }).then((req) => { const u = new URL(req.url()); return u.pathname + u.search; });
}

// The stacked chart's bars: bucket and segments ({key: value}) of each.
function readBars(page) {
  return page.$$eval('[data-testid="panel-reports"] svg g.bar', (gs) => gs.map((g) => ({
    bucket: g.getAttribute('data-bucket'),
    segs: Object.fromEntries([...g.querySelectorAll('rect.seg')].map((r) => [r.getAttribute('data-key'), Number(r.getAttribute('data-value'))])),
    titles: [...g.querySelectorAll('rect.seg > title')].length,
  })));
}

// A number as the page's tables print it ("1,234" → 1234, "—" → null).
function cellNumber(text) {
  const t = text.trim();
  return t === '—' ? null : Number(t.replace(/,/g, ''));
}

test('the dashboard in the browser', { timeout: 300000 }, async (t) => {
  const stack = await startStack({ reports: 3000 });
  t.after(() => stack.stop());
  const { base } = stack;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const nl = await newActor(browser, 'NL analyst');
  const { page } = nl;
  const step = stepper(t, 'dashboard', nl);
  const nlApi = await clientFor(stack, 'nl');
  // The API's answer to a request the page made, asked again outside the browser.
  const ask = async (client, path) => {
    const r = await client.get(path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return r.body;
  };

  let reports = null; // the API's weekly series by status, as the page asked for it
  let mapPath = '';
  await step('sign in and open the dashboard from the navigation', async () => {
    await signIn(page, base, USERS.nl.email, PASSWORD, /\/reports\.html/);
    await page.waitForSelector('[data-testid="nav-dashboard"]');
    const asked = seriesRequest(page, { metric: 'reports', interval: 'week', group_by: 'status' });
    const askedMap = seriesRequest(page, { group_by: 'hosting_country' });
    await page.click('[data-testid="nav-dashboard"]');
    await page.waitForURL(/\/dashboard\.html$/);
    assert.equal(await page.getAttribute('[data-testid="nav-dashboard"]', 'aria-current'), 'page');
    reports = await ask(nlApi, await asked);
    mapPath = await askedMap;
    assert.ok(reports.buckets.length > 20, 'weeks of data');
    await page.waitForSelector('[data-testid="panel-reports"] svg.chart');
    await page.waitForSelector('[data-testid="loading"]', { state: 'hidden' });
    assert.match(await page.textContent('[data-testid="range-summary"]'), /^From \d+ \w+ \d{4} to today, per week/);
    assert.equal(await page.inputValue('[data-testid="control-period"]'), '12m');
    assert.equal(await page.inputValue('[data-testid="control-interval"]'), 'week');
    assert.equal(await page.locator('[data-testid="control-by"] option[value="international"]').count(), 1, 'NL shares classifications');
  });

  await step('one bar per bucket; segments add up to the API numbers', async () => {
    const bars = await readBars(page);
    assert.equal(bars.length, reports.buckets.length);
    reports.buckets.forEach((b, i) => {
      assert.equal(bars[i].bucket, b);
      const expected = Object.fromEntries(reports.series.filter((s) => s.values[i]).map((s) => [s.key, s.values[i]]));
      assert.deepEqual(bars[i].segs, expected, `bucket ${b}`);
      const sum = Object.values(bars[i].segs).reduce((a, v) => a + v, 0);
      assert.equal(sum, reports.series.reduce((a, s) => a + s.values[i], 0), `total of ${b}`);
      assert.equal(bars[i].titles, Object.keys(expected).length, 'a tooltip per segment');
    });
    const svg = page.locator('[data-testid="panel-reports"] svg.chart');
    assert.equal(await svg.getAttribute('role'), 'img');
    const total = reports.series.reduce((a, s) => a + s.total, 0);
    assert.match(await svg.getAttribute('aria-label'), new RegExp(`${reports.buckets.length} weeks .* ${total.toLocaleString('en')} reports in all`));
    const legend = await page.$$eval('[data-testid="panel-reports"] [data-testid="legend"] li', (lis) => lis.map((li) => li.textContent));
    assert.equal(legend.length, reports.series.length, 'a legend entry per status');
    assert.ok(await page.locator('[data-testid="panel-reports"] .axis-y text').count() >= 3, 'y ticks');
    assert.ok(await page.locator('[data-testid="panel-reports"] .axis-x text').count() >= 5, 'period labels');
  });

  await step('"Show table" reveals the same numbers as a table', async () => {
    const panel = page.locator('[data-testid="panel-reports"]');
    const toggle = panel.locator('[data-testid="table-toggle"]');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await panel.locator('[data-testid="chart-table"]').isVisible(), false);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const table = panel.locator('[data-testid="chart-table"]');
    assert.equal(await table.isVisible(), true);
    assert.equal(await table.locator('caption').textContent(), 'Reports per week by status');
    assert.equal(await table.locator('thead th[scope="col"]').count(), reports.series.length + 2);
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      head: tr.querySelector('th[scope="row"]').textContent,
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
    })));
    const keys = reports.series.map((s) => s.key).sort((a, b) => STATUS_ORDER.indexOf(a) - STATUS_ORDER.indexOf(b));
    const byKey = Object.fromEntries(reports.series.map((s) => [s.key, s.values]));
    assert.equal(rows.length, reports.buckets.length);
    reports.buckets.forEach((b, i) => {
      assert.equal(rows[i].head, b.slice(0, 10));
      const expected = keys.map((k) => byKey[k][i]);
      assert.deepEqual(rows[i].cells.map(cellNumber), [...expected, expected.reduce((a, v) => a + v, 0)], `row ${b}`);
    });
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await table.isVisible(), false);
  });

  await step('"Download CSV" gives a header and one line per bucket', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-testid="panel-reports"] [data-testid="csv-link"]'),
    ]);
    assert.equal(await download.failure(), null);
    assert.match(download.suggestedFilename(), /^cport-reports-per-week-by-status-\d{4}-\d{2}-\d{2}-to-now\.csv$/);
    const file = join(stack.dir, 'dashboard.csv');
    await download.saveAs(file);
    const lines = readFileSync(file, 'utf8').split('\r\n');
    assert.equal(lines.pop(), '', 'ends with a line break');
    assert.match(lines[0], /^Week starting,Received,.*,Total$/);
    assert.equal(lines.length, 1 + reports.buckets.length);
    reports.buckets.forEach((b, i) => {
      const cells = lines[i + 1].split(',');
      assert.equal(cells[0], b.slice(0, 10));
      assert.equal(Number(cells.at(-1)), reports.series.reduce((a, s) => a + s.values[i], 0));
    });
    // Cells a spreadsheet would run as formulas stay text.
    const cells = await page.evaluate(async () => {
      const { csvCell } = await import('/js/charts.js');
      return ['=1+1', '+1', '-1', '@SUM(A1)', 'a,b', 'say "hi"', 7].map(csvCell);
    });
    assert.deepEqual(cells, ["'=1+1", "'+1", "'-1", "'@SUM(A1)", '"a,b"', '"say ""hi"""', '7']);
  });

  await step('the map has a circle per hosting country of the series', async () => {
    const answer = await ask(nlApi, mapPath);
    const codes = answer.series.map((s) => s.key).filter((k) => k !== 'unknown').sort();
    assert.ok(codes.length > 5, 'several hosting countries');
    const circles = await page.$$eval('[data-testid="panel-map"] svg circle', (cs) => cs.map((c) => [c.getAttribute('data-code'), Number(c.getAttribute('data-value'))]));
    assert.deepEqual(circles.map(([c]) => c).sort(), codes);
    for (const [code, value] of circles) assert.equal(value, answer.series.find((s) => s.key === code).total, code);
    assert.equal(await page.locator('[data-testid="panel-map"] .bubble title').count(), codes.length, 'a title per circle');
    assert.match(await page.locator('[data-testid="panel-map"] .bubble[data-code="NL"] title').textContent(), /^Netherlands \(NL\): [\d,]+ reports$/);
    const unknown = answer.series.find((s) => s.key === 'unknown');
    if (unknown) assert.match(await page.textContent('[data-testid="panel-map"] [data-testid="panel-note"]'), /Not on the map: Unknown/);
  });

  await step('site types, top lists, removal time and media are drawn', async () => {
    const hbars = (name) => page.locator(`[data-testid="panel-${name}"] svg g.hbar`).count();
    const sites = await ask(nlApi, mapPath.replace('group_by=hosting_country', 'group_by=site_type'));
    assert.equal(await hbars('sites'), sites.series.length);
    assert.equal(await hbars('providers'), 10);
    assert.equal(await hbars('asns'), 10);
    assert.match(await page.textContent('[data-testid="panel-asns"] svg g.hbar text'), /^AS\d+$/);
    const removal = page.locator('[data-testid="panel-removal"] svg.chart');
    assert.equal(await removal.locator('.series-line').count(), 2, 'median and 90th percentile');
    assert.equal(await removal.locator('.series-line[data-key="p90"] path.stroke.dashed').count(), 1, 'the percentile is dashed');
    assert.match(await removal.getAttribute('aria-label'), /median from [\d.]+ to [\d.]+ (days|hours)/);
    const media = page.locator('[data-testid="panel-media"] svg.chart');
    assert.ok(await media.locator('g.bar').count() > 20, 'media bars');
    assert.equal(await media.locator('.series-line[data-key="removed"]').count(), 1, 'the removed line');
    for (const name of ['sites', 'providers', 'asns', 'removal', 'media', 'map']) {
      const p = page.locator(`[data-testid="panel-${name}"]`);
      assert.equal(await p.locator('svg[role="img"][aria-label]').count(), 1, `${name}: an image with a summary`);
      assert.equal(await p.locator('[data-testid="table-toggle"][aria-expanded="false"]').count(), 1, `${name}: a table toggle`);
      assert.equal(await p.locator('[data-testid="csv-link"][download]').count(), 1, `${name}: a CSV link`);
    }
    await screenshot(page, 'dashboard');
  });

  await step('interval and period are kept in the URL', async () => {
    const asked = seriesRequest(page, { metric: 'reports', interval: 'month', group_by: 'status' });
    await page.selectOption('[data-testid="control-interval"]', 'month');
    await page.waitForURL(/\/dashboard\.html\?interval=month$/);
    const months = await ask(nlApi, await asked);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="panel-reports"] svg g.bar').length === n, months.buckets.length);
    assert.equal(await page.textContent('[data-testid="panel-reports"] h2'), 'Reports per month by status');
    await page.selectOption('[data-testid="control-period"]', 'all');
    await page.waitForURL(/\/dashboard\.html\?period=all&interval=month$/);
    await page.waitForSelector('[data-testid="loading"]', { state: 'hidden' });
    assert.equal(await page.textContent('[data-testid="range-summary"]'), 'All reports, per month (UTC).');
    await page.reload();
    await page.waitForSelector('[data-testid="panel-reports"] svg.chart');
    assert.equal(await page.inputValue('[data-testid="control-interval"]'), 'month');
    assert.equal(await page.inputValue('[data-testid="control-period"]'), 'all');
    // Own dates, applied with the button.
    await page.selectOption('[data-testid="control-period"]', 'custom');
    await page.fill('[data-testid="control-from"]', '2026-01-01');
    await page.fill('[data-testid="control-to"]', '2026-03-31');
    await page.click('[data-testid="control-apply"]');
    await page.waitForURL(/\/dashboard\.html\?from=2026-01-01&to=2026-03-31&interval=month$/);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="panel-reports"] svg g.bar').length === 3);
    await page.goBack();
    await page.waitForURL(/\/dashboard\.html\?period=all&interval=month$/);
    await page.waitForSelector('[data-testid="loading"]', { state: 'hidden' });
    assert.equal(await page.inputValue('[data-testid="control-period"]'), 'all');
  });

  await t.test('the DE viewer (no media metadata) gets the page without classifications', async () => {
    const de = await newActor(browser, 'DE viewer');
    try {
      await signIn(de.page, base, USERS.de.email, PASSWORD, /\/reports\.html/);
      await de.page.click('[data-testid="nav-dashboard"]');
      await de.page.waitForSelector('[data-testid="panel-map"] svg.chart');
      await de.page.waitForSelector('[data-testid="loading"]', { state: 'hidden' });
      assert.equal(await de.page.locator('[data-testid="control-by"] option[value="international"]').count(), 0);
      assert.deepEqual(await de.page.$$eval('[data-testid="panel-map"] svg circle', (cs) => cs.map((c) => c.getAttribute('data-code'))), ['DE']);
      assert.ok(await de.page.locator('[data-testid="panel-reports"] svg g.bar').count() > 0);
      // A link asking for classifications falls back to statuses.
      await de.page.goto(`${base}/dashboard.html?by=international`);
      await de.page.waitForURL(/\/dashboard\.html$/);
      await de.page.waitForSelector('[data-testid="panel-reports"] svg.chart');
      assert.equal(await de.page.textContent('[data-testid="panel-reports"] h2'), 'Reports per week by status');
      assert.equal(await de.page.isHidden('[data-testid="error-banner"]'), true);
      await de.page.waitForTimeout(50);
      assert.deepEqual(de.problems, [], 'console errors / CSP violations');
    } finally {
      await de.context.close();
    }
  });

  await t.test('an operator gets the series and the map (counts over every report), no top lists', async () => {
    // Operators read the time series as aggregate counts only (lib/stats.c).
    const opApi = await clientFor(stack, 'operator');
    const allowed = (await opApi.get('/api/v1/stats/timeseries?group_by=hosting_country&interval=month')).status;
    assert.equal(allowed, 200, 'operators may read the time series');
    assert.equal((await opApi.get('/api/v1/stats/top?field=provider')).status, 403);
    const op = await newActor(browser, 'operator');
    try {
      if (allowed === 403) op.allowed.push([403, /\/api\/v1\/stats\/timeseries/]);
      const topRequests = [];
      op.page.on('request', (req) => { if (/\/api\/v1\/stats(\/top)?(\?|$)/.test(req.url())) topRequests.push(req.url()); });
      await signIn(op.page, base, USERS.operator.email, PASSWORD, /\/admin\.html/);
      await op.page.click('[data-testid="nav-dashboard"]');
      await op.page.waitForURL(/\/dashboard\.html$/);
      await op.page.waitForSelector('[data-testid="loading"]', { state: 'hidden' });
      assert.equal(await op.page.isHidden('[data-testid="panel-providers"]'), true, 'no top lists for operators');
      assert.equal(await op.page.isHidden('[data-testid="panel-asns"]'), true);
      if (allowed === 200) {
        const answer = await ask(opApi, '/api/v1/stats/timeseries?group_by=hosting_country&interval=month');
        await op.page.waitForSelector('[data-testid="panel-map"] svg.chart');
        const circles = await op.page.$$eval('[data-testid="panel-map"] svg circle', (cs) => cs.map((c) => c.getAttribute('data-code')));
        assert.ok(circles.length > 10, 'countries of all reports');
        assert.ok(circles.every((c) => answer.series.some((s) => s.key === c)));
        assert.ok(await op.page.locator('[data-testid="panel-reports"] svg g.bar').count() > 0);
        assert.equal(await op.page.isHidden('[data-testid="dashboard-unavailable"]'), true);
        await screenshot(op.page, 'dashboard-operator');
      } else {
        await op.page.waitForSelector('[data-testid="dashboard-unavailable"]:visible');
        assert.equal(await op.page.isHidden('[data-testid="panels"]'), true);
        assert.equal(await op.page.isHidden('[data-testid="error-banner"]'), true, 'a note, not an error');
      }
      assert.deepEqual(topRequests, [], 'no /stats or /stats/top requests');
      await op.page.waitForTimeout(50);
      assert.deepEqual(op.problems, [], 'console errors / CSP violations');
    } finally {
      await op.context.close();
    }
  });
});
