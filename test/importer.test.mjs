// importer.test.mjs - `cport import` over http against test/fake-iccam.mjs: retries
// of 503 and 429 (Retry-After), 401 / malformed / truncated / oversized pages
// stopping with the cursor unchanged, quarantined records, and kill -9 at random
// moments ending in the same database as a clean import.
//
// Needs CPORT_BUILD (the cmake build dir holding `cport`), test/fake-iccam.mjs and
// the sqlite3 CLI; skips cleanly when one of them is missing.
// Run: CPORT_BUILD=/tmp/build node --test test/importer.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE, startFake } from './lib/fake.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CPORT = process.env.CPORT_BUILD ? path.join(process.env.CPORT_BUILD, 'cport') : '';
const TOKEN = 'test-token-' + Math.random().toString(36).slice(2);

// Why the suite cannot run here, or '' when it can.
function missing() {
  if (!CPORT || !fs.existsSync(CPORT)) return 'CPORT_BUILD/cport not built (set CPORT_BUILD)';
  if (!fs.existsSync(FAKE)) return 'test/fake-iccam.mjs not there yet';
  if (spawnSync('sqlite3', ['-version']).status !== 0) return 'sqlite3 CLI missing';
  return '';
}
const SKIP = missing() || false;

let tmp, feedDir, tokenFile, fake, port, feed;

