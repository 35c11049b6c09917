// Smoke test of the fake ICCAM server (test/fake-iccam.mjs), run with
// `node --test test/fake-iccam.test.mjs`. Writes a tiny synthetic feed (two page
// files, by hand) into a temp dir, starts the server with a token and checks paging,
// 401, fail_5xx with Retry-After, 429, malformed / truncated / oversized pages, bad
// records, stats, the state file and /media PNGs.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake } from './lib/fake.mjs';

const TOKEN = 'synthetic-token-123';
let dir, proc, base;

// A synthetic report (reserved domains, documentation IPs, random-looking hashes).
function report(n, updatedAt) {
  const id = String(n).padStart(7, '0');
  return {
    iccam_id: `R-2026-${id}`,
    updated_at: updatedAt,
    reported_at: '2026-01-01T10:00:00Z',
    reporting_hotline: 'DE-ECO',
    assessing_hotline: 'NL-EOKM',
    url: `https://img.gallery${n}.example/album/${n}?page=2`,
    site_type: 'image_host',
    hosting: { country: 'NL', ip: '192.0.2.10', asn: 64500, provider: 'Example Hosting 1 B.V.' },
    commercial: false,
    status: 'assessed',
    timeline: {
      assessed_at: '2026-01-01T11:00:00Z',
      forwarded_at: null,
      lea_notified_at: null,
      ntd_sent_at: null,
      removed_at: null,
    },
    media: [
      {
        iccam_media_id: `M-2026-${id}`,
        content_url: `https://cdn.gallery${n}.example/i/${n}.jpg`,
        media_type: 'image',
        mime: 'image/jpeg',
        bytes: 1000 + n,
        width: 640,
        height: 480,
        duration_s: null,
        hashes: {
          md5: 'a'.repeat(32),
          sha1: 'b'.repeat(40),
          sha256: 'c'.repeat(64),
          pdq: 'd'.repeat(64),
          pdq_quality: 90,
          photodna: Buffer.alloc(144, n).toString('base64'),
        },
        classification: {
          international: 'baseline',
          national: 'illegal',
          age_group: 'pre_pubescent',
          gender: 'female',
          assessed_at: '2026-01-01T11:00:00Z',
          assessed_by: 'NL-EOKM',
        },
        first_seen_at: '2026-01-01T10:05:00Z',
        is_new: true,
        known_to_police: false,
        content: `media/M-2026-${id}`,
      },
    ],
  };
}

const auth = { Authorization: `Bearer ${TOKEN}` };
const get = (p, headers = auth) => fetch(base + p, { headers });
const control = (obj) =>
  fetch(base + '/_control', { method: 'POST', body: JSON.stringify(obj) }).then((r) => r.json());

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-iccam-'));
  const reports1 = [];
  for (let n = 1; n <= 6; n++) reports1.push(report(n, `2026-01-02T0${n}:00:00Z`));
  fs.writeFileSync(
    path.join(dir, 'reports-0001.json'),
    JSON.stringify({ reports: reports1, next_cursor: 'reports-0002.json', has_more: true }),
  );
  fs.writeFileSync(
    path.join(dir, 'reports-0002.json'),
    JSON.stringify({
      reports: [report(7, '2026-01-03T00:00:00Z'), { iccam_id: 'R-2026-0000001', updated_at: '2026-01-04T00:00:00Z', deleted: true }],
      next_cursor: null,
      has_more: false,
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'hotlines.json'),
    JSON.stringify({ hotlines: [{ code: 'NL-EOKM', name: 'Hotline NL (synthetic)', country: 'NL', website: 'https://nl-eokm.hotline.example', email: 'reports@nl-eokm.hotline.example' }] }),
  );
  const s = await startFake(dir, ['--token', TOKEN, '--state-file', path.join(dir, 'state.json')]);
  proc = s.proc;
  base = `http://127.0.0.1:${s.port}`;
});

after(() => {
  proc?.removeAllListeners('exit');
  proc?.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await control({ reset: true });
});

