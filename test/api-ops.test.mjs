// Operational behaviour of the API on a stack of its own (busy_timeout_ms = 200, 3 workers,
// a small feed): a write-locked database gives 503 + Retry-After problem+json (never 500)
// while reads keep working, and sign-in works again once the lock is gone; session idle and
// absolute expiry (sessions aged in the database); the prefork pool restarts a killed
// worker without failing requests; SIGTERM to the master ends every worker and removes the
// socket (last, as it ends the stack).
//
// Run: node --test test/api-ops.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, Client, USERS, PASSWORD } from './lib/stack.mjs';

const WORKERS = 3;
let stack;
let reader; // bearer client for reads

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Pids of the processes whose parent is pid.
function children(pid) {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

// Is this pid alive (and not a zombie)?
function alive(pid) {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// Hold SQLite's write lock from a separate sqlite3 process until release() is called.
async function holdWriteLock(db) {
  const p = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  p.stdin.write('PRAGMA busy_timeout = 5000;\nBEGIN IMMEDIATE;\nSELECT \'locked\';\n');
  await until(() => /locked/.test(out), 5000, 'the sqlite3 lock holder');
  assert.doesNotMatch(out, /Error/i, out);
  return {
    async release() {
      p.stdin.end('ROLLBACK;\n.quit\n');
      if (p.exitCode === null) await new Promise((r) => p.once('exit', r));
    },
  };
}

function assertBusy(r, what) {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
  assert.match(r.headers.get('content-type') || '', /^application\/problem\+json/, what);
  assert.equal(r.body.status, 503, what);
  assert.match(r.body.type, /busy/, what);
  assert.ok(Number(r.headers.get('retry-after')) >= 1, `${what}: Retry-After`);
  assert.doesNotMatch(r.text, /sqlite|SELECT|locked/i, `${what}: leaks internals`);
}

before(async () => {
  stack = await startStack({ reports: 300, workers: WORKERS, config: 'busy_timeout_ms = 200' });
  reader = new Client(stack.base);
  reader.token = stack.cport(['token', 'create', '--email', USERS.nl.email, '--name', 'ops']);
});

after(async () => {
  if (stack) await stack.stop();
});

test('sign-in while another process holds the write lock is 503 problem+json with Retry-After, reads still work, and sign-in works after release', async () => {
  const signedIn = new Client(stack.base);
  await signedIn.signIn(USERS.nl.email);
  const lock = await holdWriteLock(stack.db);
  try {
    const t0 = Date.now();
    const r = await new Client(stack.base).req('POST', '/api/v1/session', { email: USERS.de.email, password: PASSWORD });
    assertBusy(r, 'POST /session');
    assert.ok(Date.now() - t0 < 3000, 'the busy answer comes after busy_timeout_ms, not the default 5 s');
    assert.equal(r.headers.get('set-cookie'), null, 'no cookie for a session that was not stored');
    // Sign-out writes too: busy, not 500, and the session survives.
    const del = await signedIn.req('DELETE', '/api/v1/session');
    assertBusy(del, 'DELETE /session');
    // WAL: reads go on while the writer holds its lock.
    const list = await reader.get('/api/v1/reports?limit=5');
    assert.equal(list.status, 200, list.text);
    assert.equal((await signedIn.get('/api/v1/me')).status, 200);
    assert.equal((await reader.get('/api/v1/stats')).status, 200);
  } finally {
    await lock.release();
  }
  const c = new Client(stack.base);
  const ok = await c.req('POST', '/api/v1/session', { email: USERS.de.email, password: PASSWORD });
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await c.get('/api/v1/me')).body.user.email, USERS.de.email);
  assert.equal((await signedIn.req('DELETE', '/api/v1/session')).status, 204);
  assert.doesNotMatch(stack.log(), / 500 [\d.]+ms |error (POST|DELETE|GET) /, 'no 500 was logged');
});

