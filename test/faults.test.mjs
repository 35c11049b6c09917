// faults.test.mjs - the real binaries under faults (docs/FAULTS.md says what each
// proves and why the design guarantees it):
//   1. kill -9 of `cport import` at 20 random points over http (fake-iccam, slow), and
//      at 20 more during a file:// import with --media, every kill followed by a
//      re-run: after each kill the database is a clean import of a prefix of the feed
//      and every recorded media file verifies; at the end it equals a clean import;
//   2. kill -9 of a cport-fcgi worker while it streams a 200k-entry hash-list export
//      and while it imports a 200k-line upload: the one request fails, the master
//      restarts the worker, nothing half-written remains;
//   3. a full disk (small tmpfs) under the database, and under the media store;
//   4. a hostile feed: a page that is a gzip bomb, one that never ends, a connection
//      dropped mid-body (FIN and RST): bounded in time and memory, cursor unchanged.
//
// Needs CPORT_BUILD (default build/), the sqlite3 CLI, nginx, /usr/bin/time; test 3
// needs to mount a tmpfs (root) and is skipped with a message where it cannot.
// FAULTS_SEED=n replays the random draws of an earlier run (its seed is printed;
// where a kill lands still depends on the machine's timing).
// Run: CPORT_BUILD=build node --test test/faults.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, clientFor } from './lib/stack.mjs';
import { startFake } from './lib/fake.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD = process.env.CPORT_BUILD || path.join(HERE, '..', 'build');
const CPORT = path.join(BUILD, 'cport');
const TOKEN = 'faults-token-' + crypto.randomBytes(6).toString('hex');
const SEED = Number(process.env.FAULTS_SEED || crypto.randomInt(2 ** 31));
const KILLS = 20;
const MB = 1024 * 1024;

// Why the suite cannot run here, or false when it can.
function missing() {
  if (!fs.existsSync(CPORT)) return `${CPORT} not built (set CPORT_BUILD)`;
  for (const [cmd, arg] of [['sqlite3', '-version'], ['nginx', '-v'], ['/usr/bin/time', '--version']])
    if (spawnSync(cmd, [arg]).error) return `${cmd} missing`;
  return false;
}
const SKIP = missing();

// A small seeded PRNG (mulberry32): the kill points of a run can be replayed.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll fn (sync or async) every few ms until it returns something truthy.
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(3);
  }
}

let tmp;

