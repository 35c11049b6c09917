// importer-media.test.mjs - `cport import --media` over http against
// test/fake-iccam.mjs serving a small feed's generated pictures: the http fetch
// stores what the file:// fetch stores; 503s are retried; a connection dropped
// mid-body, an endless body, a gzip bomb, a 401 and a slow server each end in a
// bounded, recorded failure (the metadata imports regardless), and the next run
// fetches what failed.
// Run: CPORT_BUILD=build node --test test/importer-media.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFake } from './lib/fake.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CPORT = path.join(process.env.CPORT_BUILD || path.join(HERE, '..', 'build'), 'cport');
const TOKEN = 'media-token-' + Math.random().toString(36).slice(2);

let tmp, feedDir, tokenFile, fake, port, feed, conf;

// Run cport; returns {status, stdout, stderr, ms}.
function cport(args) {
  const t0 = Date.now();
  const r = spawnSync(CPORT, ['--config', conf, ...args], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}
// Rows of a query as objects.
function sql(db, q) {
  const r = spawnSync('sqlite3', ['-json', db, q], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}
let n = 0;
// A fresh migrated database in its own directory (its own store and key).
function newDb() {
  const dir = path.join(tmp, `db${++n}`);
  fs.mkdirSync(dir);
  const db = path.join(dir, 'cport.db');
  assert.equal(cport(['migrate', '--db', db]).status, 0);
  return db;
}
// POST a control object to the fake server (once more when the kept-alive
// connection went stale while a synchronous cport run blocked this process).
async function control(obj) {
  const post = () => fetch(`http://127.0.0.1:${port}/_control`, { method: 'POST', body: JSON.stringify(obj) });
  const r = await post().catch(post);
  assert.equal(r.status, 200);
}
// An import of the http feed with --media.
const importHttp = (db) => cport(['import', '--db', db, '--feed', feed, '--token-file', tokenFile, '--media']);
// How many items with content there are, and by fetch state.
const states = (db) => Object.fromEntries(sql(db, 'SELECT fetch_state AS s, count(*) AS n FROM media WHERE content_ref IS NOT NULL GROUP BY 1').map((r) => [r.s, r.n]));

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cport-media-'));
  conf = path.join(tmp, 'cport.conf');
  // Small limits so failures come fast: one retry, 1 s timeout, 1 MB cap.
  fs.writeFileSync(conf, 'media_retries = 1\nmedia_timeout_seconds = 2\nmedia_max_bytes = 1048576\n');
  feedDir = path.join(tmp, 'feed');
  const g = cport(['feedgen', '--count', '12', '--seed', '5', '--out', feedDir, '--media-files', '40', '--no-updates']);
  assert.equal(g.status, 0, g.stderr);
  tokenFile = path.join(tmp, 'token');
  fs.writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
  ({ proc: fake, port } = await startFake(feedDir, ['--token', TOKEN]));
  feed = `http://127.0.0.1:${port}`;
});
after(() => {
  if (fake) fake.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('over http the fetch stores what the file:// fetch stores; 503s are retried', async () => {
  await control({ reset: true, media_5xx: 1 });
  const db = newDb();
  const r = importHttp(db);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /media stored \d+, deduplicated \d+, failed 0, refused 0/);
  const stats = await (await fetch(`http://127.0.0.1:${port}/_stats`).catch(() => fetch(`http://127.0.0.1:${port}/_stats`))).json();
  assert.equal(stats.by_status['503'], 1, 'one 503, retried');
  const total = sql(db, 'SELECT count(*) AS n FROM media WHERE content_ref IS NOT NULL')[0].n;
  assert.ok(total >= 5, `${total} items with content`);
  assert.deepEqual(states(db), { stored: total });
  const fdb = newDb();
  assert.equal(cport(['import', '--db', fdb, '--feed', 'file://' + feedDir, '--media']).status, 0);
  const files = (d) => sql(d, 'SELECT hex(sha256) AS h, type, hex(pdq) AS p FROM media_files ORDER BY 1');
  assert.deepEqual(files(db), files(fdb));
  assert.equal(sql(db, 'SELECT media_stored AS s, media_failed AS f FROM import_runs')[0].f, 0);
});

test('a dropped connection, a 401 and a slow server fail cleanly; the next run fetches', async () => {
  for (const mode of [{ media_drop: 2 }, { media_401: true }, { media_slow: 2 }]) {
    await control({ reset: true });
    const db = newDb();
    // Metadata first, then the content under the fault.
    assert.equal(cport(['import', '--db', db, '--feed', feed, '--token-file', tokenFile]).status, 0);
    await control(mode);
    const r = importHttp(db);
    await control({ reset: true });
    assert.equal(r.status, 0, `${JSON.stringify(mode)}: ${r.stderr}`);
    assert.match(r.stdout, /failed [1-9]\d*, refused 0/, JSON.stringify(mode));
    const err = sql(db, "SELECT fetch_error AS e, fetch_attempts AS a FROM media WHERE fetch_state = 'failed' LIMIT 1")[0];
    assert.equal(err.a, 1);
    if (mode.media_drop) assert.match(err.e, /gave up after 1 retries: .*(transfer closed|Partial|partial)/i);
    if (mode.media_401) assert.match(err.e, /HTTP 401/);
    if (mode.media_slow) assert.match(err.e, /gave up after 1 retries: .*(timed out|Timeout)/i);
    // The failed items are retried by the next run, and now succeed.
    const again = importHttp(db);
    assert.match(again.stdout, /media stored [1-9]\d*, deduplicated \d+, failed 0, refused 0/);
    assert.deepEqual(Object.keys(states(db)), ['stored']);
  }
});

test('an endless body and a gzip bomb are refused within the cap, quickly', async () => {
  for (const mode of [{ media_endless: true }, { media_gzip_bomb: true }]) {
    await control({ reset: true, ...mode });
    const db = newDb();
    const r = importHttp(db);
    await control({ reset: true });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.ms < 30000, `bounded in time (${r.ms} ms)`);
    assert.match(r.stdout, /inserted 12, .*; media stored 0, deduplicated 0, failed 0, refused [1-9]/);
    const e = sql(db, "SELECT DISTINCT fetch_error AS e FROM media WHERE fetch_state = 'refused'").map((x) => x.e);
    if (mode.media_endless) assert.deepEqual(e, ['content is larger than the 1048576-byte limit']);
    else assert.deepEqual(e, ['the content is application/octet-stream, not an image or a video'], 'gzip is not inflated');
    assert.equal(sql(db, 'SELECT count(*) AS n FROM media_files')[0].n, 0);
    assert.deepEqual(fs.readdirSync(path.join(path.dirname(db))).filter((f) => f === 'media'), [], 'nothing stored');
  }
});
