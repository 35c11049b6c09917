// hardening.test.mjs - limits, operations and hostile input (docs/LIMITS.md), against
// one stack (3,000 reports, media content, a built package), plus a small second
// stack whose workers take smaller bodies than nginx:
//   limits      every limit of docs/LIMITS.md at the limit (served) and just over it
//               (the right 4xx as problem+json, naming the parameter), the workers
//               serving afterwards and having logged no 500;
//   hostile     path traversal on static files, media and package routes and the
//   paths       internal locations (400/404, never a file outside web/, never a
//               500); the security headers on every kind of answer, nginx's own
//               errors and the X-Accel-Redirect answers included;
//   SQL gate    scripts/lint-sql passes on the tree and names planted violations;
//   operations  `cport backup` while the stack serves and writes, the documented
//               restore, `cport check` and `cport audit verify` on the result, and
//               `cport check` on a corrupted copy.
// Requests that fetch() would normalise or refuse (/../, %2e%2e, a declared 4 GiB
// body, an 8 KiB request line) go out over a raw TLS socket as HTTP/1.1.
//
// Run: node --test test/hardening.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, execFile } from 'node:child_process';
import {
  readFileSync, writeFileSync, copyFileSync, rmSync, existsSync, mkdtempSync, mkdirSync, renameSync, openSync, writeSync, closeSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, clientFor, Client, ROOT, BUILD, USERS } from './lib/stack.mjs';

let stack, small;
const api = {}; // who -> Client with a bearer token
let op; // the operator, signed in (sensitive routes want a session)
let listId; // a hash list of the NL officer with 48,000 entries
let pkg; // a built package of the NL officer: {id, file}
let preview; // a media item with a preview the NL officer may see: {id}
let fcgi2 = null; // the cport-fcgi started by the restore test
let fcgi2Log = '';

const hex = (n) => randomBytes(n).toString('hex');
// A valid POST /match body of exactly n bytes (one hash, padded with spaces).
function matchBody(n) {
  const head = JSON.stringify({ hashes: [{ algorithm: 'md5', value: hex(16) }] });
  return head.slice(0, -1) + ' '.repeat(n - head.length) + '}';
}

// One HTTP/1.1 request over TLS exactly as given; resolves {status, headers, body}
// as soon as the answer is complete (nginx lingers after refusing a body).
function raw(head, body = '', port = stack.https) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
      () => { s.write(head); if (body) s.write(body); });
    let buf = Buffer.alloc(0), done = false;
    const finish = () => {
      if (done) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        const k = l.slice(0, i).toLowerCase(), v = l.slice(i + 1).trim();
        headers[k] = headers[k] ? `${headers[k]}, ${v}` : v;
      }
      let rest = buf.subarray(end + 4);
      if (headers['content-length'] !== undefined) {
        if (rest.length < Number(headers['content-length'])) return;
        rest = rest.subarray(0, Number(headers['content-length']));
      } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
        if (!rest.includes('\r\n0\r\n\r\n') && !rest.subarray(0, 5).equals(Buffer.from('0\r\n\r\n'))) return;
        const parts = [];
        for (let p = 0; ;) {
          const nl = rest.indexOf('\r\n', p), n = parseInt(rest.subarray(p, nl).toString(), 16);
          if (!n) break;
          parts.push(rest.subarray(nl + 2, nl + 2 + n));
          p = nl + 2 + n + 2;
        }
        rest = Buffer.concat(parts);
      } else if (!s.readableEnded) return;
      done = true;
      s.destroy();
      resolve({ status: Number(lines[0].split(' ')[1]), headers, body: rest.toString('latin1') });
    };
    s.on('data', (d) => { buf = Buffer.concat([buf, d]); finish(); });
    s.on('end', () => { finish(); if (!done) reject(new Error(`no complete answer: ${buf.toString('latin1').slice(0, 200)}`)); });
    s.on('error', (e) => { if (!done) reject(e); });
    s.setTimeout(15000, () => { s.destroy(); if (!done) reject(new Error('timeout')); });
  });
}
const get = (path, headers = {}, port) => raw(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n` +
  Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + 'Connection: close\r\n\r\n', '', port);
const bearer = (who) => ({ Authorization: 'Bearer ' + api[who].token });

// A problem+json answer with this status (and field); from fetch (Client) or raw().
function assertProblem(r, status, field, what = '') {
  const h = (k) => (r.headers.get ? r.headers.get(k) : r.headers[k]) || '';
  const text = r.text ?? r.body;
  assert.equal(r.status, status, `${what}: status ${r.status} ${String(text).slice(0, 300)}`);
  assert.match(h('content-type'), /^application\/problem\+json/, `${what}: content type`);
  const b = typeof r.body === 'object' && r.body ? r.body : JSON.parse(text);
  assert.equal(b.status, status, `${what}: body status`);
  for (const k of ['type', 'title', 'detail']) assert.equal(typeof b[k], 'string', `${what}: ${k}`);
  assert.doesNotMatch(String(text), /SELECT|sqlite|<html/i, `${what}: leaks SQL or is nginx's page`);
  if (field !== undefined) assert.equal(b.field, field, `${what}: field`);
}

