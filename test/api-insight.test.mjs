// api-insight.test.mjs - the dashboard's time series and top lists, saved
// searches with their new counts, and streaming exports, through nginx and
// cport-fcgi over a 100,000-report synthetic database. Series are checked
// against the same numbers computed here in JavaScript from the raw rows;
// exports against SQL counts and in bounded worker memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, clientFor, USERS } from './lib/stack.mjs';

let stack, nl, de, hotline, interpol;

before(async () => {
  stack = await startStack({ reports: 100000, workers: 2 });
  nl = await clientFor(stack, 'nl');
  de = await clientFor(stack, 'de');
  hotline = await clientFor(stack, 'hotline');
  interpol = await clientFor(stack, 'interpol');
});
after(async () => { if (stack) await stack.stop(); });

const DAY = 86400, WEEK = 7 * DAY;
// The start of the ISO week (Monday, UTC) of an epoch time.
const week = (t) => Math.floor((t - 4 * DAY) / WEEK) * WEEK + 4 * DAY;
const iso = (t) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
// The NL officer's scope as SQL (agreement: NL hosting, or reported from an NL hotline).
const NL_SCOPE = "(host_country = 'NL' OR reporting_hotline IN (SELECT code FROM hotlines WHERE country = 'NL'))";

// Group rows [{b, k, v}] into the API's shape: sorted buckets, series by key.
function expectSeries(rows) {
  const buckets = [...new Set(rows.map((r) => r.b))].sort((a, b) => a - b);
  const keys = [...new Set(rows.map((r) => r.k))].sort();
  return {
    buckets: buckets.map(iso),
    series: keys.map((k) => {
      const values = buckets.map((b) => rows.filter((r) => r.k === k && r.b === b).reduce((s, r) => s + r.v, 0));
      return { key: k, values, total: values.reduce((s, v) => s + v, 0) };
    }),
  };
}

test('reports per week by status: the numbers computed from the raw rows', async () => {
  // `cport import` left the day sums built and nothing marked changed, so
  // these series come from the rollup (test_stats compares both ways).
  assert.equal(stack.sql('SELECT count(*) AS n FROM stats_dirty')[0].n, 0);
  assert.ok(stack.sql('SELECT count(*) AS n FROM stats_rollup')[0].n > 1000);
  const from = '2025-11-01', to = '2026-02-28';
  const f = Date.parse(from) / 1000, t = Date.parse(to) / 1000 + DAY;
  const raw = stack.sql(`SELECT reported_at AS t, status FROM reports WHERE ${NL_SCOPE} AND reported_at >= ${f} AND reported_at < ${t}`);
  const counts = new Map();
  for (const r of raw) {
    const key = `${week(r.t)}|${r.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...counts].map(([k, v]) => ({ b: Number(k.split('|')[0]), k: k.split('|')[1], v }));
  const r = await nl.get(`/api/v1/stats/timeseries?metric=reports&interval=week&group_by=status&from=${from}&to=${to}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.metric, 'reports');
  assert.equal(r.body.interval, 'week');
  const want = expectSeries(rows);
  assert.deepEqual(r.body.buckets, want.buckets);
  assert.deepEqual(r.body.series, want.series);
  assert.ok(raw.length > 1000, `${raw.length} reports in the range`);
  // Every bucket is a Monday.
  assert.ok(r.body.buckets.every((b) => new Date(b).getUTCDay() === 1));
});

