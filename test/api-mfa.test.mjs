// api-mfa.test.mjs - the second factor through nginx + cport-fcgi with
// mfa_required on: a lea user without TOTP can only enrol; enrolment and
// confirmation (codes computed here with node:crypto, RFC 6238); sign-in then
// needs a current code or a recovery code, each usable once; tokens unaffected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, Client, USERS, PASSWORD } from './lib/stack.mjs';
import { totp } from './lib/totp.mjs';

let stack;
const AUDIT_LOG = join(tmpdir(), `cport-audit-${process.pid}.jsonl`);
before(async () => { stack = await startStack({ reports: 50, config: `mfa_required = 1\naudit_log = ${AUDIT_LOG}` }); });
after(async () => {
  if (stack) await stack.stop();
  rmSync(AUDIT_LOG, { force: true });
});

const signIn = (body) => new Client(stack.base).req('POST', '/api/v1/session', { email: USERS.nl.email, password: PASSWORD, ...body });

test('without TOTP a lea session can only enrol; enrolment, confirmation, then sign-in needs a fresh code or an unused recovery code', async () => {
  const c = new Client(stack.base);
  await c.signIn(USERS.nl.email);
  const blocked = await c.get('/api/v1/reports?limit=1');
  assert.equal(blocked.status, 403, blocked.text);
  assert.match(blocked.body.type, /mfa-enrolment-required/);
  assert.equal((await c.get('/api/v1/me')).status, 200);
  // Confirming before enrolling is a conflict; enrolment gives the secret once.
  assert.equal((await c.req('POST', '/api/v1/me/totp/confirm', { code: '123456' })).status, 409);
  const en = await c.req('POST', '/api/v1/me/totp');
  assert.equal(en.status, 200, en.text);
  assert.match(en.body.secret, /^[A-Z2-7]{32}$/);
  assert.match(en.body.otpauth_uri, /^otpauth:\/\/totp\/cport:nl%40police\.example\?secret=[A-Z2-7]+&issuer=cport&algorithm=SHA1&digits=6&period=30$/);
  const now = Date.now() / 1000;
  const bad = await c.req('POST', '/api/v1/me/totp/confirm', { code: totp(en.body.secret, now - 3600) });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'code');
  const ok = await c.req('POST', '/api/v1/me/totp/confirm', { code: totp(en.body.secret, now) });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.recovery_codes.length, 10);
  assert.equal((await c.get('/api/v1/reports?limit=1')).status, 200, 'enrolled: the session may search');
  assert.equal((await c.req('POST', '/api/v1/me/totp')).status, 409, 'already on');

  // Sign-in now asks for the second factor once the password is right.
  const ask = await signIn({});
  assert.equal(ask.status, 401);
  assert.match(ask.body.type, /totp-required/);
  assert.match((await signIn({ password: 'wrong-password', totp: '000000' })).body.type, /bad-credentials/);
  assert.match((await signIn({ totp: '000000' })).body.type, /bad-credentials/);
  const next = totp(en.body.secret, now + 30); // the confirmation used the current step
  assert.equal((await signIn({ totp: next })).status, 200);
  assert.equal((await signIn({ totp: next })).status, 401, 'a used code is refused (replay)');
  assert.equal((await signIn({ totp: totp(en.body.secret, now - 30) })).status, 401, 'an older step is refused');
  const rc = ok.body.recovery_codes[0];
  assert.equal((await signIn({ totp: rc.toUpperCase().replace('-', ' ') })).status, 200, 'recovery code, typed loosely');
  assert.equal((await signIn({ totp: rc })).status, 401, 'a recovery code works once');
  const how = stack.sql("SELECT detail FROM audit WHERE action = 'session.create' ORDER BY id DESC LIMIT 2").map((r) => r.detail);
  assert.deepEqual(how, ['{"mfa":"recovery"}', '{"mfa":"totp"}']);
  assert.ok(stack.sql("SELECT count(*) AS n FROM audit WHERE action IN ('totp.enrol','totp.confirm')")[0].n === 2);
});

test('API tokens and hotline users are not held at enrolment', async () => {
  const t = new Client(stack.base);
  t.token = stack.cport(['token', 'create', '--email', USERS.de.email, '--name', 'script']);
  assert.equal((await t.get('/api/v1/reports?limit=1')).status, 200);
  const h = new Client(stack.base);
  await h.signIn(USERS.hotline.email);
  assert.equal((await h.get('/api/v1/reports?limit=1')).status, 200);
});

test('the workers copy each committed audit entry to the JSON-lines log for a SIEM, in chain order', () => {
  const lines = readFileSync(AUDIT_LOG, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 8, `${lines.length} lines`);
  // Only processes configured with audit_log write it (the test's CLI calls are not).
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i].id > lines[i - 1].id, 'chain order');
  const fromWorkers = stack.sql("SELECT id FROM audit WHERE action IN ('session.create','session.fail','totp.enrol','totp.confirm')").map((r) => r.id);
  const logged = new Set(lines.map((l) => l.id));
  assert.deepEqual(fromWorkers.filter((id) => !logged.has(id)), [], 'every worker-written entry is in the log');
  const last = lines[lines.length - 1];
  const row = stack.sql(`SELECT action, hex(hash) AS hash FROM audit WHERE id = ${last.id}`)[0];
  assert.equal(last.action, row.action);
  assert.equal(last.hash, row.hash.toLowerCase());
  assert.ok(lines.some((l) => l.action === 'totp.confirm'));
});