test('a session idle for longer than 30 minutes, or older than 12 hours, no longer authenticates and is deleted', async () => {
  const idle = new Client(stack.base);
  await idle.signIn(USERS.hotline.email);
  const idleId = stack.sql('SELECT max(id) AS id FROM sessions')[0].id;
  const old = new Client(stack.base);
  await old.signIn(USERS.interpol.email);
  const oldId = stack.sql('SELECT max(id) AS id FROM sessions')[0].id;
  assert.equal((await idle.get('/api/v1/me')).status, 200);
  assert.equal((await old.get('/api/v1/me')).status, 200);
  // Age the rows: last seen 31 minutes ago; created 13 hours ago but seen just now.
  stack.sql(`UPDATE sessions SET last_seen_at = last_seen_at - 31 * 60, created_at = created_at - 31 * 60 WHERE id = ${idleId}`);
  stack.sql(`UPDATE sessions SET created_at = created_at - 13 * 3600 WHERE id = ${oldId}`);
  for (const [c, id, what] of [[idle, idleId, 'idle'], [old, oldId, 'too old']]) {
    const r = await c.get('/api/v1/me');
    assert.equal(r.status, 401, `${what}: ${r.status}`);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    assert.equal(stack.sql(`SELECT count(*) AS n FROM sessions WHERE id = ${id}`)[0].n, 0, `${what}: row removed`);
  }
  // 29 minutes idle is still fine.
  const fresh = new Client(stack.base);
  await fresh.signIn(USERS.de.email);
  stack.sql(`UPDATE sessions SET last_seen_at = last_seen_at - 29 * 60 WHERE id = (SELECT max(id) FROM sessions)`);
  assert.equal((await fresh.get('/api/v1/me')).status, 200);
});

test('killing a worker with SIGKILL fails no request and the master restarts it', async () => {
  await until(() => children(stack.fcgi.pid).length === WORKERS, 5000, `${WORKERS} workers`);
  const before = children(stack.fcgi.pid);
  assert.equal(before.length, WORKERS);
  const victim = before[0];
  // Keep requests flowing while the worker dies.
  const burst = Array.from({ length: 30 }, (_, i) => reader.get(`/api/v1/reports?limit=${i + 1}`));
  process.kill(victim, 'SIGKILL');
  const results = await Promise.all(burst);
  await until(() => !alive(victim), 5000, 'the killed worker to go');
  for (let i = 0; i < 30; i++) {
    const r = await reader.get(`/api/v1/reports?limit=${i + 1}&sort=domain`);
    results.push(r);
  }
  const bad = results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text.slice(0, 120)}`);
  assert.deepEqual(bad, [], 'every request succeeded');
  await until(() => children(stack.fcgi.pid).length === WORKERS, 5000, 'the pool to be full again');
  const after = children(stack.fcgi.pid);
  assert.ok(!after.includes(victim), 'the dead worker is gone');
  assert.equal(after.filter((p) => !before.includes(p)).length, 1, 'exactly one new worker');
  assert.match(stack.log(), new RegExp(`worker ${victim} ended \\(signal 9\\); restarting`));
  // Every worker, the new one included, serves.
  const many = await Promise.all(Array.from({ length: 20 }, () => reader.get('/api/v1/health')));
  assert.ok(many.every((r) => r.status === 200));
});

test('SIGTERM to the master ends every worker and removes the socket; nginx then answers 502 problem+json', async () => {
  const sock = join(stack.dir, 'run', 'cport.sock');
  assert.ok(existsSync(sock));
  const workers = children(stack.fcgi.pid);
  assert.equal(workers.length, WORKERS);
  const exited = new Promise((r) => stack.fcgi.once('close', (code, signal) => r({ code, signal })));
  process.kill(stack.fcgi.pid, 'SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0, 'the master exits cleanly');
  for (const pid of workers) await until(() => !alive(pid), 3000, `worker ${pid} to end`);
  assert.ok(!existsSync(sock), 'the socket is removed');
  assert.match(stack.log(), /cport-fcgi: stopped/);
  const r = await reader.get('/api/v1/health');
  assert.equal(r.status, 502);
  assert.match(r.headers.get('content-type') || '', /problem\+json/);
  assert.equal(r.headers.get('retry-after'), '1');
});

test('SIGTERM drains: a request in flight when the master is told to stop still gets its answer', async () => {
  const s = await startStack({ reports: 50, workers: 2, config: 'busy_timeout_ms = 4000' });
  try {
    // The sign-in's write waits on a lock held elsewhere, so it is in flight for a while.
    const lock = await holdWriteLock(s.db);
    const pending = new Client(s.base).req('POST', '/api/v1/session', { email: USERS.nl.email, password: PASSWORD });
    await sleep(400);
    const exited = new Promise((r) => s.fcgi.once('close', (code) => r(code)));
    process.kill(s.fcgi.pid, 'SIGTERM');
    await sleep(300);
    assert.equal(s.fcgi.exitCode, null, 'the master waits for the busy worker');
    await lock.release();
    const r = await pending;
    assert.equal(r.status, 200, `the in-flight request was answered: ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal(await exited, 0, 'the master then exits cleanly');
  } finally {
    await s.stop();
  }
});