test('pages follow the opaque cursor chain', async () => {
  const r1 = await get('/v1/reports?limit=500');
  assert.equal(r1.status, 200);
  const p1 = await r1.json();
  assert.equal(p1.reports.length, 6);
  assert.equal(p1.has_more, true);
  assert.equal(typeof p1.next_cursor, 'string');
  assert.notEqual(p1.next_cursor, 'reports-0002.json'); // opaque, not the file name
  const p2 = await (await get(`/v1/reports?cursor=${encodeURIComponent(p1.next_cursor)}&limit=500`)).json();
  assert.equal(p2.reports.length, 2);
  assert.equal(p2.has_more, false);
  assert.equal(p2.next_cursor, null);
  assert.equal(p2.reports[1].deleted, true);
  assert.equal((await get('/v1/reports?cursor=bm9wZQ')).status, 400);
  const h = await (await get('/v1/hotlines')).json();
  assert.equal(h.hotlines[0].code, 'NL-EOKM');
});

test('missing or wrong token gives 401; status_401 forces it', async () => {
  assert.equal((await get('/v1/reports', {})).status, 401);
  assert.equal((await get('/v1/reports', { Authorization: 'Bearer wrong' })).status, 401);
  await control({ status_401: true });
  assert.equal((await get('/v1/reports')).status, 401);
  await control({ status_401: false });
  assert.equal((await get('/v1/reports')).status, 200);
});

test('fail_5xx answers 503 with Retry-After n times, then recovers; stats count it', async () => {
  await control({ fail_5xx: 2, retry_after: 1 });
  for (let i = 0; i < 2; i++) {
    const r = await get('/v1/reports');
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '1');
    await r.arrayBuffer();
  }
  assert.equal((await get('/v1/reports')).status, 200);
  const s = await (await fetch(base + '/_stats')).json();
  assert.equal(s.requests, 3);
  assert.equal(s.by_path['/v1/reports'], 3);
  assert.equal(s.by_status['503'], 2);
  assert.equal(s.by_page['1'], 3);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  assert.equal(state.stats.requests, 3);
});

test('status_429 answers 429 n times', async () => {
  await control({ status_429: 1 });
  assert.equal((await get('/v1/reports')).status, 429);
  assert.equal((await get('/v1/reports')).status, 200);
});

test('malformed_page breaks only that page', async () => {
  await control({ malformed_page: 2 });
  const p1 = await (await get('/v1/reports')).json();
  const r2 = await get(`/v1/reports?cursor=${p1.next_cursor}`);
  assert.equal(r2.status, 200);
  const text = await r2.text();
  assert.throws(() => JSON.parse(text));
});

test('truncate_page closes the connection mid-body', async () => {
  await control({ truncate_page: 1 });
  await assert.rejects(async () => {
    const r = await get('/v1/reports');
    await r.text();
  });
});

test('oversize_page streams a valid body of the requested size', async () => {
  await control({ oversize_page: 1, oversize_bytes: 300000 });
  const r = await get('/v1/reports');
  const buf = Buffer.from(await r.arrayBuffer());
  assert.equal(buf.length, 300000);
  const page = JSON.parse(buf.toString());
  assert.ok(page.reports.length > 1000);
});

test('bad_records_page replaces 5 records and keeps the rest', async () => {
  await control({ bad_records_page: 1 });
  const p = await (await get('/v1/reports')).json();
  assert.equal(p.reports.length, 6);
  const s = await (await fetch(base + '/_stats')).json();
  assert.equal(s.bad_records.length, 5);
  const bad = p.reports.filter(
    (r) => !r.iccam_id || r.site_type === 'spaceship' || r.hosting.country === 'XX1' ||
      r.media[0].hashes.md5 === 'zz' || r.reported_at === 'yesterday',
  );
  assert.equal(bad.length, 5);
});

test('slow_ms delays responses; /media answers a PNG', async () => {
  await control({ slow_ms: 150 });
  const t0 = Date.now();
  const r = await get('/media/M-2026-0000001');
  assert.ok(Date.now() - t0 >= 140);
  assert.equal(r.headers.get('content-type'), 'image/png');
  const png = Buffer.from(await r.arrayBuffer());
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const again = Buffer.from(await (await get('/media/M-2026-0000001')).arrayBuffer());
  assert.ok(png.equals(again)); // deterministic
});