// The security headers of conf/security-headers.conf.in.
function assertSecurityHeaders(r, what) {
  const h = (k) => (r.headers.get ? r.headers.get(k) : r.headers[k]) || '';
  assert.match(h('content-security-policy'), /(^|;)\s*default-src 'self'/, `${what}: CSP`);
  assert.match(h('content-security-policy'), /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.match(h('strict-transport-security'), /max-age=\d{7,}/, `${what}: HSTS`);
  assert.equal(h('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.equal(h('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(h('x-frame-options'), 'DENY', `${what}: X-Frame-Options`);
}

// Nothing from outside web/ in an answer: no system file, database, key or source.
function assertNoLeak(r, what) {
  assert.doesNotMatch(r.body, /root:.*:0:0:|SQLite format 3|PRIVATE KEY|#include|\[core\]|cport: the LEA/, `${what}: leaked a file`);
  assert.ok(r.status < 500, `${what}: ${r.status}`);
}

// The workers logged no 5xx, no internal error, no failed statement.
function assertNoErrorsLogged(log) {
  assert.doesNotMatch(log, / 5\d\d [\d.]+ms | error (GET|POST|PUT|PATCH|DELETE|HEAD) |prepare failed|database is locked/);
}

before(async () => {
  [stack, small] = await Promise.all([
    startStack({ reports: 3000, mediaFiles: 60 }),
    startStack({ reports: 50, workers: 1, config: 'max_body = 4096' }),
  ]);
  for (const who of ['nl', 'operator']) {
    api[who] = new Client(stack.base);
    api[who].token = stack.cport(['token', 'create', '--email', USERS[who].email, '--name', 'hardening']);
  }
  api.small = new Client(small.base);
  api.small.token = small.cport(['token', 'create', '--email', USERS.nl.email, '--name', 'hardening']);
  // The NL agreement shares media content (as an operator does it), so previews come.
  op = await clientFor(stack, 'operator');
  const ag = (await op.get('/api/v1/admin/agreements')).body.items.find((a) => a.lea === 'NL Police');
  const r = await op.req('PATCH', `/api/v1/admin/agreements/${ag.id}`, { media_content: true });
  assert.equal(r.status, 200, r.text);
  // A hash list of 48,000 entries: an upload of 1.5 MiB, over the 1 MiB of other routes.
  listId = (await api.nl.req('POST', '/api/v1/hash-lists', { name: 'hardening' })).body.id;
  const lines = Array.from({ length: 48000 }, () => hex(16)).join('\n') + '\n';
  assert.ok(lines.length > 1.5 * 1024 * 1024);
  const up = await api.nl.req('POST', `/api/v1/hash-lists/${listId}/import?format=text`, lines, { 'content-type': 'text/plain' });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.body.added, 48000);
  // A built package and a previewable media item, for the X-Accel-Redirect answers.
  const ids = stack.sql("SELECT id FROM reports WHERE host_country = 'NL' ORDER BY id LIMIT 5").map((x) => x.id);
  const p = await api.nl.req('POST', '/api/v1/packages', { title: 'hardening', report_ids: ids });
  assert.equal(p.status, 202, p.text);
  assert.match(stack.cport(['jobs', '--once']), /1 job\(s\) run/);
  pkg = { id: p.body.id, file: stack.sql(`SELECT file FROM packages WHERE id = ${p.body.id}`)[0].file };
  const m = stack.sql(`SELECT m.id FROM media m JOIN reports r ON r.id = m.report_id
    JOIN media_files f ON f.sha256 = m.sha256 WHERE r.host_country = 'NL' AND m.fetch_state = 'stored' AND f.preview = 1
    ORDER BY m.id LIMIT 1`)[0];
  assert.ok(m, 'an NL item with a preview');
  const pr = await get(`/api/v1/media/${m.id}/preview`, bearer('nl'));
  assert.equal(pr.status, 200, pr.body.slice(0, 200));
  preview = { id: m.id };
});

after(async () => {
  if (fcgi2 && fcgi2.exitCode === null) {
    fcgi2.kill('SIGTERM');
    await new Promise((r) => fcgi2.once('exit', r));
  }
  await Promise.all([stack, small].filter(Boolean).map((s) => s.stop()));
});

// ---------------------------------------------------------------- limits

test('request bodies: exactly 1 MiB is taken, one byte more is 413 problem+json from nginx', async () => {
  const ok = await api.nl.req('POST', '/api/v1/match', matchBody(1024 * 1024));
  assert.equal(ok.status, 200, ok.text.slice(0, 300));
  assert.equal(ok.body.results.length, 1);
  const over = await api.nl.req('POST', '/api/v1/match', matchBody(1024 * 1024 + 1));
  assertProblem(over, 413, undefined, '1 MiB + 1');
  assertSecurityHeaders(over, 'nginx 413');
  assert.equal((await api.nl.get('/api/v1/reports?limit=1')).status, 200, 'still serving');
});

test('the workers\' own max_body: with max_body = 4096 below nginx\'s limit, 4096 bytes are taken and 4097 are 413 from the worker', async () => {
  assert.equal((await api.small.req('POST', '/api/v1/match', matchBody(4096))).status, 200);
  const over = await api.small.req('POST', '/api/v1/match', matchBody(4097));
  assertProblem(over, 413, undefined, '4097 bytes');
  assert.equal(over.headers.get('cache-control'), 'no-store', 'the worker answered, not nginx');
  assert.equal((await api.small.req('POST', '/api/v1/match', matchBody(4000))).status, 200, 'still serving');
});

test('hash-list uploads are the exception: 1.5 MiB went through; a declared 4 GiB + 1 is refused at once with 413 problem+json', async () => {
  // (the 1.5 MiB upload is in before(); here the ceiling, refused from the header alone)
  for (const path of [`/api/v1/hash-lists/${listId}/import?format=text`, '/api/v1/match']) {
    const t0 = Date.now();
    const r = await raw(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${api.nl.token}\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${4 * 1024 ** 3 + 1}\r\nConnection: close\r\n\r\n`);
    assertProblem(r, 413, undefined, path);
    assert.ok(Date.now() - t0 < 3000, 'refused without waiting for the body');
  }
  const other = await api.nl.req('POST', '/api/v1/hash-lists', 'x'.repeat(1.5 * 1024 * 1024), { 'content-type': 'application/json' });
  assertProblem(other, 413, undefined, '1.5 MiB elsewhere');
});

test('URLs: a request line of 8 KiB is served, one byte more is 414 problem+json (API and static files)', async () => {
  for (const base of ['/api/v1/health?p=', '/index.html?p=']) {
    const line = (n) => `GET ${base}${'a'.repeat(n - `GET ${base} HTTP/1.1\r\n`.length)} HTTP/1.1\r\n`;
    assert.equal(line(8192).length, 8192);
    const ok = await raw(line(8192) + 'Host: localhost\r\nConnection: close\r\n\r\n');
    assert.equal(ok.status, 200, `${base}: 8 KiB`);
    const over = await raw(line(8193) + 'Host: localhost\r\nConnection: close\r\n\r\n');
    assertProblem(over, 414, undefined, `${base}: 8 KiB + 1`);
    assertSecurityHeaders(over, '414');
    assert.match(over.headers['x-request-id'] || '', /^[0-9a-f]{32}$/);
  }
});

test('headers: a header line of 8 KiB is served, one byte more (or over 4 x 8 KiB in all) is 400 problem+json naming headers', async () => {
  const cookie = (n) => 'a'.repeat(n - 'Cookie: x='.length - 2);
  const ok = await get('/api/v1/health', { Cookie: 'x=' + cookie(8192) });
  assert.equal(ok.status, 200);
  const over = await get('/api/v1/health', { Cookie: 'x=' + cookie(8193) });
  assertProblem(over, 400, 'headers', 'header line of 8 KiB + 1');
  assertSecurityHeaders(over, 'header too large');
  const pads = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-Pad-${i}`, 'a'.repeat(8000)]));
  assert.equal((await get('/api/v1/health', pads(3))).status, 200, '3 x 8 KB of headers');
  assertProblem(await get('/api/v1/health', pads(5)), 400, 'headers', '5 x 8 KB of headers');
});

test('query strings: 64 parameters are parsed, a 65th is 400 naming query', async () => {
  const qs = (n) => Array.from({ length: n }, (_, i) => `p${i}=${i}`).join('&');
  assert.equal((await api.nl.get('/api/v1/health?' + qs(64))).status, 200);
  assertProblem(await api.nl.get('/api/v1/health?' + qs(65)), 400, 'query', '65 parameters');
  // Empty pairs are not parameters.
  assert.equal((await api.nl.get('/api/v1/health?' + qs(64) + '&&&&')).status, 200);
});

test('page sizes: limit up to 500 on reports, audit and hash-list entries; 501 is 400 naming limit', async () => {
  const routes = [
    ['nl', '/api/v1/reports?limit=', true],
    ['nl', `/api/v1/hash-lists/${listId}/entries?limit=`, true],
    ['operator', '/api/v1/admin/audit?limit=', false], // (fewer than 500 entries yet)
  ];
  for (const [who, path, full] of routes) {
    const ok = await api[who].get(path + 500);
    assert.equal(ok.status, 200, `${path}500: ${ok.text.slice(0, 200)}`);
    assert.ok(ok.body.items.length <= 500, `${path}500: at most 500 rows`);
    if (full) assert.ok(ok.body.items.length === 500 && ok.body.next_cursor, `${path}500 gives 500 rows and pages on`);
    assertProblem(await api[who].get(path + 501), 400, 'limit', path + 501);
  }
});

test('search parameters at and over their limits (q, hotline, domain, lists); three 32-item lists at once are served', async () => {
  const countries = 'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR NL'.split(' ');
  const many = (vals, n) => Array.from({ length: n }, (_, i) => vals[i % vals.length]).join(',');
  const sites = ['website', 'image_host', 'forum', 'file_host', 'blog'], statuses = ['received', 'closed', 'ntd_sent'];
  // registrable domains of 253 and 254 characters, every label valid
  const domain = (n) => ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(n - 197), 'test'].join('.');
  assert.equal(domain(253).length, 253);
  const cases = [
    ['q', 'a'.repeat(200), 'a'.repeat(201)],
    ['hotline', 'X'.repeat(32), 'X'.repeat(33)],
    ['domain', domain(253), domain(254)],
    ['hosting_country', countries.join(','), countries.join(',') + ',DE'],
    ['site_type', many(sites, 32), many(sites, 33)],
    ['status', many(statuses, 32), many(statuses, 33)],
  ];
  for (const [name, at, over] of cases) {
    const ok = await api.nl.get(`/api/v1/reports?${name}=${encodeURIComponent(at)}`);
    assert.equal(ok.status, 200, `${name} at its limit: ${ok.text.slice(0, 200)}`);
    assertProblem(await api.nl.get(`/api/v1/reports?${name}=${encodeURIComponent(over)}`), 400, name, `${name} over`);
  }
  // Every list at its limit together binds 96 values and more (lib/sqlq.h: 64 binds
  // were too few and this answered 500): searches, paging, stats.
  const all = `hosting_country=${countries.join(',')}&site_type=${many(sites, 32)}&status=${many(statuses, 32)}`;
  for (const path of [`/api/v1/reports?${all}&hotline=NL-EOKM&from=2020-01-01&to=2030-01-01&q=a&limit=1`,
    `/api/v1/reports?${all}&sort=domain&limit=1`, `/api/v1/stats?${all}&media_type=image&international=baseline`]) {
    const r = await api.nl.get(path);
    assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
    if (r.body.next_cursor) assert.equal((await api.nl.get(`${path}&cursor=${r.body.next_cursor}`)).status, 200, 'next page');
  }
});

test('/match: 1000 hashes are matched, 1001 is 400 naming hashes; pdq_max_distance up to 64', async () => {
  const hashes = (n) => Array.from({ length: n }, () => ({ algorithm: 'md5', value: hex(16) }));
  const ok = await api.nl.req('POST', '/api/v1/match', { hashes: hashes(1000) });
  assert.equal(ok.status, 200, ok.text.slice(0, 200));
  assert.equal(ok.body.results.length, 1000);
  assertProblem(await api.nl.req('POST', '/api/v1/match', { hashes: hashes(1001) }), 400, 'hashes', '1001 hashes');
  const pdq = [{ algorithm: 'pdq', value: hex(32) }];
  assert.equal((await api.nl.req('POST', '/api/v1/match', { hashes: pdq, pdq_max_distance: 64 })).status, 200);
  assertProblem(await api.nl.req('POST', '/api/v1/match', { hashes: pdq, pdq_max_distance: 65 }), 400, 'pdq_max_distance');
});

test('packages: 100,000 report ids are taken, 100,001 is 400 naming report_ids; a title of 200 characters, not 201', async () => {
  const nl = stack.sql("SELECT id FROM reports WHERE host_country = 'NL'").map((x) => x.id);
  const ids = (n) => Array.from({ length: n }, (_, i) => nl[i % nl.length]);
  const ok = await api.nl.req('POST', '/api/v1/packages', { title: 't'.repeat(200), report_ids: ids(100000) });
  assert.equal(ok.status, 202, ok.text.slice(0, 200));
  assertProblem(await api.nl.req('POST', '/api/v1/packages', { title: 't', report_ids: ids(100001) }), 400, 'report_ids');
  assertProblem(await api.nl.req('POST', '/api/v1/packages', { title: 't'.repeat(201), report_ids: ids(1) }), 400, 'title');
});

test('JSON bodies nest up to 1000 deep; one level more is 400 naming body', async () => {
  const nested = (d) => '{"hashes":' + '['.repeat(d - 1) + ']'.repeat(d - 1) + '}';
  const ok = await api.nl.req('POST', '/api/v1/match', nested(1000));
  assertProblem(ok, 400, 'hashes[0]', 'parsed at 1000 levels, then judged');
  assertProblem(await api.nl.req('POST', '/api/v1/match', nested(1001)), 400, 'body', '1001 levels');
  assertProblem(await api.nl.req('POST', '/api/v1/match', nested(100000)), 400, 'body', '100000 levels');
});

test('after every limit the workers still serve and logged no 500', async () => {
  assert.equal((await api.nl.get('/api/v1/health')).status, 200);
  assert.equal((await api.nl.get('/api/v1/reports?limit=3')).body.items.length, 3);
  assertNoErrorsLogged(stack.log());
  assertNoErrorsLogged(small.log());
});

// ---------------------------------------------------------------- hostile paths

test('path traversal on static files never leaves web/: 400 or 404, never a 500', async () => {
  const escapes = [
    '/../README.md', '/../../../../etc/passwd', '/..%2fREADME.md', '/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/README.md', '/%2e%2e%2fREADME.md', '/%2E%2E/%2E%2E/etc/passwd', '/.%2e/README.md', '/%2e./README.md',
    '/%252e%252e/README.md', '/%252e%252e%252fREADME.md', '/..%252fREADME.md', '/js/../../README.md',
    '/js/%2e%2e/%2e%2e/README.md', '/..\\README.md', '/..%5cREADME.md', '/js\\..\\..\\README.md', '/%c0%ae%c0%ae/README.md',
    '/../.git/config', '/..%2f.git%2fconfig', '//etc/passwd', '/%2fetc%2fpasswd', '/../conf/nginx.conf.in',
    '/./../lib/api.c', '/js/..%2f..%2flib/api.c', '/index.html%00.js', '/../var/',
  ];
  for (const path of escapes) {
    const r = await get(path);
    assert.ok([400, 404].includes(r.status), `${path}: ${r.status}`);
    assertNoLeak(r, path);
    assertSecurityHeaders(r, path);
  }
  // Paths that stay inside web/ after normalising are served from web/ only.
  const index = readFileSync(join(ROOT, 'web', 'index.html'), 'latin1');
  for (const path of ['/./index.html', '/js/../index.html', '/js/%2e%2e/index.html', '/css/..%2findex.html']) {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.body, index, `${path} is web/index.html`);
  }
});