// Run cport synchronously; returns {status, stdout, stderr}.
function cport(args) {
  const r = spawnSync(CPORT, args, { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A fresh migrated database path.
let dbCount = 0;
function newDb() {
  const db = path.join(tmp, `t${++dbCount}.db`);
  const r = cport(['migrate', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  return db;
}

// Rows of a query through the sqlite3 CLI, as one string.
function sql(db, q) {
  const r = spawnSync('sqlite3', ['-batch', db, q], { encoding: 'utf8', maxBuffer: 1 << 29 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

// The stored cursor of the http feed ('' when none).
function cursor(db) {
  return sql(db, `SELECT cursor FROM import_state WHERE feed = '${feed}'`).trim();
}

// Everything the import means, without rowids and run bookkeeping, in a fixed order.
function dump(db) {
  return sql(db, `
    SELECT r.iccam_id, r.updated_at, r.reported_at, r.reporting_hotline, r.assessing_hotline, r.url, r.domain,
           r.site_type, r.host_country, r.host_ip, r.host_asn, r.host_provider, r.commercial, r.status,
           r.assessed_at, r.forwarded_at, r.lea_notified_at, r.ntd_sent_at, r.removed_at, r.media_count,
           r.class_bits, r.type_bits FROM reports r ORDER BY r.iccam_id;
    SELECT r.iccam_id, m.iccam_media_id, m.content_url, m.media_type, m.mime, m.bytes, m.width, m.height,
           m.duration_s, hex(m.md5), hex(m.sha1), hex(m.sha256), hex(m.pdq), m.pdq_quality, hex(m.photodna),
           m.first_seen_at, m.is_new, m.known_to_police, m.content_ref
      FROM media m JOIN reports r ON r.id = m.report_id ORDER BY m.iccam_media_id;
    SELECT m.iccam_media_id, c.international, c.national, c.age_group, c.gender, c.assessed_at, c.assessed_by,
           c.is_current FROM classifications c JOIN media m ON m.id = c.media_id
      ORDER BY m.iccam_media_id, c.is_current, c.assessed_at, c.international, c.national;
    SELECT iccam_id, updated_at FROM report_tombstones ORDER BY iccam_id;
    SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'example OR test';
    SELECT code, name, country FROM hotlines ORDER BY code;`);
}

// POST a control object to the fake server.
async function control(obj) {
  const r = await fetch(`http://127.0.0.1:${port}/_control`, { method: 'POST', body: JSON.stringify(obj) });
  assert.equal(r.status, 200);
}

// The fake server's request statistics.
async function stats() {
  return (await fetch(`http://127.0.0.1:${port}/_stats`)).json();
}

// cport import of the http feed into db (extra args appended).
function importHttp(db, extra = []) {
  return cport(['import', '--db', db, '--feed', feed, '--token-file', tokenFile, ...extra]);
}

before(async () => {
  if (SKIP) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cport-imp-'));
  feedDir = path.join(tmp, 'feed');
  const g = cport(['feedgen', '--count', '2000', '--seed', '11', '--out', feedDir, '--page-size', '100']);
  assert.equal(g.status, 0, g.stderr);
  tokenFile = path.join(tmp, 'token');
  fs.writeFileSync(tokenFile, `  ${TOKEN}\n`, { mode: 0o600 });
  ({ proc: fake, port } = await startFake(feedDir, ['--token', TOKEN]));
  feed = `http://127.0.0.1:${port}`;
});

after(() => {
  if (fake) fake.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

let cleanDump = '';
// The reference: a clean import over http, and the same feed via file:// agrees.
test('clean import over http equals file:// import', { skip: SKIP, timeout: 120000 }, async () => {
  await control({ reset: true });
  const db = newDb();
  const r = importHttp(db);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^import ok: .*inserted 2000/);
  cleanDump = dump(db);
  const again = importHttp(db);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(dump(db), cleanDump, 're-import changed nothing');
  const fdb = newDb();
  const f = cport(['import', '--db', fdb, '--feed', `file://${feedDir}`]);
  assert.equal(f.status, 0, f.stderr);
  assert.equal(dump(fdb), cleanDump);
});

test('503s are retried with backoff, then the import succeeds', { skip: SKIP, timeout: 60000 }, async () => {
  await control({ reset: true });
  await control({ fail_5xx: 3 });
  const db = newDb();
  const t0 = Date.now();
  const r = importHttp(db);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - t0 >= 0.5 + 1 + 2 - 0.2, 'exponential backoff 0.5 s, 1 s, 2 s');
  const s = await stats();
  assert.equal(s.by_status['503'], 3);
  const pages = Number(/pages (\d+)/.exec(r.stdout)[1]);
  assert.equal(s.by_path['/v1/reports'], pages + 3);
  assert.equal(dump(db), cleanDump);
});

test('429 honours Retry-After', { skip: SKIP, timeout: 60000 }, async () => {
  await control({ reset: true });
  await control({ status_429: 1, retry_after: 2 });
  const db = newDb();
  const t0 = Date.now();
  const r = importHttp(db, ['--max-pages', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - t0 >= 1900, 'waited Retry-After: 2');
  assert.equal((await stats()).by_status['429'], 1);
});

test('401 stops the run with the cursor unchanged', { skip: SKIP, timeout: 60000 }, async () => {
  await control({ reset: true });
  const db = newDb();
  assert.equal(importHttp(db, ['--max-pages', '2']).status, 0);
  const before = cursor(db);
  const count = sql(db, 'SELECT count(*) FROM reports');
  await control({ status_401: true });
  const r = importHttp(db);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /401/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one-line error');
  assert.equal(cursor(db), before);
  assert.equal(sql(db, 'SELECT count(*) FROM reports'), count);
  assert.match(sql(db, 'SELECT status, error FROM import_runs ORDER BY id DESC LIMIT 1'), /^failed\|.*401/);
  // a wrong token is refused the same way
  await control({ reset: true });
  fs.writeFileSync(path.join(tmp, 'badtoken'), 'nope\n');
  const w = cport(['import', '--db', db, '--feed', feed, '--token-file', path.join(tmp, 'badtoken')]);
  assert.notEqual(w.status, 0);
  assert.equal(cursor(db), before);
});

// A bad page k: the run stops after k-1 pages, the cursor points at page k, and
// once the server behaves the next run completes to the clean result.
async function badPageStops(mode, pattern) {
  await control({ reset: true });
  const ref = newDb();
  assert.equal(importHttp(ref, ['--max-pages', '2']).status, 0);
  const db = newDb();
  await control(mode);
  const r = importHttp(db);
  assert.notEqual(r.status, 0, 'run must fail');
  assert.match(r.stderr, pattern);
  assert.equal(cursor(db), cursor(ref), 'cursor stays at the last good page');
  assert.equal(sql(db, 'SELECT count(*) FROM reports'), sql(ref, 'SELECT count(*) FROM reports'));
  await control({ reset: true });
  const again = importHttp(db);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(dump(db), cleanDump);
}

test('malformed JSON stops the run', { skip: SKIP, timeout: 60000 }, async () => {
  await badPageStops({ malformed_page: 3 }, /not valid JSON/);
});

test('a truncated body stops the run', { skip: SKIP, timeout: 60000 }, async () => {
  await badPageStops({ truncate_page: 3 }, /truncated/);
});

test('an oversized page stops the run (chunked and with Content-Length)', { skip: SKIP, timeout: 60000 }, async () => {
  await badPageStops({ oversize_page: 3, oversize_bytes: 40 * 1024 * 1024 }, /larger than/);
  await badPageStops(
    { oversize_page: 3, oversize_bytes: 40 * 1024 * 1024, oversize_content_length: true },
    /larger than/,
  );
});

test('bad records are quarantined and the rest imports', { skip: SKIP, timeout: 60000 }, async () => {
  await control({ reset: true });
  await control({ bad_records_page: 2 });
  const db = newDb();
  const r = importHttp(db);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /rejected 5/);
  const s = await stats();
  assert.equal(s.bad_records.length, 5);
  const reasons = sql(db, 'SELECT reason FROM import_rejects ORDER BY id');
  for (const field of ['iccam_id', 'site_type', 'hosting.country', 'hashes.md5', 'reported_at'])
    assert.ok(reasons.includes(field + ':'), `a reason names ${field}: ${reasons}`);
  assert.equal(Number(sql(db, 'SELECT count(*) FROM import_rejects WHERE run_id IS NOT NULL')), 5);
  assert.equal(Number(sql(db, 'SELECT count(DISTINCT raw) FROM import_rejects')), 5);
});

// Start cport import and SIGKILL it after ms milliseconds; resolves when it is gone.
function killAfter(db, ms) {
  return new Promise((resolve) => {
    const p = spawn(CPORT, ['import', '--db', db, '--feed', feed, '--token-file', tokenFile], { stdio: 'ignore' });
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code, sig) => {
      clearTimeout(t);
      resolve(sig || code);
    });
  });
}

test('kill -9 at random moments loses and duplicates nothing', { skip: SKIP, timeout: 180000 }, async () => {
  await control({ reset: true });
  await control({ slow_ms: 60 });
  const db = newDb();
  const kills = [];
  for (let i = 0; i < 5; i++) kills.push(await killAfter(db, 80 + Math.floor(Math.random() * 700)));
  assert.ok(kills.includes('SIGKILL'), `at least one run was killed mid-way: ${kills}`);
  await control({ reset: true });
  const r = importHttp(db);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(dump(db), cleanDump);
  assert.equal(sql(db, "SELECT count(*) FROM import_runs WHERE status = 'running'").trim(), '0');
  assert.equal(sql(db, 'PRAGMA integrity_check').trim(), 'ok');
});

test('a second concurrent import is refused', { skip: SKIP, timeout: 60000 }, async () => {
  await control({ reset: true });
  await control({ slow_ms: 300 });
  const db = newDb();
  const first = spawn(CPORT, ['import', '--db', db, '--feed', feed, '--token-file', tokenFile], { stdio: 'ignore' });
  await new Promise((res) => setTimeout(res, 400));
  const second = importHttp(db);
  first.kill('SIGKILL');
  await new Promise((res) => first.on('exit', res));
  assert.notEqual(second.status, 0);
  assert.match(second.stderr, /another import is running/);
  await control({ reset: true });
});
