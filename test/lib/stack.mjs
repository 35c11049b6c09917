// stack.mjs - starts the real thing for API and browser tests: a fresh SQLite
// database in a temp dir, fixture organisations, users and agreements made with
// the `cport` CLI, a generated synthetic feed imported with `cport import`, then
// cport-fcgi and nginx (TLS) on free loopback ports. stop() tears it all down.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD = process.env.CPORT_BUILD || join(ROOT, 'build');
export const PASSWORD = 'test-password-1';

// Self-signed certificate of the test nginx: trust it in this process only.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

// The fixture: who exists and what each may see (DOMAIN.md's scope rules).
export const USERS = {
  nl: { email: 'nl@police.example', org: 'NL Police', role: 'analyst' },      // NL, metadata, reported-from
  de: { email: 'de@police.example', org: 'DE Police', role: 'viewer' },       // DE, no metadata
  be: { email: 'be@police.example', org: 'BE Police', role: 'viewer' },       // expired agreement
  fr: { email: 'fr@police.example', org: 'FR Police', role: 'viewer' },       // no agreement
  hotline: { email: 'analyst@eokm.example', org: 'EOKM', role: 'analyst' },   // hotline NL-EOKM
  interpol: { email: 'analyst@interpol.example', org: 'INTERPOL', role: 'analyst' },
  operator: { email: 'op@cport.example', org: 'Operator', role: 'operator' },
};

// A free TCP port on loopback.
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

// Run the cport CLI against the stack's database; returns stdout (throws on failure).
export function cport(db, args, input) {
  return execFileSync(join(BUILD, 'cport'), args, {
    env: { ...process.env, CPORT_DB: db }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
  }).trim();
}