test('media and package routes with traversal in the id are 400/404, never a file', async () => {
  const paths = [
    '/api/v1/media/..%2f../content', '/api/v1/media/..%2f..%2fcport.db/preview', `/api/v1/media/${preview.id}%2f..%2f..%2fcport.db/preview`,
    '/api/v1/media/..%252f..%252fcport.db/preview', '/api/v1/media/%2e%2e/preview', '/api/v1/media/%2e%2e%2f%2e%2e/content',
    `/api/v1/media/${preview.id}/..%2f..%2f..%2fcport.db`, `/api/v1/media/${preview.id}%5c..%5ccport.db/preview`,
    '/api/v1/media/..\\..\\cport.db/preview', `/api/v1/media/${preview.id}%00/preview`,
    '/api/v1/packages/..%2f1/download', `/api/v1/packages/${pkg.id}%2f..%2f..%2fcport.db/download`,
    '/api/v1/packages/%2e%2e%2f1/download', `/api/v1/packages/${pkg.id}/download/..%2f..%2fcport.db`,
    '/api/v1/packages/..%252f1/download', `/api/v1/packages/${pkg.id}/..%2f..%2f..%2fkeys/download`,
    '/api/v1/../../cport.db', '/api/v1/%2e%2e/%2e%2e/cport.db', '/api/v1/reports/..%2f..%2f..%2fcport.db',
  ];
  for (const path of paths) {
    const r = await get(path, bearer('nl'));
    assert.ok([400, 404].includes(r.status), `${path}: ${r.status} ${r.body.slice(0, 100)}`);
    assertNoLeak(r, path);
    // What reached a worker is problem+json; nginx itself refuses a NUL (400).
    if (!path.includes('%00') && /^\/api\/v1\/(media|packages)\//.test(path)) assertProblem(r, r.status, undefined, path);
  }
  // The real ones still work.
  assert.equal((await get(`/api/v1/packages/${pkg.id}/download`, bearer('nl'))).status, 200);
  assert.equal((await get(`/api/v1/media/${preview.id}/preview`, bearer('nl'))).status, 200);
});

test('the internal locations answer 404 to direct requests, however spelt', async () => {
  const name = pkg.file.split('/').pop();
  const sub = readdirSync(join(stack.dir, 'previews'))[0];
  const pv = `${sub}/${readdirSync(join(stack.dir, 'previews', sub))[0]}`;
  const paths = [
    `/protected/packages/${name}`, '/protected/packages/', `/protected/previews/${pv}`, '/protected/previews/',
    `/protected%2fpackages/${name}`, `/protected/packages%2f${name}`, `/%70rotected/packages/${name}`,
    `/api/v1/../protected/packages/${name}`, `/api/v1/%2e%2e/%2e%2e/protected/previews/${pv}`,
    `/protected/packages/../packages/${name}`, '/protected/packages/..%2fcport.db', '/protected/previews/%2e%2e/cport.db',
    `/PROTECTED/packages/${name}`, `/js/../protected/packages/${name}`,
  ];
  for (const path of paths) {
    const r = await get(path, bearer('nl'));
    assert.equal(r.status, 404, `${path}: ${r.status}`);
    assertNoLeak(r, path);
    assert.doesNotMatch(r.body, /^PK/, `${path}: a package came out`);
    assert.ok(!r.headers['content-type']?.startsWith('image/'), `${path}: a preview came out`);
  }
});

test('security headers on static files, API answers, API and nginx errors, and the X-Accel-Redirect answers', async () => {
  const answers = {
    'static file': await get('/index.html'),
    'static 404': await get('/nope.html'),
    'API answer': await get('/api/v1/reports?limit=1', bearer('nl')),
    'API 401': await get('/api/v1/reports'),
    'API 404': await get('/api/v1/reports/99999999', bearer('nl')),
    'API 405': await raw(`DELETE /api/v1/reports HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${api.nl.token}\r\nConnection: close\r\n\r\n`),
    'nginx 400': await get('/../README.md'),
    'package download (X-Accel-Redirect)': await get(`/api/v1/packages/${pkg.id}/download`, bearer('nl')),
    'media preview (X-Accel-Redirect)': await get(`/api/v1/media/${preview.id}/preview`, bearer('nl')),
  };
  for (const [what, r] of Object.entries(answers)) assertSecurityHeaders(r, what);
  const dl = answers['package download (X-Accel-Redirect)'];
  assert.equal(dl.status, 200);
  assert.equal(dl.body.slice(0, 2), 'PK');
  assert.match(dl.headers['content-disposition'] || '', /attachment; filename="cport-package-\d+\.zip"/);
  assert.match(dl.headers['cache-control'] || '', /no-store/);
  assert.equal(dl.headers['x-accel-redirect'], undefined, 'the internal path stays inside');
  const pv = answers['media preview (X-Accel-Redirect)'];
  assert.equal(pv.status, 200);
  assert.equal(pv.headers['content-type'], 'image/jpeg');
  assert.equal(pv.headers['x-accel-redirect'], undefined);
  assert.match(pv.headers['cache-control'] || '', /no-store/);
});

// ---------------------------------------------------------------- the SQL gate

test('scripts/lint-sql passes on the tree', () => {
  const r = spawnSync(join(ROOT, 'scripts', 'lint-sql'), { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^lint-sql: ok: \d+ files, \d+ SQL calls/m);
});

test('scripts/lint-sql fails on planted SQL assembled from input, naming file:line of each', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cport-lint-'));
  try {
    const src = readFileSync(join(ROOT, 'lib', 'api_me.c'), 'utf8');
    const first = src.split('\n').length + 1; // the planted function's first line
    const planted = [
      '',
      'static int planted(struct ctx *c, int flag)',                                                  // +1
      '{',                                                                                             // +2
      '    const char *email = ctx_qparam(c, "email");',                                               // +3
      '    char sql[256];',                                                                            // +4
      '    snprintf(sql, sizeof sql, "SELECT id FROM users WHERE email = \'%s\'", email);',           // +5 format
      '    sqlite3_stmt *st = db_prep(c->db, sql);',                                                   // +6 sink
      '    db_exec(c->db, flag ? "DELETE FROM sessions" : c->query, NULL, 0);',                        // +7 sink
      '    struct sqlq q;',                                                                            // +8
      '    sqlq_init(&q);',                                                                            // +9
      '    sqlq_sql_(&q, email);',                                                                     // +10 sink
      '    buf_adds(&q.sql, email);',                                                                  // +11 builder
      '    struct buf b;',                                                                             // +12
      '    buf_init(&b);',                                                                             // +13
      '    buf_printf(&b, "delete from sessions where user_id = %lld", (long long)flag);',           // +14 format
      '    own_row_change(c, b.p, "x", "y");',                                                         // +15 wrapper
      '    sqlite3_prepare_v2(c->db->h, email, -1, &st, NULL);',                                       // +16 sink
      '    return st != NULL;',
      '}',
    ];
    const file = join(dir, 'api_me.c');
    writeFileSync(file, src + planted.join('\n') + '\n');
    const r = spawnSync(join(ROOT, 'scripts', 'lint-sql'), [file], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const found = r.stdout.split('\n').filter((l) => l.startsWith(file + ':')).map((l) => Number(l.split(':')[1]));
    const want = [5, 6, 7, 10, 11, 14, 15, 16].map((k) => first - 1 + k);
    assert.deepEqual(found, want, r.stdout);
    assert.match(r.stdout, /snprintf: formats SQL text with %s/);
    assert.match(r.stdout, /own_row_change: SQL argument `b\.p` is not made only of string literals/);
    assert.match(r.stdout, /lint-sql: 8 place\(s\)/);
    // The untouched copy passes: only the planted lines were found.
    writeFileSync(file, src);
    assert.equal(spawnSync(join(ROOT, 'scripts', 'lint-sql'), [file], { encoding: 'utf8' }).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- operations

// The state a restore must reproduce: every report the NL officer sees (ids and
// update times, paged at 500) and three details in full.
async function reportsSeen(client) {
  const out = [];
  for (let cursor = null, page = 0; page < 100; page++) {
    const r = await client.get(`/api/v1/reports?sort=reported_at&limit=500${cursor ? '&cursor=' + cursor : ''}`);
    assert.equal(r.status, 200, r.text.slice(0, 200));
    out.push(...r.body.items.map((i) => `${i.id}@${i.updated_at}`));
    if (!(cursor = r.body.next_cursor)) break;
  }
  const details = [];
  for (const id of out.slice(0, 3).map((x) => x.split('@')[0])) details.push((await client.get(`/api/v1/reports/${id}`)).body);
  return { list: out, details };
}

let backupFile, before_;

test('cport backup while the stack serves and writes finishes, and the copy is whole', async () => {
  before_ = await reportsSeen(api.nl);
  const entries = () => stack.sql(`SELECT count(*) AS n FROM hash_entries WHERE list_id = ${listId}`)[0].n;
  const n0 = entries();
  // Writers (a hash entry per request: a write transaction and its audit entry)
  // and readers (audited in batches) as fast as they go, from before the backup
  // starts until after it ends.
  let going = true, writes = 0, reads = 0;
  const writer = async () => {
    while (going) {
      const r = await api.nl.req('POST', `/api/v1/hash-lists/${listId}/entries`, { algorithm: 'md5', value: hex(16) });
      assert.ok([200, 201, 503].includes(r.status), r.text);
      writes++;
    }
  };
  const reader = async () => {
    while (going) { assert.equal((await api.nl.get('/api/v1/reports?limit=20')).status, 200); reads++; }
  };
  const load = [...Array(6)].map(writer).concat([...Array(2)].map(reader));
  await new Promise((r) => setTimeout(r, 500));
  const w0 = writes;
  backupFile = join(stack.dir, 'backup.db');
  const t0 = Date.now();
  const b = await new Promise((res) => execFile(join(BUILD, 'cport'), ['backup', '--out', backupFile],
    { env: { ...process.env, CPORT_DB: stack.db }, timeout: 30000 }, (e, out, err) => res({ code: e ? (e.code ?? e.signal) : 0, out, err })));
  const ms = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  going = false;
  await Promise.all(load);
  assert.equal(b.code, 0, `backup: ${b.err}`);
  assert.match(b.out, /^backup written to /);
  assert.ok(writes - w0 > 20, `the portal kept writing during the backup (${writes - w0} writes)`);
  assert.ok(ms < 20000, `backup took ${ms} ms`);
  assert.ok(!existsSync(backupFile + '.partial'));
  // A consistent snapshot: the backup's entries lie between the counts before and after.
  const nb = spawnSync('sqlite3', [backupFile, `SELECT count(*) FROM hash_entries WHERE list_id = ${listId}`], { encoding: 'utf8' }).stdout.trim();
  assert.ok(Number(nb) >= n0 && Number(nb) <= entries(), `backup holds ${nb} entries; before ${n0}, after ${entries()}`);
  const check = spawnSync(join(BUILD, 'cport'), ['check'], { env: { ...process.env, CPORT_DB: backupFile }, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /integrity ok\naudit chain ok/);
  assertNoErrorsLogged(stack.log());
});

test('cport check on a corrupted copy fails non-zero with a clear line', () => {
  const cases = [
    // garbage over b-tree pages in the middle: the integrity check names them
    ['pages', (f) => { const fd = openSync(f, 'r+'); writeSync(fd, Buffer.alloc(4096 * 4, 0xde), 0, 4096 * 4, 4096 * 40); closeSync(fd); },
      /^cport: integrity: [^\n]*\n(Page \d+|.*btree|.*malformed|.*corrupt)/im],
    // a broken header: not a database at all
    ['header', (f) => { const fd = openSync(f, 'r+'); writeSync(fd, Buffer.from('not a database!!'), 0, 16, 0); closeSync(fd); },
      /^cport: .*file is not a database/m],
  ];
  for (const [what, spoil, line] of cases) {
    const copy = join(stack.dir, `corrupt-${what}.db`);
    copyFileSync(backupFile, copy);
    spoil(copy);
    const r = spawnSync(join(BUILD, 'cport'), ['check'], { env: { ...process.env, CPORT_DB: copy }, encoding: 'utf8' });
    assert.notEqual(r.status, 0, `${what}: check passed`);
    assert.match(r.stderr, line, `${what}: ${r.stderr.slice(0, 300)}`);
  }
});

test('the documented restore (docs/LIMITS.md): the restored stack serves the same reports and passes check and audit verify', async () => {
  // 1. stop the workers
  stack.fcgi.kill('SIGTERM');
  if (stack.fcgi.exitCode === null) await new Promise((r) => stack.fcgi.once('exit', r));
  // 2. check the backup
  assert.match(spawnSync(join(BUILD, 'cport'), ['check'], { env: { ...process.env, CPORT_DB: backupFile }, encoding: 'utf8' }).stdout,
    /integrity ok\naudit chain ok/);
  // 3. the current database aside, with its -wal and -shm
  mkdirSync(join(stack.dir, 'broken'));
  for (const f of ['', '-wal', '-shm']) if (existsSync(stack.db + f)) renameSync(stack.db + f, join(stack.dir, 'broken', 'cport.db' + f));
  // 4. the backup in its place (copy, then rename), no -wal or -shm beside it
  copyFileSync(backupFile, stack.db + '.restoring');
  renameSync(stack.db + '.restoring', stack.db);
  rmSync(stack.db + '-wal', { force: true });
  rmSync(stack.db + '-shm', { force: true });
  // 5. migrate (a no-op here) and check, 6. start the workers again
  stack.cport(['migrate']);
  assert.match(stack.cport(['check']), /integrity ok\naudit chain ok/);
  assert.match(stack.cport(['audit', 'verify']), /^audit chain ok: \d+ entries$/);
  fcgi2 = spawn(join(BUILD, 'cport-fcgi'), ['--db', stack.db, '--socket', join(stack.dir, 'run', 'cport.sock'), '--workers', '2',
    '--config', join(stack.dir, 'cport.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  fcgi2.stderr.on('data', (d) => { fcgi2Log += d; });
  for (let i = 0; i < 100 && (await fetch(stack.base + '/api/v1/health').catch(() => ({ status: 0 }))).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 100));
  const after_ = await reportsSeen(api.nl);
  assert.deepEqual(after_.list, before_.list, 'the same reports');
  assert.deepEqual(after_.details, before_.details, 'the same details');
  // It takes writes again, and the audit chain stays whole.
  const nl = await clientFor(stack, 'nl');
  assert.equal((await nl.req('POST', `/api/v1/hash-lists/${listId}/entries`, { algorithm: 'md5', value: hex(16) })).status, 201);
  await new Promise((r) => setTimeout(r, 1200)); // batched read entries are written
  assert.match(stack.cport(['audit', 'verify']), /^audit chain ok: \d+ entries$/);
  assertNoErrorsLogged(fcgi2Log);
});