// Run cport synchronously: {status, stdout, stderr, ms}.
function cport(args) {
  const t0 = Date.now();
  const r = spawnSync(CPORT, args, { encoding: 'utf8', timeout: 120000, maxBuffer: 64 * MB });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

// Run cport under /usr/bin/time: as cport(), plus its peak RSS in KB.
function cportTimed(args) {
  const out = path.join(tmp, `time-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const t0 = Date.now();
  const r = spawnSync('/usr/bin/time', ['-o', out, '-f', '%M', CPORT, ...args], { encoding: 'utf8', timeout: 120000 });
  const ms = Date.now() - t0;
  const rssKb = Number(fs.readFileSync(out, 'utf8').trim().split('\n').pop());
  fs.rmSync(out);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms, rssKb };
}

// A fresh migrated database in its own directory (so its own media key and store).
let dbCount = 0;
function newDb(parent = tmp) {
  const dir = path.join(parent, `db${++dbCount}`);
  fs.mkdirSync(dir, { recursive: true });
  const db = path.join(dir, 'cport.db');
  const r = cport(['migrate', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  return db;
}

// Rows of a query through the sqlite3 CLI, as one string.
function sql(db, q) {
  const r = spawnSync('sqlite3', ['-batch', db, q], { encoding: 'utf8', maxBuffer: 256 * MB });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
// Rows of a query as objects.
function rows(db, q) {
  const r = spawnSync('sqlite3', ['-json', db, q], { encoding: 'utf8', maxBuffer: 256 * MB });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}
const integrity = (db) => sql(db, 'PRAGMA integrity_check').trim();
const running = (db) => Number(sql(db, "SELECT count(*) FROM import_runs WHERE status = 'running'"));
const cursorOf = (db, feed) => sql(db, `SELECT cursor FROM import_state WHERE feed = '${feed}'`).trim();

// Everything an import means apart from the hotlines (which commit on their own,
// before the first page), without rowids and run bookkeeping, in a fixed order:
// test/importer.test.mjs's dump().
const REPORTS_SQL = `
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
    SELECT count(*) FROM import_rejects;`;
const HOTLINES_SQL = 'SELECT code, name, country FROM hotlines ORDER BY code;';
// The dashboard's day sums and what is left marked for them (lib/rollup.c).
const ROLLUP_SQL = `SELECT part, basis, gdim, day, gval, n, media FROM stats_rollup ORDER BY 1, 2, 3, 4, 5;
    SELECT count(*) FROM stats_dirty;`;
const reportsDump = (db) => sql(db, REPORTS_SQL);
const hotlinesDump = (db) => sql(db, HOTLINES_SQL);
const dump = (db) => reportsDump(db) + hotlinesDump(db);

// One look at a database after a kill, in one sqlite3 run: its integrity check,
// reportsDump, hotlinesDump and the feed's cursor.
function snapshot(db, feed) {
  const sep = "SELECT '@@';";
  const out = sql(db, `PRAGMA integrity_check; ${sep} ${REPORTS_SQL} ${sep} ${HOTLINES_SQL} ${sep}
    SELECT cursor FROM import_state WHERE feed = '${feed}';`);
  const [integrity, reports, hotlines, cursor] = out.split('@@\n');
  return { integrity: integrity.trim(), reports, hotlines, cursor: cursor.trim() };
}

// What a --media import adds: each item's fetch outcome, and the file rows with
// their hashes (all but stored_at). Equal across databases with different keys.
function mediaDump(db) {
  return sql(db, `
    SELECT iccam_media_id, fetch_state, fetch_attempts, fetch_error, hex(file_sha256), hash_mismatch
      FROM media WHERE content_ref IS NOT NULL ORDER BY iccam_media_id;
    SELECT hex(sha256), bytes, type, hex(md5), hex(sha1), hex(pdq), pdq_quality, width, height, preview,
           decode_error FROM media_files ORDER BY sha256;`);
}
const mediaItems = (db) => rows(db, `SELECT iccam_media_id AS id, fetch_state AS s, fetch_attempts AS a,
  fetch_error AS e, hex(file_sha256) AS f, hash_mismatch AS h FROM media WHERE content_ref IS NOT NULL`);
const mediaFiles = (db) => rows(db, `SELECT hex(sha256) AS sha, bytes, type, hex(md5) AS md5, hex(sha1) AS sha1,
  hex(pdq) AS pdq, pdq_quality AS q, width AS w, height AS h, preview AS p, decode_error AS d FROM media_files`);

// The files of a media store: originals, previews and temp files left behind.
function storeFiles(dataDir) {
  const out = { originals: 0, previews: 0, temp: [] };
  for (const [sub, key] of [['media', 'originals'], ['previews', 'previews']]) {
    const base = path.join(dataDir, sub);
    if (!fs.existsSync(base)) continue;
    for (const d of fs.readdirSync(base)) {
      for (const f of fs.readdirSync(path.join(base, d))) {
        if (f.startsWith('.tmp-')) out.temp.push(path.join(sub, d, f));
        else out[key]++;
      }
    }
  }
  return out;
}

// The state letter of a running process (R running, S sleeping, D disk wait).
function procState(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return '?';
  }
}

// Start cport with args and kill -9 it after ms, or (when is given) ms after
// when() first holds, noting what it was doing then. Resolves {killed, state,
// code, ms}: killed false when it had finished first.
function killAfter(args, ms, when = null) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(CPORT, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let state = null;
    let stderr = '';
    let timer = null;
    let done = false;
    p.stderr.on('data', (d) => (stderr += d));
    const kill = () => {
      state = procState(p.pid);
      p.kill('SIGKILL');
    };
    const poll = () => {
      if (done) return;
      if (when()) timer = setTimeout(kill, ms);
      else timer = setTimeout(poll, 2);
    };
    timer = when ? setTimeout(poll, 2) : setTimeout(kill, ms);
    p.on('exit', (code, sig) => {
      done = true;
      clearTimeout(timer);
      resolve({ killed: sig === 'SIGKILL', state, code, stderr, ms: Date.now() - t0 });
    });
  });
}

// ---- the fake ICCAM server (shared) ----

let fake, port, httpFeed, tokenFile, httpFeedDir, mediaFeedDir;

// POST a control object to the fake server (once more when the kept-alive
// connection went stale while a synchronous cport run blocked this process).
async function control(obj) {
  const post = () => fetch(`http://127.0.0.1:${port}/_control`, { method: 'POST', body: JSON.stringify(obj) });
  const r = await post().catch(post);
  assert.equal(r.status, 200);
}
async function stats() {
  const get = () => fetch(`http://127.0.0.1:${port}/_stats`);
  return (await get().catch(get)).json();
}
const httpArgs = (db, extra = []) => ['import', '--db', db, '--feed', httpFeed, '--token-file', tokenFile, ...extra];

before(async () => {
  if (SKIP) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cport-faults-'));
  httpFeedDir = path.join(tmp, 'feed-http');
  let g = cport(['feedgen', '--count', '2000', '--seed', '11', '--out', httpFeedDir, '--page-size', '200']);
  assert.equal(g.status, 0, g.stderr);
  mediaFeedDir = path.join(tmp, 'feed-media');
  g = cport(['feedgen', '--count', '1500', '--seed', '5', '--out', mediaFeedDir, '--page-size', '50',
    '--media-files', '600']);
  assert.equal(g.status, 0, g.stderr);
  tokenFile = path.join(tmp, 'token');
  fs.writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
  ({ proc: fake, port } = await startFake(httpFeedDir, ['--token', TOKEN]));
  httpFeed = `http://127.0.0.1:${port}`;
});

after(() => {
  if (fake) fake.kill();
  if (tmp && !process.env.CPORT_KEEP_TEST_DIR) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- references: clean imports of every prefix of a feed ----

// Import a feed one page a run into a fresh database, keeping after each page
// the dump and the cursor: prefix[k] is "a clean import stopped after k pages".
// prefix[0] is the empty database. Also the dump of the whole clean import.
function prefixes(args, feed, pages) {
  const db = newDb();
  const ref = { dumps: [reportsDump(db)], cursors: [''], pages };
  for (let k = 1; k <= pages; k++) {
    const r = cport([...args(db), '--max-pages', '1']);
    assert.equal(r.status, 0, r.stderr);
    ref.dumps.push(reportsDump(db));
    ref.cursors.push(cursorOf(db, feed));
  }
  ref.hotlines = hotlinesDump(db);
  ref.full = dump(db);
  return ref;
}
const pageCount = (dir) => fs.readdirSync(dir).filter((n) => /^reports-\d+\.json$/.test(n)).length;

let httpRefMemo;
// The http feed's prefixes, with the fake server behaving.
async function httpRef() {
  if (httpRefMemo) return httpRefMemo;
  await control({ reset: true });
  httpRefMemo = prefixes((db) => httpArgs(db), httpFeed, pageCount(httpFeedDir));
  // One run of the whole feed ends where the page-by-page runs did.
  const db = newDb();
  const r = cport(httpArgs(db));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(dump(db), httpRefMemo.full);
  httpRefMemo.rollup = sql(db, ROLLUP_SQL);
  return httpRefMemo;
}

let mediaRefMemo;
// The media feed's prefixes (metadata, file://), and a clean --media import.
function mediaRef() {
  if (mediaRefMemo) return mediaRefMemo;
  const feed = 'file://' + mediaFeedDir;
  const ref = prefixes((db) => ['import', '--db', db, '--feed', feed], feed, pageCount(mediaFeedDir));
  const db = newDb();
  let r = cport(['import', '--db', db, '--feed', feed]);
  assert.equal(r.status, 0, r.stderr);
  ref.metaMs = r.ms;
  const mdb = newDb();
  r = cport(['import', '--db', mdb, '--feed', feed, '--media']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /failed 0, refused 0/);
  ref.ms = r.ms;
  assert.equal(dump(mdb), ref.full);
  ref.media = mediaDump(mdb);
  ref.items = new Map(mediaItems(mdb).map((x) => [x.id, x]));
  ref.files = new Map(mediaFiles(mdb).map((x) => [x.sha, x]));
  ref.store = storeFiles(path.dirname(mdb));
  assert.deepEqual(ref.store.temp, []);
  assert.equal(ref.store.originals, ref.files.size);
  mediaRefMemo = ref;
  return ref;
}

// The state after a kill passes the integrity check and is a clean import of the
// first k pages, for some k, with the cursor of those k pages, and the hotlines
// all there or not at all. Returns k.
function assertPrefix(db, ref, feed, what) {
  const s = snapshot(db, feed);
  assert.equal(s.integrity, 'ok', `${what}: integrity_check`);
  const k = ref.dumps.indexOf(s.reports);
  assert.ok(k >= 0, `${what}: the database is not a clean import of any prefix of the feed`);
  assert.equal(s.cursor, ref.cursors[k], `${what}: cursor agrees with the ${k} pages stored`);
  assert.ok(['', ref.hotlines].includes(s.hotlines), `${what}: hotlines all or nothing`);
  return k;
}

// Count the values of an array: {value: n}.
const tally = (xs) => xs.reduce((o, x) => ((o[x] = (o[x] ?? 0) + 1), o), {});

// ---- 1. kill -9 of the importer ----

// The kill loops run in rounds: a fresh database, KILLS / ROUNDS runs each killed
// at a random point of the work still left (each kill is followed by the next
// run, which resumes), then a run that completes and must equal a clean import.
// How long the work takes is estimated from a clean run and corrected whenever
// a run finishes before its kill, so a busy machine only shifts the points.
const ROUNDS = 5;

test('kill -9 of an http import at 20 random points, each followed by a re-run', { skip: SKIP, timeout: 120000 }, async (t) => {
  t.diagnostic(`FAULTS_SEED=${SEED}`);
  const ref = await httpRef();
  const feed = httpFeed;
  // Slow pages: each waits 25 ms at the server, so a kill can land while a page is
  // on the wire as well as while the importer stores it (its transaction is open).
  await control({ reset: true, slow_ms: 25 });
  let db = newDb();
  let r = cport(httpArgs(db));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(dump(db), ref.full);
  const cleanMs = r.ms;
  let span = r.ms;
  const kills = [];
  let early = 0, closedAll = 0;
  for (let round = 0; kills.length < KILLS; round++) {
    assert.ok(round < ROUNDS * 10, 'runs kept finishing before their kill');
    db = newDb();
    let killedHere = 0;
    let k0 = 0;
    while (killedHere < KILLS / ROUNDS && kills.length < KILLS) {
      const left = (ref.pages - k0 + 0.5) / ref.pages;
      const at = Math.floor(random() * span * left);
      const run = await killAfter(httpArgs(db), at);
      if (!run.killed) {
        assert.equal(run.code, 0, run.stderr);
        span = run.ms / left;
        early++;
        break;
      }
      killedHere++;
      const k = assertPrefix(db, ref, feed, `kill ${kills.length + 1} at ${at} ms`);
      kills.push({ at, state: run.state, pagesBefore: k0, pagesAfter: k });
      k0 = k;
    }
    // The re-run after the round's last kill completes the import.
    r = cport(httpArgs(db));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(dump(db), ref.full, 'a completed run holds the whole feed');
    // Its day sums, rebuilt day by day after each run that got pages in,
    // equal the clean import's.
    assert.equal(sql(db, ROLLUP_SQL), ref.rollup, "the dashboard's day sums equal a clean import's");
    assert.equal(running(db), 0, "no run is left 'running'");
    assert.equal(integrity(db), 'ok');
    // Every killed run that got as far as recording itself was closed as
    // interrupted by the next (one killed in its first milliseconds has no row).
    // How many got that far depends on the machine's load, so only the
    // bound is per round; over all rounds some must have (checked below).
    const closed = Number(sql(db, "SELECT count(*) FROM import_runs WHERE error LIKE 'interrupted%'"));
    assert.ok(closed <= killedHere, `${closed} of ${killedHere} runs closed`);
    closedAll += closed;
    assert.equal(Number(sql(db, "SELECT count(*) FROM import_runs WHERE status NOT IN ('ok', 'failed')")), 0);
  }
  assert.ok(closedAll >= 1, 'killed runs that had recorded themselves were closed as interrupted');
  await control({ reset: true });
  const progress = kills.filter((x) => x.pagesAfter > x.pagesBefore).length;
  t.diagnostic(`http: ${kills.length} kills over a ${cleanMs} ms run (${ref.pages} pages), ${early} runs finished ` +
    `first; importer state at the kill ${JSON.stringify(tally(kills.map((x) => x.state)))} (R storing/parsing, ` +
    `S waiting on the feed); ${progress} kills came after the run had committed a page; pages at the kills: ` +
    kills.map((x) => x.pagesAfter).join(','));
});

test('kill -9 of a file:// --media import at 20 random points, in the pages and in the fetch', { skip: SKIP, timeout: 120000 }, async (t) => {
  const ref = mediaRef();
  const feed = 'file://' + mediaFeedDir;
  const args = (db) => ['import', '--db', db, '--feed', feed, '--media'];
  const kills = [];
  const tempSeen = new Set();
  let early = 0;
  let db;
  let pagesMs = ref.metaMs;
  for (let round = 0; kills.length < KILLS; round++) {
    assert.ok(round < ROUNDS * 10, 'runs kept finishing before their kill');
    db = newDb();
    const dir = path.dirname(db);
    let killedHere = 0;
    while (killedHere < KILLS / ROUNDS && kills.length < KILLS) {
      // The first run of a round is killed at a random moment of its pages (they
      // took metaMs in a clean run; less when a kill aimed there came too late).
      // A later one is killed by progress, not time, so a busy machine does not
      // move the points: a random few ms after the store has grown to a random
      // count between what it holds and all files.
      let at;
      let when = null;
      if (killedHere === 0) {
        at = Math.floor(random() * pagesMs);
      } else {
        const have = storeFiles(dir).originals;
        const target = have + 1 + Math.floor(random() * (ref.files.size - have));
        at = Math.floor(random() * 15);
        when = () => storeFiles(dir).originals >= target;
      }
      const run = await killAfter(args(db), at, when);
      if (!run.killed) {
        assert.equal(run.code, 0, run.stderr);
        early++;
        break;
      }
      killedHere++;
      const what = `kill ${kills.length + 1} at ${at} ms`;
      const k = assertPrefix(db, ref, feed, what);
      if (killedHere === 1 && k === ref.pages) pagesMs = Math.max(5, 0.7 * at);
      const files = mediaFiles(db);
      const items = mediaItems(db);
      // Recorded means complete: every file row is the clean run's, every stored
      // item is the clean run's and points at a recorded file, and every recorded
      // file decrypts, authenticates and hashes to its address.
      for (const f of files) assert.deepEqual(f, ref.files.get(f.sha), `${what}: a recorded file is the clean one`);
      const shas = new Set(files.map((f) => f.sha));
      for (const x of items) {
        assert.ok(['pending', 'stored'].includes(x.s), `${what}: item ${x.id} is ${x.s}`);
        if (x.s === 'stored') {
          assert.deepEqual(x, ref.items.get(x.id));
          assert.ok(shas.has(x.f), `${what}: stored item ${x.id} points at a recorded file`);
        }
      }
      if (k < ref.pages) assert.equal(files.length, 0, `${what}: no media is fetched before the pages are all in`);
      const v = cport(['media', 'verify', '--db', db]);
      assert.equal(v.status, 0, `${what}: media verify: ${v.stderr}`);
      const store = storeFiles(dir);
      for (const f of store.temp) tempSeen.add(path.join(dir, f));
      kills.push({ at, state: run.state, phase: k < ref.pages ? 'pages' : 'media', pages: k, stored: files.length,
        unrecorded: store.originals - files.length });
    }
    const r = cport(args(db));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(dump(db), ref.full);
    assert.equal(mediaDump(db), ref.media, 'the completed run fetched everything as a clean run does');
    assert.equal(running(db), 0, "no run is left 'running'");
    assert.equal(integrity(db), 'ok');
    const v = cport(['media', 'verify', '--db', db]);
    assert.equal(v.status, 0, v.stderr);
    const store = storeFiles(dir);
    assert.deepEqual([store.originals, store.previews], [ref.store.originals, ref.store.previews],
      'the store holds what a clean import stores');
    // A temp file may remain only where a kill caught a put (see below).
    for (const f of store.temp) assert.ok(tempSeen.has(path.join(dir, f)), `${f} was left by a kill`);
  }
  // A kill between creating a store temp file and renaming it into place leaves
  // the temp file (caught now and then above: a put takes about a millisecond).
  // A later --media run removes those older than an hour, and no younger one.
  const dir = path.dirname(db);
  const sub = fs.readdirSync(path.join(dir, 'media'))[0];
  const planted = {
    old: [path.join(dir, 'media', sub, '.tmp-faultsA'), path.join(dir, 'previews', sub, '.tmp-faultsA')],
    young: path.join(dir, 'media', sub, '.tmp-faultsB'),
  };
  for (const f of [...planted.old, planted.young]) {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, 'CPORTMS1 half-written');
  }
  const hoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
  for (const f of planted.old) fs.utimesSync(f, hoursAgo, hoursAgo);
  assert.equal(cport(args(db)).status, 0);
  assert.deepEqual(planted.old.filter((f) => fs.existsSync(f)), [], 'stale temp files are swept');
  assert.ok(fs.existsSync(planted.young), 'a recent one is left alone');
  fs.rmSync(planted.young);
  assert.equal(mediaDump(db), ref.media);
  const phases = tally(kills.map((x) => x.phase));
  assert.ok(phases.media > 0 && phases.pages > 0, `kills landed in the pages and in the fetch: ${JSON.stringify(phases)}`);
  t.diagnostic(`media: ${kills.length} kills over a ${ref.ms} ms run (pages ${ref.metaMs} ms, ${ref.files.size} ` +
    `files), ${early} runs finished first; phases ${JSON.stringify(phases)}; state at the kill ` +
    `${JSON.stringify(tally(kills.map((x) => x.state)))}; recorded files at the kills: ` +
    `${kills.filter((x) => x.phase === 'media').map((x) => x.stored).join(',')}; files stored but not yet ` +
    `recorded (reused after verification by the next run): ${kills.map((x) => x.unrecorded).join(',')}; temp files ` +
    `left by kills: ${tempSeen.size}`);
});

// ---- 2. kill -9 of a FastCGI worker ----

// The worker pids of a cport-fcgi master.
function workersOf(master) {
  const r = spawnSync('pgrep', ['-P', String(master)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
}
// Sockets a process holds: an idle worker has the listening one, a busy worker
// also the connection nginx opened for the request.
function socketCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  } catch {
    return 0;
  }
}
// The worker serving a request now (one more socket than the idle ones), or 0.
function busyWorker(master) {
  const ws = workersOf(master).map((pid) => [pid, socketCount(pid)]);
  const min = Math.min(...ws.map((w) => w[1]));
  const busy = ws.filter((w) => w[1] > min);
  return busy.length === 1 ? busy[0][0] : 0;
}
// Wait until the master runs n workers again, none of them `gone`; the time taken.
async function restarted(master, n, gone) {
  const t0 = Date.now();
  await until(() => {
    const ws = workersOf(master);
    return ws.length === n && !ws.includes(gone) && ws.every((p) => socketCount(p) > 0);
  }, 10000, 'the worker to be restarted');
  return Date.now() - t0;
}
// Read a response body to its end: the bytes, and the error if it was cut.
async function drain(r) {
  const parts = [];
  let error = null;
  try {
    for await (const chunk of r.body) parts.push(chunk);
  } catch (e) {
    error = String(e.cause?.code ?? e.message);
  }
  const body = Buffer.concat(parts);
  return { n: body.length, error, body };
}
// n distinct SHA-256 values as a text hash list.
function hashLines(prefix, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(crypto.createHash('sha256').update(prefix + i).digest('hex'));
  return out.join('\n') + '\n';
}

test('kill -9 of a cport-fcgi worker mid-request: that request fails, the worker comes back, nothing half-written', { skip: SKIP, timeout: 120000 }, async (t) => {
  const WORKERS = 2;
  const s = await startStack({ reports: 100, workers: WORKERS });
  try {
    const master = s.fcgi.pid;
    await until(() => workersOf(master).length === WORKERS, 5000, 'the workers');
    const list = s.cport(['hashlist', 'create', '--org', 'EOKM', '--name', 'faults-200k']);
    const file = path.join(s.dir, 'list-200k.txt');
    fs.writeFileSync(file, hashLines('a', 200000));
    assert.match(s.cport(['hashlist', 'import', '--list', list, '--algorithm', 'sha256', '--no-reindex', file]),
      /added 200000, .*list version 1/);
    const c = await clientFor(s, 'hotline');
    const headers = { cookie: c.cookie };
    const exportUrl = `${s.base}/api/v1/hash-lists/${list}/export`;

    // A whole export first: how long the worker is busy, how big the body is.
    let t0 = Date.now();
    let r = await fetch(exportUrl, { headers });
    const firstByte = Date.now() - t0;
    const whole = await drain(r);
    const exportMs = Date.now() - t0;
    assert.equal(r.status, 200);
    assert.equal(whole.error, null);
    assert.doesNotThrow(() => JSON.parse(whole.body), 'a whole export is valid JSON');
    assert.ok(exportMs >= 200, `the export keeps a worker busy (${exportMs} ms)`);

    // (a) Killed while the export streams: nginx has passed the 200 and the
    // headers on already, so the client gets the body cut short, not a 502. With
    // fastcgi_keep_conn off nginx takes the closed FastCGI connection for the end
    // of the response and ends the chunked body cleanly: the transfer looks
    // complete, only the content shows the cut (the VICS JSON does not parse).
    const pending = fetch(exportUrl, { headers });
    const victim = await until(() => busyWorker(master), 5000, 'a busy worker');
    r = await pending; // the response head has arrived
    process.kill(victim, 'SIGKILL');
    const cutShort = await drain(r);
    assert.equal(r.status, 200);
    assert.ok(cutShort.n < whole.n, `the body ends early: ${cutShort.n} of ${whole.n} bytes`);
    assert.throws(() => JSON.parse(cutShort.body), SyntaxError, 'a cut export is not valid JSON');
    const restartA = await restarted(master, WORKERS, victim);

    // (b) Killed in the middle of a 200k-line upload into the same list: the
    // worker has not answered yet, so nginx answers 502 problem+json; the import's
    // one transaction never commits.
    const body = hashLines('b', 200000);
    const list0 = s.sql(`SELECT version, (SELECT count(*) FROM hash_entries WHERE list_id = ${list}) AS n,
      (SELECT max(seq) FROM hash_entries) AS seq FROM hash_lists WHERE id = ${list}`)[0];
    t0 = Date.now();
    const upload = fetch(`${s.base}/api/v1/hash-lists/${list}/import?format=text&algorithm=sha256`, {
      method: 'POST', headers: { ...headers, 'x-csrf-token': c.csrf, 'content-type': 'text/plain' }, body,
    });
    const importer = await until(() => busyWorker(master), 10000, 'the importing worker');
    await sleep(400); // well inside the ~5 s the import takes
    process.kill(importer, 'SIGKILL');
    r = await upload;
    const problem = await r.json();
    const uploadMs = Date.now() - t0;
    assert.equal(r.status, 502);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(problem.type, 'urn:cport:problem:unavailable');
    assert.equal(problem.status, 502);
    const restartB = await restarted(master, WORKERS, importer);
    const list1 = s.sql(`SELECT version, (SELECT count(*) FROM hash_entries WHERE list_id = ${list}) AS n,
      (SELECT max(seq) FROM hash_entries) AS seq FROM hash_lists WHERE id = ${list}`)[0];
    assert.deepEqual(list1, list0, 'version, entries and sequence unchanged');
    const probe = crypto.createHash('sha256').update('b0').digest('hex');
    assert.equal(s.sql(`SELECT count(*) AS n FROM hash_entries WHERE value = x'${probe}'`)[0].n, 0);
    const apiImports = "SELECT count(*) AS n FROM audit WHERE action = 'hashlist.import' AND actor NOT LIKE 'cli:%'";
    assert.equal(s.sql(apiImports)[0].n, 0, 'no audit entry for an import that never happened');
    assert.equal(s.sql('PRAGMA integrity_check')[0].integrity_check, 'ok');
    assert.match(s.cport(['audit', 'verify']), /^audit chain ok/);
    const bodyTemp = path.join(s.dir, 'var', 'nginx', 'body');
    const leftBodies = fs.existsSync(bodyTemp) ? fs.readdirSync(bodyTemp, { recursive: true })
      .filter((f) => fs.statSync(path.join(bodyTemp, f)).isFile()) : [];
    assert.deepEqual(leftBodies, [], "nginx removed the upload's temp file");

    // The pool is whole again and every request succeeds.
    assert.equal(workersOf(master).length, WORKERS);
    for (let i = 0; i < 10; i++) {
      const g = await c.get(`/api/v1/hash-lists/${list}`);
      assert.equal(g.status, 200);
      assert.equal(g.body.version, 1);
    }
    r = await fetch(exportUrl, { headers });
    const again = await drain(r);
    assert.equal(again.error, null);
    assert.ok(again.body.equals(whole.body), 'a whole export again');
    assert.match(s.log(), new RegExp(`worker ${victim} ended \\(signal 9\\); restarting`));
    assert.match(s.log(), new RegExp(`worker ${importer} ended \\(signal 9\\); restarting`));
    await sleep(1500); // the live workers' deferred audit entries fall due
    const exportAudits = s.sql("SELECT count(*) AS n FROM audit WHERE action = 'hashlist.export'")[0].n;
    const end = cutShort.error ?? 'a clean end of the chunked body';
    t.diagnostic(`fcgi: export of 200k entries ${whole.n} bytes in ${exportMs} ms (first byte ${firstByte} ms); ` +
      `killed mid-stream: status 200, ${cutShort.n} bytes then ${end}; master restarted the worker in ` +
      `${restartA} ms. Upload killed mid-import: 502 problem+json after ${uploadMs} ms, restart ${restartB} ms, ` +
      `list unchanged. Read-audit entries of the 3 exports: ${exportAudits} (deferred reads queued in a killed ` +
      'worker die with it)');
  } finally {
    await s.stop();
  }
});

// ---- 3. a full disk ----

// Mount a tmpfs of size at dir; '' on success, else why not.
function mountTmpfs(dir, size) {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error) return String(r.error.message);
  return r.status === 0 ? '' : (r.stderr || `mount exited ${r.status}`).trim();
}
function unmount(dir) {
  const r = spawnSync('umount', [dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `umount ${dir}: ${r.stderr}`);
}

test('disk full under the database: a clean failure, committed pages kept, completes elsewhere', { skip: SKIP, timeout: 120000 }, async (t) => {
  const feedDir = path.join(tmp, 'feed-4k');
  let r = cport(['feedgen', '--count', '4000', '--seed', '3', '--out', feedDir, '--page-size', '100']);
  assert.equal(r.status, 0, r.stderr);
  const feed = 'file://' + feedDir;
  const clean = newDb();
  assert.equal(cport(['import', '--db', clean, '--feed', feed]).status, 0);
  const mnt = path.join(tmp, 'small-db');
  const why = mountTmpfs(mnt, '4m');
  if (why) {
    t.skip(`cannot mount a tmpfs here (${why}): the disk-full test needs root`);
    return;
  }
  try {
    const db = path.join(mnt, 'cport.db');
    assert.equal(cport(['migrate', '--db', db]).status, 0);
    r = cportTimed(['import', '--db', db, '--feed', feed]);
    assert.notEqual(r.status, 0, 'the import fails');
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^cport: import failed after \d+ pages: .*(disk is full|No space left)/);
    assert.equal(integrity(db), 'ok');
    const cursor = cursorOf(db, feed);
    const k = Number(/reports-(\d+)\.json/.exec(cursor)?.[1] ?? 0);
    assert.ok(k > 0 && k < pageCount(feedDir), `some pages were committed (${k})`);
    // Exactly the committed pages: what a clean import of k pages holds.
    const prefix = newDb();
    assert.equal(cport(['import', '--db', prefix, '--feed', feed, '--max-pages', String(k)]).status, 0);
    assert.equal(dump(db), dump(prefix), 'the database holds the pages up to the cursor, nothing more');
    assert.match(sql(db, 'SELECT status, pages, error FROM import_runs'), new RegExp(`^failed\\|${k}\\|.*(full|space)`));
    // Another run on the full disk fails the same way and loses nothing.
    const again = cport(['import', '--db', db, '--feed', feed]);
    assert.notEqual(again.status, 0);
    assert.ok(Number(/reports-(\d+)/.exec(cursorOf(db, feed))[1]) >= k, 'the cursor never moves back');
    assert.equal(integrity(db), 'ok');
    // Move it somewhere roomy (a backup reads the committed state, WAL included)
    // and finish there.
    const roomy = path.join(tmp, 'roomy-db');
    fs.mkdirSync(roomy);
    const moved = path.join(roomy, 'cport.db');
    const b = cport(['backup', '--db', db, '--out', moved]);
    assert.equal(b.status, 0, b.stderr);
    const done = cport(['import', '--db', moved, '--feed', feed]);
    assert.equal(done.status, 0, done.stderr);
    assert.equal(dump(moved), dump(clean), 'equals a clean import');
    assert.equal(running(moved), 0);
    assert.equal(integrity(moved), 'ok');
    t.diagnostic(`db on a 4 MB tmpfs: failed after ${k} of ${pageCount(feedDir)} pages in ${r.ms} ms, ` +
      `peak RSS ${Math.round(r.rssKb / 1024)} MB: ${r.stderr.trim()}`);
  } finally {
    unmount(mnt);
  }
});

test('disk full under the media store: a clean failure, every recorded file whole, completes after remount', { skip: SKIP, timeout: 120000 }, async (t) => {
  const ref = mediaRef();
  const feed = 'file://' + mediaFeedDir;
  const store = path.join(tmp, 'small-store');
  const why = mountTmpfs(store, '4m');
  if (why) {
    t.skip(`cannot mount a tmpfs here (${why}): the disk-full test needs root`);
    return;
  }
  try {
    const conf = path.join(tmp, 'small-store.conf');
    fs.writeFileSync(conf, `data_dir = ${store}\n`);
    const db = newDb();
    const args = ['--config', conf, 'import', '--db', db, '--feed', feed, '--media'];
    const r = cportTimed(args);
    assert.notEqual(r.status, 0, 'the import fails');
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^cport: import failed after \d+ pages: media: .*No space left on device/);
    // The pages came first and are all in; the media recorded so far is whole.
    assert.equal(dump(db), ref.full);
    assert.equal(integrity(db), 'ok');
    const files = mediaFiles(db);
    assert.ok(files.length > 0 && files.length < ref.files.size, `${files.length} of ${ref.files.size} recorded`);
    for (const f of files) assert.deepEqual(f, ref.files.get(f.sha));
    const v = cport(['--config', conf, 'media', 'verify', '--db', db]);
    assert.equal(v.status, 0, v.stderr);
    const left = storeFiles(store);
    assert.deepEqual(left.temp, [], 'the failed write removed its temp file');
    assert.match(sql(db, 'SELECT status, error FROM import_runs ORDER BY id DESC LIMIT 1'), /^failed\|media: .*No space/);
    // More room: the next run fetches the rest.
    const re = spawnSync('mount', ['-o', 'remount,size=64m', store], { encoding: 'utf8' });
    assert.equal(re.status, 0, re.stderr);
    const done = cport(args);
    assert.equal(done.status, 0, done.stderr);
    assert.equal(mediaDump(db), ref.media, 'equals a clean --media import');
    assert.equal(running(db), 0);
    assert.equal(cport(['--config', conf, 'media', 'verify', '--db', db]).status, 0);
    const s = storeFiles(store);
    assert.deepEqual([s.originals, s.previews, s.temp.length], [ref.store.originals, ref.store.previews, 0]);
    t.diagnostic(`media store on a 4 MB tmpfs: ${files.length} of ${ref.files.size} files recorded when it ` +
      `filled, ${r.ms} ms, peak RSS ${Math.round(r.rssKb / 1024)} MB: ${r.stderr.trim()}`);
  } finally {
    unmount(store);
  }
});

// ---- 4. a hostile feed ----

test('a gzip-bomb page, an endless page and connections dropped mid-body: bounded, cursor unchanged', { skip: SKIP, timeout: 120000 }, async (t) => {
  const ref = await httpRef();
  const faults = [
    { mode: { gzip_bomb_page: 3 }, error: /page after cursor .*: page is larger than the 33554432-byte limit/, ms: 10000 },
    { mode: { endless_page: 3 }, error: /page is larger than the 33554432-byte limit/, ms: 10000 },
    { mode: { drop_page: 3 }, error: /page body truncated \(transfer closed with outstanding read data remaining\)/, ms: 5000 },
    // A reset is a network error: retried with backoff 0.5+1+2+4+8 s, then given up.
    { mode: { drop_page: 3, drop_reset: true }, error: /giving up after 5 retries: .*reset by peer/, ms: 25000 },
  ];
  const seen = [];
  for (const f of faults) {
    await control({ reset: true });
    await control(f.mode);
    const db = newDb();
    const r = cportTimed(httpArgs(db));
    const what = JSON.stringify(f.mode);
    assert.notEqual(r.status, 0, `${what}: the run fails`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
    assert.match(r.stderr, /^cport: import failed after 2 pages: /);
    assert.match(r.stderr, f.error, what);
    assert.ok(r.ms < f.ms, `${what}: bounded in time (${r.ms} ms)`);
    assert.ok(r.rssKb < 100 * 1024, `${what}: bounded in memory (${r.rssKb} KB)`);
    assert.equal(cursorOf(db, httpFeed), ref.cursors[2], `${what}: the cursor stays after page 2`);
    assert.equal(reportsDump(db), ref.dumps[2], `${what}: pages 1 and 2, nothing of page 3`);
    assert.match(sql(db, 'SELECT status FROM import_runs'), /^failed/);
    await control({ reset: true });
    const again = cport(httpArgs(db));
    assert.equal(again.status, 0, `${what}: the next run completes: ${again.stderr}`);
    assert.equal(dump(db), ref.full, `${what}: and equals a clean import`);
    seen.push(`${what}: ${r.ms} ms, ${Math.round(r.rssKb / 1024)} MB`);
  }
  // Resets that stop: the retries carry the run through.
  await control({ reset: true });
  await control({ drop_page: 3, drop_reset: true, drop_count: 2 });
  const db = newDb();
  const r = cportTimed(httpArgs(db));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(dump(db), ref.full);
  assert.equal((await stats()).by_page['3'], 3, 'page 3 asked for three times');
  seen.push(`two resets then fine: completed in ${r.ms} ms, ${Math.round(r.rssKb / 1024)} MB`);
  await control({ reset: true });
  t.diagnostic('feed faults: ' + seen.join('; '));
});
