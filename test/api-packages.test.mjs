// api-packages.test.mjs - intelligence packages through nginx + cport-fcgi and
// `cport jobs --once`: compose (ids or a filter; bad input refused, nothing
// queued), build in the background within the creator's scope, follow the
// progress, download through nginx's internal location, verify offline with
// `cport package verify` and the key from /api/v1/keys (a changed byte or
// another key fails), another LEA sees nothing, encryption, expiry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, clientFor, BUILD } from './lib/stack.mjs';

let stack, nl, de, hotline;

before(async () => {
  stack = await startStack({ reports: 400 });
  nl = await clientFor(stack, 'nl');
  de = await clientFor(stack, 'de');
  hotline = await clientFor(stack, 'hotline');
});
after(async () => { if (stack) await stack.stop(); });

// Run the job runner once; returns its output.
const jobs = () => stack.cport(['jobs', '--once']);
// Download a package's bytes.
async function download(client, id) {
  const headers = client.token ? { authorization: 'Bearer ' + client.token } : { cookie: client.cookie };
  const r = await fetch(`${stack.base}/api/v1/packages/${id}/download`, { headers });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}
// cport package verify on a file; returns {code, out}.
function verify(file, args = []) {
  try {
    return { code: 0, out: execFileSync(join(BUILD, 'cport'), ['package', 'verify', file, ...args], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (e) {
    return { code: e.status, out: String(e.stderr) };
  }
}

test('bad compositions are refused and queue nothing', async () => {
  const nlIds = stack.sql("SELECT id FROM reports WHERE host_country = 'NL' LIMIT 3").map((r) => r.id);
  const deId = stack.sql("SELECT id FROM reports WHERE host_country = 'DE' LIMIT 1")[0].id;
  const cases = [
    [{ report_ids: nlIds }, 'title'],
    [{ title: 'x', report_ids: [] }, 'report_ids'],
    [{ title: 'x', report_ids: [1.5] }, 'report_ids'],
    [{ title: 'x', report_ids: [...nlIds, deId] }, 'report_ids'],
    [{ title: 'x', report_ids: [...nlIds, 99999999] }, 'report_ids'],
    [{ title: 'x' }, 'report_ids'],
    [{ title: 'x', report_ids: nlIds, filter: {} }, 'report_ids'],
    [{ title: 'x', filter: { status: 'nope' } }, 'status'],
    [{ title: 'x', filter: { limit: '5' } }, 'filter'],
    [{ title: 'x', filter: { domain: 'none-such.example' } }, 'filter'],
    [{ title: 'x', report_ids: nlIds, include_media_content: true }, 'include_media_content'],
    [{ title: 'x', report_ids: nlIds, passphrase: 'short' }, 'passphrase'],
    [{ title: 'x', report_ids: nlIds, extra: 1 }, 'extra'],
  ];
  for (const [body, field] of cases) {
    const r = await nl.req('POST', '/api/v1/packages', body);
    assert.equal(r.status, 400, JSON.stringify(body) + ' ' + r.text);
    assert.equal(r.body.field, field, JSON.stringify(body));
  }
  // The answer about out-of-scope ids names none of them.
  const r = await nl.req('POST', '/api/v1/packages', { title: 'x', report_ids: [...nlIds, deId] });
  assert.doesNotMatch(r.body.detail, new RegExp(`\\b${deId}\\b`));
  assert.equal(r.body.detail, 'some report ids are unknown or outside your scope');
  assert.equal((await de.req('POST', '/api/v1/packages', { title: 'x', report_ids: nlIds })).status, 403, 'viewers do not compose');
  assert.equal(stack.sql('SELECT count(*) AS n FROM packages')[0].n, 0);
  assert.equal(stack.sql('SELECT count(*) AS n FROM jobs')[0].n, 0);
});

test('compose by filter, build in the background, follow, download through nginx, verify offline', async () => {
  const want = stack.sql("SELECT count(*) AS n FROM reports WHERE host_country = 'NL' AND status = 'ntd_sent'")[0].n;
  let r = await nl.req('POST', '/api/v1/packages', {
    title: 'Operation Test', case_ref: 'NL-2026-001', notes: 'Synthetic data only.',
    filter: { hosting_country: 'NL', status: 'ntd_sent' },
  });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.status, 'queued');
  const id = r.body.id;
  assert.equal(r.headers.get('location'), `/api/v1/packages/${id}`);
  r = await nl.get(`/api/v1/packages/${id}`);
  assert.equal(r.body.status, 'queued');
  // Nothing is built inside a request: the runner does it.
  const ran = /1 job\(s\) run; peak RSS (\d+) KB/.exec(jobs());
  assert.ok(ran, 'the runner ran one job');
  assert.ok(Number(ran[1]) < 100 * 1024, `the build stays in bounded memory (${ran[1]} KB)`);
  r = await nl.get(`/api/v1/packages/${id}`);
  assert.equal(r.body.status, 'ready', r.text);
  assert.equal(r.body.report_count, want);
  assert.deepEqual(r.body.progress, { done: want, total: want });
  assert.match(r.body.sha256, /^[0-9a-f]{64}$/);
  assert.ok(Date.parse(r.body.expires_at) > Date.now());
  // Another LEA, and a hotline, see nothing.
  for (const other of [de, hotline]) {
    assert.equal((await other.get(`/api/v1/packages/${id}`)).status, 404);
    assert.equal((await other.get(`/api/v1/packages/${id}/download`)).status, 404);
    assert.ok(!(await other.get('/api/v1/packages')).body.items.some((p) => p.id === id));
  }
  // The download comes from nginx (the worker only says where), audited.
  const dl = await download(nl, id);
  assert.equal(dl.status, 200);
  assert.equal(dl.headers.get('x-accel-redirect'), null, 'nginx does not leak the internal path');
  assert.match(dl.headers.get('content-disposition'), /attachment; filename="cport-package-\d+\.zip"/);
  assert.equal(dl.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(dl.bytes.length, r.body.bytes);
  assert.equal((await import('node:crypto')).createHash('sha256').update(dl.bytes).digest('hex'), r.body.sha256);
  // The internal location is not reachable directly.
  assert.equal((await fetch(`${stack.base}/protected/packages/x.zip`)).status, 404);
  const file = join(stack.dir, 'pkg.zip');
  writeFileSync(file, dl.bytes);
  const key = (await (await fetch(`${stack.base}/api/v1/keys`)).json()).keys[0].public_key;
  assert.match(key, /^[0-9a-f]{64}$/);
  let v = verify(file, ['--key', key]);
  assert.equal(v.code, 0, v.out);
  assert.match(v.out, new RegExp(`ok: package ${id} "Operation Test".* ${want} reports`));
  // Another key fails; a changed byte is named.
  v = verify(file, ['--key', 'ab'.repeat(32)]);
  assert.notEqual(v.code, 0);
  assert.match(v.out, /manifest/);
  const copy = Buffer.from(dl.bytes);
  copy[Math.floor(copy.length / 3)] ^= 0x01;
  writeFileSync(file, copy);
  v = verify(file, ['--key', key]);
  assert.notEqual(v.code, 0, 'a flipped byte must not verify');
  // The trail: composed, built, downloaded (with the hash).
  await new Promise((res) => setTimeout(res, 1500));
  const trail = stack.sql(`SELECT action, object FROM audit WHERE object LIKE 'package:${id}%' ORDER BY id`);
  assert.deepEqual(trail.map((t) => t.action), ['package.create', 'package.built', 'package.download']);
  assert.ok(trail[2].object.includes(r.body.sha256));
});

test('report ids, encryption for transport, expiry deletes the file', async () => {
  const ids = stack.sql("SELECT id FROM reports WHERE host_country = 'NL' ORDER BY id LIMIT 5").map((x) => x.id);
  let r = await nl.req('POST', '/api/v1/packages', { title: 'Five', report_ids: ids, passphrase: 'correct horse battery' });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id;
  jobs();
  r = await nl.get(`/api/v1/packages/${id}`);
  assert.equal(r.body.status, 'ready', r.text);
  assert.equal(r.body.encrypted, true);
  const dl = await download(nl, id);
  assert.match(dl.headers.get('content-disposition'), /\.cpenc"/);
  assert.equal(dl.bytes.subarray(0, 8).toString(), 'CPORTENC');
  const file = join(stack.dir, 'pkg.cpenc'), pass = join(stack.dir, 'pass.txt');
  writeFileSync(file, dl.bytes);
  writeFileSync(pass, 'correct horse battery\n');
  const key = (await (await fetch(`${stack.base}/api/v1/keys`)).json()).keys[0].public_key;
  let v = verify(file, ['--key', key, '--passphrase-file', pass]);
  assert.equal(v.code, 0, v.out);
  assert.match(v.out, / 5 reports/);
  writeFileSync(pass, 'wrong horse battery\n');
  assert.notEqual(verify(file, ['--key', key, '--passphrase-file', pass]).code, 0);
  // The passphrase is not kept once built.
  assert.equal(stack.sql(`SELECT secret IS NULL AS gone FROM jobs WHERE ref_id = ${id}`)[0].gone, 1);
  // Expiry: the clock passes it; the next runner pass deletes the file.
  const rel = stack.sql(`SELECT file FROM packages WHERE id = ${id}`)[0].file;
  assert.ok(existsSync(join(stack.dir, rel)));
  stack.sql(`UPDATE packages SET expires_at = strftime('%s','now') - 1 WHERE id = ${id}`);
  jobs();
  assert.ok(!existsSync(join(stack.dir, rel)));
  r = await nl.get(`/api/v1/packages/${id}`);
  assert.equal(r.body.status, 'expired');
  assert.equal((await download(nl, id)).status, 410);
  // No partial files were ever left in packages/.
  for (const f of readdirSync(join(stack.dir, 'packages'))) assert.doesNotMatch(f, /\.tmp|member/);
});

test('a build that cannot succeed fails with a reason and leaves no file', async () => {
  const ids = stack.sql("SELECT id FROM reports WHERE host_country = 'NL' ORDER BY id LIMIT 2").map((x) => x.id);
  const r = await nl.req('POST', '/api/v1/packages', { title: 'Doomed', report_ids: ids });
  const id = r.body.id;
  // The creator loses the agreement before the build: nothing left in scope.
  stack.sql("UPDATE agreements SET valid_to = 1 WHERE lea_org_id = (SELECT id FROM orgs WHERE name = 'NL Police')");
  stack.sql("UPDATE data_versions SET n = n + 1 WHERE name = 'access'");
  jobs();
  const p = stack.sql(`SELECT status, error, file FROM packages WHERE id = ${id}`)[0];
  assert.equal(p.status, 'failed');
  assert.match(p.error, /scope/);
  assert.equal(p.file, null);
  stack.sql("UPDATE agreements SET valid_to = NULL WHERE lea_org_id = (SELECT id FROM orgs WHERE name = 'NL Police')");
});