test('media per month, removals per day and time to removal match too', async () => {
  let raw = stack.sql(`SELECT reported_at AS t, media_count AS m FROM reports WHERE ${NL_SCOPE}`);
  const month = (t) => { const d = new Date(t * 1000); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000; };
  let m = new Map();
  for (const x of raw) m.set(month(x.t), (m.get(month(x.t)) ?? 0) + x.m);
  let r = await nl.get('/api/v1/stats/timeseries?metric=media&interval=month');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { metric: 'media', interval: 'month', group_by: null, unit: 'media items',
    ...expectSeries([...m].map(([b, v]) => ({ b, k: 'all', v }))) });

  const from = '2026-03-01', to = '2026-04-30';
  const f = Date.parse(from) / 1000, t = Date.parse(to) / 1000 + DAY;
  raw = stack.sql(`SELECT removed_at AS t, reported_at AS rep FROM reports WHERE ${NL_SCOPE}
    AND removed_at >= ${f} AND removed_at < ${t}`);
  m = new Map();
  for (const x of raw) m.set(Math.floor(x.t / DAY) * DAY, (m.get(Math.floor(x.t / DAY) * DAY) ?? 0) + 1);
  r = await nl.get(`/api/v1/stats/timeseries?metric=removed&interval=day&from=${from}&to=${to}`);
  assert.deepEqual(r.body.series, expectSeries([...m].map(([b, v]) => ({ b, k: 'all', v }))).series);

  // Median and 90th percentile (nearest rank) of hours to removal, by week of removal.
  const byWeek = new Map();
  for (const x of raw) {
    const w = week(x.t);
    if (!byWeek.has(w)) byWeek.set(w, []);
    byWeek.get(w).push((x.t - x.rep) / 3600);
  }
  const q = (v, p) => v[Math.min(v.length, Math.max(1, Math.ceil(p * v.length - 1e-6))) - 1];
  const weeks = [...byWeek.keys()].sort((a, b) => a - b);
  r = await nl.get(`/api/v1/stats/timeseries?metric=removal_time&interval=week&from=${from}&to=${to}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.unit, 'hours');
  assert.deepEqual(r.body.buckets, weeks.map(iso));
  const med = r.body.series.find((s) => s.key === 'median').values, p90 = r.body.series.find((s) => s.key === 'p90').values;
  weeks.forEach((w, i) => {
    const v = byWeek.get(w).sort((a, b) => a - b);
    assert.ok(Math.abs(med[i] - q(v, 0.5)) < 1e-6, `median of week ${iso(w)}`);
    assert.ok(Math.abs(p90[i] - q(v, 0.9)) < 1e-6, `p90 of week ${iso(w)}`);
  });
});

test('series follow each caller\'s scope; bad parameters are 400 naming them', async () => {
  const total = async (c) => (await c.get('/api/v1/stats/timeseries?metric=reports&interval=month')).body.series
    .reduce((s, x) => s + x.total, 0);
  assert.equal(await total(nl), stack.sql(`SELECT count(*) AS n FROM reports WHERE ${NL_SCOPE}`)[0].n);
  assert.equal(await total(de), stack.sql("SELECT count(*) AS n FROM reports WHERE host_country = 'DE'")[0].n);
  assert.equal(await total(hotline), stack.sql("SELECT count(*) AS n FROM reports WHERE reporting_hotline = 'NL-EOKM' OR assessing_hotline = 'NL-EOKM'")[0].n);
  assert.equal(await total(interpol), stack.sql('SELECT count(*) AS n FROM reports WHERE class_bits & 1')[0].n);
  // Operators see no report but may count them all; nothing else of /stats.
  const op = await clientFor(stack, 'operator');
  assert.equal(await total(op), stack.sql('SELECT count(*) AS n FROM reports')[0].n);
  assert.equal((await op.get('/api/v1/stats/timeseries?group_by=international')).status, 403);
  assert.equal((await op.get('/api/v1/stats/top?field=provider')).status, 403);
  assert.equal((await op.get('/api/v1/stats')).status, 403);
  let r = await de.get('/api/v1/stats/timeseries?group_by=international');
  assert.equal(r.status, 403, 'no classifications without media metadata');
  r = await nl.get('/api/v1/stats/timeseries?group_by=international&interval=month');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.series.map((s) => s.key).sort(), ['baseline', 'not_baseline', 'unclassified'].filter((k) => r.body.series.some((s) => s.key === k)));
  for (const [qs, field] of [['metric=nope', 'metric'], ['interval=year', 'interval'], ['group_by=domain', 'group_by'],
    ['from=yesterday', 'from'], ['from=2026-02-01&to=2026-01-01', 'to'], ['interval=day', 'from'], ['x=1', 'x'],
    ['metric=removal_time&group_by=status', 'group_by']]) {
    r = await nl.get(`/api/v1/stats/timeseries?${qs}`);
    assert.equal(r.status, 400, qs);
    assert.equal(r.body.field, field, qs);
  }
  // Top providers and networks: the SQL's largest groups.
  r = await nl.get('/api/v1/stats/top?field=provider&limit=5');
  assert.equal(r.status, 200, r.text);
  const want = stack.sql(`SELECT coalesce(host_provider, 'unknown') AS value, count(*) AS count FROM reports WHERE ${NL_SCOPE}
    GROUP BY value ORDER BY count DESC, value LIMIT 5`);
  assert.deepEqual(r.body.items, want);
  r = await nl.get('/api/v1/stats/top?field=asn&limit=3');
  assert.equal(r.body.items.length, 3);
  assert.ok(r.body.items.every((x) => Number.isInteger(x.value)));
  assert.equal((await nl.get('/api/v1/stats/top?field=ip')).status, 400);
  assert.equal((await nl.get('/api/v1/stats/top?field=asn&limit=101')).status, 400);
});

test('saved searches: kept per person, validated, new counts after an import, reset on open', async () => {
  let r = await nl.req('POST', '/api/v1/searches', { name: 'NL image hosts', filter: { hosting_country: 'NL', site_type: 'image_host' } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.equal(r.headers.get('location'), `/api/v1/searches/${id}`);
  assert.deepEqual(r.body.filter, { hosting_country: 'NL', site_type: 'image_host' });
  assert.equal(r.body.new_count, 0);
  for (const [body, field] of [[{ filter: {} }, 'name'], [{ name: 'x' }, 'filter'], [{ name: 'x', filter: { status: 'nope' } }, 'status'],
    [{ name: 'x', filter: { limit: '5' } }, 'filter'], [{ name: 'x', filter: [] }, 'filter'], [{ name: 'x', filter: {}, extra: 1 }, 'extra']]) {
    r = await nl.req('POST', '/api/v1/searches', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.field, field, JSON.stringify(body));
  }
  assert.equal((await nl.req('POST', '/api/v1/searches', { name: 'NL image hosts', filter: {} })).status, 409, 'names are unique per person');
  // Another person neither sees nor touches it.
  assert.deepEqual((await de.get('/api/v1/searches')).body.items, []);
  assert.equal((await de.req('POST', `/api/v1/searches/${id}/open`)).status, 404);
  assert.equal((await de.req('DELETE', `/api/v1/searches/${id}`)).status, 404);
  assert.equal((await de.req('PATCH', `/api/v1/searches/${id}`, { name: 'mine' })).status, 404);

  // An import brings 3 new NL image-host reports (updated after everything
  // seen so far), 1 NL forum and 1 DE image host: 3 are new for this search.
  const maxUpdated = stack.sql('SELECT max(updated_at) AS m FROM reports')[0].m;
  const page = (n, country, site) => ({
    iccam_id: `R-2027-7${String(n).padStart(6, '0')}`, updated_at: iso(maxUpdated + 3600 + n), reported_at: iso(maxUpdated),
    reporting_hotline: 'DE-ECO', assessing_hotline: 'DE-ECO', url: `https://new-${n}.example.test/`, site_type: site,
    hosting: { country, ip: '192.0.2.9', asn: 64501, provider: 'Example Hosting B.V.' }, commercial: false, status: 'assessed',
    timeline: {}, media: [],
  });
  const feed = join(stack.dir, 'newfeed');
  mkdirSync(feed, { recursive: true });
  writeFileSync(join(feed, 'hotlines.json'), JSON.stringify({ hotlines: [] }));
  writeFileSync(join(feed, 'reports-0001.json'), JSON.stringify({
    reports: [page(1, 'NL', 'image_host'), page(2, 'NL', 'image_host'), page(3, 'NL', 'image_host'), page(4, 'NL', 'forum'),
      page(5, 'DE', 'image_host')], next_cursor: null, has_more: false,
  }));
  r = await nl.get('/api/v1/searches');
  assert.equal(r.body.items[0].new_count, 0, 'nothing new before the import');
  stack.cport(['import', '--feed', 'file://' + feed]);
  r = await nl.get('/api/v1/searches');
  assert.equal(r.body.items[0].new_count, 3);
  assert.ok(r.body.items[0].counted_at);
  // Opening it resets the count; renaming keeps it; changing the filter counts from now.
  r = await nl.req('POST', `/api/v1/searches/${id}/open`);
  assert.equal(r.status, 200);
  assert.equal(r.body.new_count, 0);
  r = await nl.req('PATCH', `/api/v1/searches/${id}`, { name: 'NL image hosts (all)' });
  assert.equal(r.body.name, 'NL image hosts (all)');
  assert.equal((await nl.req('PATCH', `/api/v1/searches/${id}`, {})).status, 400);
  r = await nl.req('DELETE', `/api/v1/searches/${id}`);
  assert.equal(r.status, 204);
  assert.deepEqual((await nl.get('/api/v1/searches')).body.items, []);
  assert.equal(stack.sql("SELECT count(*) AS n FROM audit WHERE action IN ('search.create', 'search.update', 'search.delete')")[0].n, 3);
});