// Run SQL with the sqlite3 shell (read-only checks in tests); returns rows as arrays.
export function sql(db, query) {
  const out = execFileSync('sqlite3', ['-json', db, query], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

// Wait until url answers (any status), or fail after ms.
async function waitFor(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try { const r = await fetch(url); if (r.status < 500) return; } catch { /* not up yet */ }
    if (Date.now() > until) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Create the fixture organisations, agreements and users.
export function makeFixture(db) {
  cport(db, ['migrate']);
  cport(db, ['org', 'add', '--kind', 'lea', '--name', 'NL Police', '--country', 'NL']);
  cport(db, ['org', 'add', '--kind', 'lea', '--name', 'DE Police', '--country', 'DE']);
  cport(db, ['org', 'add', '--kind', 'lea', '--name', 'BE Police', '--country', 'BE']);
  cport(db, ['org', 'add', '--kind', 'lea', '--name', 'FR Police', '--country', 'FR']);
  cport(db, ['org', 'add', '--kind', 'hotline', '--name', 'EOKM', '--country', 'NL', '--code', 'NL-EOKM']);
  cport(db, ['org', 'add', '--kind', 'interpol', '--name', 'INTERPOL', '--country', 'FR']);
  cport(db, ['org', 'add', '--kind', 'operator', '--name', 'Operator', '--country', 'NL']);
  cport(db, ['agreement', 'add', '--lea', 'NL Police', '--hotline', 'NL-EOKM', '--jurisdiction', 'NL',
    '--media-metadata', '--include-reported-from']);
  cport(db, ['agreement', 'add', '--lea', 'DE Police', '--hotline', 'DE-ECO', '--jurisdiction', 'DE']);
  cport(db, ['agreement', 'add', '--lea', 'BE Police', '--hotline', 'BE-CHILDFOCUS', '--jurisdiction', 'BE',
    '--media-metadata', '--valid-from', '2019-01-01', '--valid-to', '2020-01-01']);
  for (const u of Object.values(USERS)) {
    cport(db, ['user', 'add', '--org', u.org, '--email', u.email, '--role', u.role], PASSWORD + '\n');
  }
}

// Start a complete stack. opts: reports (feed size), seed, workers, config
// (cport.conf lines), mediaFiles (generated media content, fetched).
export async function startStack(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cport-test-'));
  const db = join(dir, 'cport.db');
  const feed = join(dir, 'feed');
  makeFixture(db);
  // opts.mediaFiles: the feed also carries generated pictures for its first
  // media items, and the import fetches them (--media).
  const media = opts.mediaFiles ? ['--media-files', String(opts.mediaFiles)] : [];
  cport(db, ['feedgen', '--count', String(opts.reports ?? 3000), '--seed', String(opts.seed ?? 7),
    '--out', feed, '--start-date', '2025-10-01', ...media]);
  const importOut = cport(db, ['import', '--feed', 'file://' + feed, ...(opts.mediaFiles ? ['--media'] : [])]);
  const [https, http] = [await freePort(), await freePort()];
  const sock = join(dir, 'run', 'cport.sock');
  const conf = execFileSync(join(ROOT, 'scripts', 'nginx-conf'), [join(dir, 'var'), sock, String(https), String(http)],
    { encoding: 'utf8', env: { ...process.env, CPORT_DATA_DIR: dir } }).trim();
  execFileSync('mkdir', ['-p', join(dir, 'run')]);
  const fcgiArgs = ['--db', db, '--socket', sock, '--workers', String(opts.workers ?? 2)];
  // The fixture users have no TOTP, so the stacks run with MFA optional unless a
  // test turns it on; opts.config adds cport.conf lines (later lines win).
  writeFileSync(join(dir, 'cport.conf'),
    `mfa_required = 0\npublic_url = https://127.0.0.1:${https}\n` + (opts.config ?? '') + '\n');
  fcgiArgs.push('--config', join(dir, 'cport.conf'));
  const fcgi = spawn(join(BUILD, 'cport-fcgi'), fcgiArgs,
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let fcgiLog = '';
  fcgi.stderr.on('data', (d) => { fcgiLog += d; });
  const nginx = spawn('nginx', ['-p', join(dir, 'var'), '-c', conf, '-e', join(dir, 'var', 'log', 'nginx-error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const base = `https://127.0.0.1:${https}`;
  try {
    await waitFor(base + '/api/v1/health', 10000);
  } catch (e) {
    // A stack that never came up leaves nothing behind but its error.
    nginx.kill('SIGTERM');
    fcgi.kill('SIGTERM');
    if (!process.env.CPORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
    throw new Error(`${e.message}; cport-fcgi said: ${fcgiLog.slice(-500)}`);
  }
  const stack = {
    dir, db, feed, base, https, http, importOut, fcgi, nginx,
    log: () => fcgiLog,
    cport: (args, input) => cport(db, args, input),
    sql: (q) => sql(db, q),
    async stop() {
      nginx.kill('SIGTERM');
      fcgi.kill('SIGTERM');
      await Promise.all([nginx, fcgi].map((p) => (p.exitCode !== null ? null : new Promise((r) => p.once('exit', r)))));
      if (!process.env.CPORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

// A signed-in API client: cookie session (with CSRF) or bearer token.
export class Client {
  constructor(base) { this.base = base; this.cookie = null; this.csrf = null; this.token = null; }

  // Sign in with email and password; returns the response body.
  async signIn(email, password = PASSWORD) {
    const r = await this.req('POST', '/api/v1/session', { email, password });
    if (r.status !== 200) throw new Error(`sign-in of ${email} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  // One request; JSON in and out. Returns {status, headers, body, text}.
  async req(method, path, body, extraHeaders = {}) {
    const headers = { ...extraHeaders };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.token) headers.authorization = 'Bearer ' + this.token;
    if (this.csrf && method !== 'GET' && !('x-csrf-token' in extraHeaders)) headers['x-csrf-token'] = this.csrf;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!('content-type' in extraHeaders)) headers['content-type'] = 'application/json';
    }
    const r = await fetch(this.base + path, { method, headers, body: payload, redirect: 'manual' });
    const setCookie = r.headers.get('set-cookie');
    if (setCookie) {
      const m = /cport_session=([^;]*)/.exec(setCookie);
      if (m) this.cookie = m[1] ? 'cport_session=' + m[1] : null;
    }
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (json && json.csrf_token) this.csrf = json.csrf_token;
    return { status: r.status, headers: r.headers, body: json, text };
  }

  get(path) { return this.req('GET', path); }
}

// A client already signed in as one of USERS.
export async function clientFor(stack, who) {
  const c = new Client(stack.base);
  await c.signIn(USERS[who].email);
  return c;
}

export { existsSync, readFileSync };