// The max peak RSS (VmHWM, KB) over the stack's workers.
function workersPeak() {
  const master = stack.fcgi.pid;
  const kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return Math.max(...kids.map((p) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))[1])));
}

test('exports stream every report of the search in scope, CSV and NDJSON, in bounded memory, audited', async () => {
  const headers = { cookie: nl.cookie };
  const want = stack.sql(`SELECT count(*) AS n FROM reports WHERE ${NL_SCOPE}`)[0].n;
  assert.ok(want > 15000);
  const t0 = Date.now();
  let res = await fetch(`${stack.base}/api/v1/reports/export?format=ndjson`, { headers });
  const firstByte = Date.now() - t0;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
  assert.match(res.headers.get('content-disposition'), /^attachment; filename="cport-reports-\d{4}-\d\d-\d\d\.ndjson"$/);
  const lines = (await res.text()).trim().split('\n');
  assert.equal(lines.length, want);
  assert.ok(firstByte < 1000, `first byte after ${firstByte} ms`);
  const first = JSON.parse(lines[0]), last = JSON.parse(lines[lines.length - 1]);
  assert.ok(Date.parse(first.reported_at) >= Date.parse(last.reported_at), 'newest first by default');
  assert.ok(lines.every((l) => { const o = JSON.parse(l); return o.hosting.country === 'NL' || o.reporting_hotline; }));
  // CSV with filters and a sort; one line a report plus the header.
  res = await fetch(`${stack.base}/api/v1/reports/export?format=csv&status=ntd_sent&sort=domain`, { headers });
  const csv = (await res.text()).trimEnd().split('\n');
  assert.equal(csv[0], 'id,iccam_id,url,domain,site_type,hosting_country,hosting_ip,hosting_asn,hosting_provider,status,reported_at,updated_at,reporting_hotline,assessing_hotline,media_count');
  assert.equal(csv.length - 1, stack.sql(`SELECT count(*) AS n FROM reports WHERE ${NL_SCOPE} AND status = 'ntd_sent'`)[0].n);
  // Bad parameters: 400 naming them; paging has no place in an export.
  for (const [qs, field] of [['format=xml', 'format'], ['limit=5', 'limit'], ['cursor=x', 'cursor'], ['status=nope', 'status']]) {
    const r = await nl.get(`/api/v1/reports/export?${qs}`);
    assert.equal(r.status, 400, qs);
    assert.equal(r.body.field, field, qs);
  }
  // DE's export is DE's scope.
  res = await fetch(`${stack.base}/api/v1/reports/export?format=csv`, { headers: { cookie: de.cookie } });
  const deLines = (await res.text()).trimEnd().split('\n').length - 1;
  assert.equal(deLines, stack.sql("SELECT count(*) AS n FROM reports WHERE host_country = 'DE'")[0].n);
  // Every report: FR gets an agreement over every hosting country, and its
  // export of all of them (about 100,000 rows, tens of MB) leaves the
  // workers' peak memory far below its own size.
  const countries = stack.sql("SELECT group_concat(DISTINCT host_country) AS c FROM reports WHERE host_country IS NOT NULL")[0].c;
  stack.cport(['agreement', 'add', '--lea', 'FR Police', '--hotline', 'FR-PDC', '--jurisdiction', countries]);
  const fr = await clientFor(stack, 'fr');
  const all = stack.sql('SELECT count(*) AS n FROM reports WHERE host_country IS NOT NULL')[0].n;
  assert.ok(all >= 95000, `${all} reports`);
  const before = workersPeak();
  res = await fetch(`${stack.base}/api/v1/reports/export?format=ndjson`, { headers: { cookie: fr.cookie } });
  let rows = 0, bytes = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    for (const b of value) if (b === 10) rows++;
  }
  assert.equal(rows, all);
  const peak = workersPeak();
  assert.ok(bytes > 40e6, `${bytes} bytes`);
  assert.ok(peak - before < 8 * 1024 && peak < 48 * 1024,
    `worker peak RSS ${before} KB before, ${peak} KB after an export of ${bytes} bytes`);
  await new Promise((r) => setTimeout(r, 1200));
  assert.ok(stack.sql(`SELECT count(*) AS n FROM audit WHERE action = 'report.export' AND actor = '${USERS.nl.email}'`)[0].n >= 2);
});
