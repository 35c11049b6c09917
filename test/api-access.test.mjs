// api-access.test.mjs - the access procedure, enrolment links, re-authentication
// and the admin API through nginx + cport-fcgi, with MFA required (operator and
// INTERPOL enrol TOTP first, as they would) and a mail command that writes each
// message to a file, so the mailed link is the one the test opens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, Client, USERS, PASSWORD } from './lib/stack.mjs';
import { totp } from './lib/totp.mjs';

let stack, mailFile;
const staff = {};
const secrets = {};
const HOTLINE_ADMIN = 'admin@eokm.example';
const FORM = {
  agency: 'Politie Rotterdam Zeden', country: 'NL', officer: 'Inspector J. Jansen',
  email: 'j.jansen@politie.example', phone: '+31 10 000 0000',
  justification: 'Our vice unit investigates NL-hosted material and needs the hotline reports.',
};

// Sign in as a fixture user; with TOTP on, a code one step ahead (a code is
// accepted once, and the enrolment used the current one).
async function signIn(who) {
  const email = who.includes('@') ? who : USERS[who].email;
  const c = new Client(stack.base);
  const body = { email, password: PASSWORD };
  if (secrets[email]) body.totp = totp(secrets[email], Date.now() / 1000 + 30);
  const r = await c.req('POST', '/api/v1/session', body);
  assert.equal(r.status, 200, r.text);
  return c;
}

// Turn TOTP on for a signed-in client; returns the secret.
async function enrol(c, email) {
  const en = await c.req('POST', '/api/v1/me/totp');
  assert.equal(en.status, 200, en.text);
  const ok = await c.req('POST', '/api/v1/me/totp/confirm', { code: totp(en.body.secret) });
  assert.equal(ok.status, 200, ok.text);
  secrets[email] = en.body.secret;
  return en.body.secret;
}

before(async () => {
  stack = await startStack({ reports: 300, config: 'mfa_required = 1\naccess_request_ip_limit = 4' });
  mailFile = join(stack.dir, 'mail.txt');
  stack.cport(['user', 'add', '--org', 'EOKM', '--email', 'admin@eokm.example', '--role', 'org_admin'], PASSWORD + '\n');
  for (const who of ['operator', 'interpol', 'hotline']) {
    staff[who] = await signIn(who);
    if (who !== 'hotline') await enrol(staff[who], USERS[who].email);
  }
  staff.hotlineadmin = await signIn(HOTLINE_ADMIN);
});

after(async () => {
  if (stack) await stack.stop();
});

const anon = () => new Client(stack.base);

test('the public form validates every field and names the bad one', async () => {
  const cases = [
    [{ agency: '' }, 'agency'], [{ agency: 'x'.repeat(201) }, 'agency'], [{ country: 'XX' }, 'country'],
    [{ country: 'nl' }, 'country'], [{ officer: 'a\u0007b' }, 'officer'], [{ email: 'not-an-email' }, 'email'],
    [{ email: 'a@b@c.example' }, 'email'], [{ phone: 'call me' }, 'phone'], [{ phone: '12' }, 'phone'],
    [{ justification: 'too short' }, 'justification'], [{ justification: 'x'.repeat(4001) }, 'justification'],
    [{ extra: 1 }, 'extra'],
  ];
  for (const [patch, field] of cases) {
    const r = await anon().req('POST', '/api/v1/access-requests', { ...FORM, ...patch });
    assert.equal(r.status, 400, JSON.stringify(patch));
    assert.equal(r.body.field, field, JSON.stringify(patch));
  }
  const missing = { ...FORM };
  delete missing.phone;
  assert.equal((await anon().req('POST', '/api/v1/access-requests', missing)).body.field, 'phone');
  assert.equal((await anon().req('POST', '/api/v1/access-requests', '[1]')).status, 400);
  // Nothing was stored by any of them.
  assert.equal(stack.sql('SELECT count(*) AS n FROM access_requests')[0].n, 0);
});

test('the whole procedure: requested, demo, hotline approval, INTERPOL endorsement, activation, enrolment', async () => {
  const made = await anon().req('POST', '/api/v1/access-requests', FORM);
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(made.body, { id: made.body.id, status: 'requested' });
  const id = made.body.id;
  const path = `/api/v1/access-requests/${id}`;

  // Visibility: the NL hotline, INTERPOL and the operator; LEAs are refused.
  for (const who of ['hotline', 'interpol', 'operator']) {
    const r = await staff[who].get(path);
    assert.equal(r.status, 200, `${who}: ${r.text}`);
    assert.equal(r.body.agency, FORM.agency);
  }
  assert.equal((await staff.operator.get(path)).body.ip, '127.0.0.1');
  assert.equal((await staff.hotline.get(path)).body.ip, undefined, 'the form\'s address is for the operator only');
  assert.equal((await (await signIn('hotline')).get('/api/v1/access-requests')).body.items[0].id, id);

  // Steps out of order are conflicts and change nothing.
  const early = await staff.interpol.req('POST', `${path}/endorse`, {});
  assert.equal(early.status, 409, early.text);
  assert.equal((await staff.hotlineadmin.req('POST', `${path}/approve`, {})).status, 409);
  assert.equal((await staff.operator.req('POST', `${path}/activate`)).status, 409);
  // The right role but the wrong organisation kind, or too low a role.
  assert.equal((await staff.hotline.req('POST', `${path}/approve`, {})).status, 403);

  let r = await staff.operator.req('POST', `${path}/demo`, { note: 'Demo held by video call.' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'demo_held');
  assert.equal((await staff.operator.req('POST', `${path}/demo`, {})).status, 409, 'a step happens once');

  r = await staff.hotlineadmin.req('POST', `${path}/approve`, { jurisdiction: ['NL', 'XX'] });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'jurisdiction');
  r = await staff.hotlineadmin.req('POST', `${path}/approve`, { media_content: true });
  assert.equal(r.body.field, 'media_content', 'content without metadata is refused');
  r = await staff.hotlineadmin.req('POST', `${path}/approve`,
    { jurisdiction: ['NL'], media_metadata: true, include_reported_from: true, note: 'Known unit.' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'hotline_approved');
  assert.deepEqual(r.body.approval.jurisdiction, ['NL']);
  assert.equal(r.body.approval.hotline_code, 'NL-EOKM');
  assert.equal(r.body.approval.media_metadata, true);

  r = await staff.interpol.req('POST', `${path}/endorse`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'interpol_endorsed');

  r = await staff.operator.req('POST', `${path}/activate`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.enrolment.mailed, false, 'no mail command on this stack');
  const url = r.body.enrolment.url;
  assert.equal(url.split("#")[0], `${stack.base}/enrol.html`, "the link points at this portal (public_url)");
  assert.match(url, /#[A-Za-z0-9_-]{43}$/);
  const token = url.split('#')[1];
  const { org_id: orgId, user_id: userId } = r.body;
  assert.equal(stack.sql(`SELECT kind, country FROM orgs WHERE id = ${orgId}`)[0].kind, 'lea');
  assert.equal(stack.sql(`SELECT role FROM users WHERE id = ${userId}`)[0].role, 'org_admin');
  const ag = stack.sql(`SELECT hotline_code, media_metadata, include_reported_from FROM agreements WHERE lea_org_id = ${orgId}`);
  assert.deepEqual(ag, [{ hotline_code: 'NL-EOKM', media_metadata: 1, include_reported_from: 1 }]);
  // Only the hash of the link is kept.
  assert.equal(stack.sql(`SELECT count(*) AS n FROM enrolments WHERE user_id = ${userId} AND hex(token_hash) LIKE '%${Buffer.from(token).toString('hex').slice(0, 16).toUpperCase()}%'`)[0].n, 0);

  // The page shows every step with who took it.
  const page = (await staff.operator.get(path)).body;
  assert.deepEqual(page.steps.map((s) => s.to), ['demo_held', 'hotline_approved', 'interpol_endorsed', 'active']);
  assert.deepEqual(page.steps.map((s) => s.actor),
    [USERS.operator.email, HOTLINE_ADMIN, USERS.interpol.email, USERS.operator.email]);
  assert.equal(page.steps[0].note, 'Demo held by video call.');

  // No sign-in is possible before the link is used.
  assert.equal((await anon().req('POST', '/api/v1/session', { email: FORM.email, password: '' })).status, 401);

  // The officer opens the link: who it is for, then a password (12+ characters).
  const look = await anon().req('POST', '/api/v1/enrolment/lookup', { token });
  assert.equal(look.status, 200, look.text);
  assert.equal(look.body.email, FORM.email);
  assert.equal(look.body.org, FORM.agency);
  assert.equal(look.body.purpose, 'activation');
  const officer = anon();
  r = await officer.req('POST', '/api/v1/enrolment', { token, password: 'short' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'password');
  const password = 'a-long-officer-passphrase';
  r = await officer.req('POST', '/api/v1/enrolment', { token, password });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.org.kind, 'lea');
  assert.equal(r.body.user.role, 'org_admin');
  assert.deepEqual(r.body.mfa, { enabled: false, required: true });
  // Until TOTP is on, the new session can only enrol.
  assert.equal((await officer.get('/api/v1/reports?limit=1')).body.type.split(':').pop(), 'mfa-enrolment-required');
  const qrBefore = await officer.get('/api/v1/me/totp/qr.svg');
  assert.equal(qrBefore.status, 409, 'no QR code before enrolment starts');
  await enrol(officer, FORM.email);
  r = await officer.get('/api/v1/reports?limit=1');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.total > 0, 'the new LEA sees its NL reports at once');

  // The link worked once.
  const again = await anon().req('POST', '/api/v1/enrolment', { token, password });
  assert.equal(again.status, 410);
  assert.match(again.body.type, /enrolment-link-spent/);
  assert.equal((await anon().req('POST', '/api/v1/enrolment/lookup', { token })).status, 410);

  // Every step is on the audit trail, in order.
  const audit = stack.sql(`SELECT action FROM audit WHERE object = 'access_request:${id}' ORDER BY id`).map((a) => a.action);
  assert.deepEqual(audit, ['access_request.requested', 'access_request.demo_held', 'access_request.hotline_approved',
    'access_request.interpol_endorsed', 'access_request.active']);
  assert.equal(stack.cport(['audit', 'verify']).includes('ok'), true);
  // An active request can't be rejected any more.
  assert.equal((await staff.operator.req('POST', `${path}/reject`, { reason: 'late' })).status, 409);
});

test('forged, replaced and expired enrolment links get a clear 4xx and change nothing', async () => {
  const forged = await anon().req('POST', '/api/v1/enrolment', { token: 'A'.repeat(43), password: 'x'.repeat(16) });
  assert.equal(forged.status, 404);
  assert.match(forged.body.type, /enrolment-link-unknown/);
  assert.equal((await anon().req('POST', '/api/v1/enrolment', { token: '../../etc', password: 'x'.repeat(16) })).status, 404);
  // An invitation, then a second one: the first link is void.
  const first = await staff.hotlineadmin.req('POST', '/api/v1/admin/users', { email: 'new@eokm.example', role: 'viewer' });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.body.password_set, false);
  assert.equal(first.body.enrolment_pending, true);
  const second = await staff.hotlineadmin.req('POST', `/api/v1/admin/users/${first.body.id}/enrolment`);
  assert.equal(second.status, 200, second.text);
  const t1 = first.body.enrolment.url.split('#')[1], t2 = second.body.enrolment.url.split('#')[1];
  assert.equal((await anon().req('POST', '/api/v1/enrolment/lookup', { token: t1 })).status, 404);
  // Expired: the clock moves past the link's expiry.
  stack.sql(`UPDATE enrolments SET expires_at = strftime('%s','now') - 1 WHERE user_id = ${first.body.id}`);
  const old = await anon().req('POST', '/api/v1/enrolment', { token: t2, password: 'a-fine-long-password' });
  assert.equal(old.status, 410);
  assert.equal(stack.sql(`SELECT pw_hash FROM users WHERE id = ${first.body.id}`)[0].pw_hash, '!', 'no password set');
});

test('rejection: by the next step\'s organisation or the operator, with a reason; then nothing moves', async () => {
  const ids = [];
  for (const country of ['NL', 'DE']) {
    const r = await anon().req('POST', '/api/v1/access-requests', { ...FORM, country, email: `x-${country}@police.example` });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.id);
  }
  const [nl, de] = ids;
  // The NL hotline does not see a German request at all.
  assert.equal((await staff.hotlineadmin.get(`/api/v1/access-requests/${de}`)).status, 404);
  assert.ok(!(await staff.hotlineadmin.get('/api/v1/access-requests')).body.items.some((i) => i.id === de));
  // At "requested" only the operator may reject; a reason is required.
  assert.equal((await staff.hotlineadmin.req('POST', `/api/v1/access-requests/${nl}/reject`, { reason: 'no' })).status, 403);
  assert.equal((await staff.operator.req('POST', `/api/v1/access-requests/${nl}/reject`, {})).body.field, 'reason');
  await staff.operator.req('POST', `/api/v1/access-requests/${nl}/demo`, {});
  const r = await staff.hotlineadmin.req('POST', `/api/v1/access-requests/${nl}/reject`, { reason: 'Not a police unit.' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'rejected');
  assert.equal(r.body.reason, 'Not a police unit.');
  assert.equal((await staff.hotlineadmin.req('POST', `/api/v1/access-requests/${nl}/approve`, {})).status, 409);
  assert.equal((await staff.operator.req('POST', `/api/v1/access-requests/${nl}/reject`, { reason: 'again' })).status, 409);
});

test('the public form is limited per address', async () => {
  // access_request_ip_limit = 4 on this stack: earlier tests stored 3.
  const n = stack.sql('SELECT count(*) AS n FROM access_requests')[0].n;
  let last;
  for (let i = n; i <= 4; i++) last = await anon().req('POST', '/api/v1/access-requests', { ...FORM, email: `r${i}@police.example` });
  assert.equal(last.status, 429, last.text);
  assert.ok(last.headers.get('retry-after'));
  assert.equal(stack.sql('SELECT count(*) AS n FROM access_requests')[0].n, 4);
});

test('re-authentication: sensitive actions need a password and code proven in the last minutes', async () => {
  const op = staff.operator;
  // Age the proof of this session beyond the window.
  stack.sql(`UPDATE sessions SET reauth_at = reauth_at - 3600 WHERE user_id = (SELECT id FROM users WHERE email = '${USERS.operator.email}')`);
  let r = await op.req('POST', '/api/v1/admin/orgs', { kind: 'lea', name: 'Reauth Police', country: 'BE' });
  assert.equal(r.status, 403);
  assert.equal(r.body.type.split(':').pop(), 'reauth-required');
  assert.equal(stack.sql("SELECT count(*) AS n FROM orgs WHERE name = 'Reauth Police'")[0].n, 0);
  // Wrong password, missing code: refused (and counted like a failed sign-in).
  r = await op.req('POST', '/api/v1/me/reauth', { password: 'wrong-password' });
  assert.equal(r.status, 401);
  r = await op.req('POST', '/api/v1/me/reauth', { password: PASSWORD });
  assert.equal(r.status, 401);
  assert.match(r.body.type, /totp-required/);
  r = await op.req('POST', '/api/v1/me/reauth', { password: PASSWORD, totp: totp(secrets[USERS.operator.email], Date.now() / 1000 + 30) });
  if (r.status === 401) {
    // The sign-in used that step's code already: the next one.
    await new Promise((res) => setTimeout(res, 30000 - (Date.now() % 30000) + 200));
    r = await op.req('POST', '/api/v1/me/reauth', { password: PASSWORD, totp: totp(secrets[USERS.operator.email], Date.now() / 1000 + 30) });
  }
  assert.equal(r.status, 200, r.text);
  assert.ok(Date.parse(r.body.reauth_until) > Date.now() + 60000);
  r = await op.req('POST', '/api/v1/admin/orgs', { kind: 'lea', name: 'Reauth Police', country: 'BE' });
  assert.equal(r.status, 201, r.text);
  const actions = stack.sql("SELECT action FROM audit WHERE action IN ('session.reauth','access.denied') ORDER BY id DESC LIMIT 5").map((a) => a.action);
  assert.ok(actions.includes('session.reauth'));
});

test('admin: invite, change role, disable (sessions end at once), scope follows agreement changes', async () => {
  // An LEA org_admin (made by the procedure above) administers its own org only.
  stack.cport(['user', 'add', '--org', 'NL Police', '--email', 'admin@police.example', '--role', 'org_admin'], PASSWORD + '\n');
  const admin = await signIn('admin@police.example');
  await enrol(admin, 'admin@police.example');
  const users = (await admin.get('/api/v1/admin/users')).body.items;
  assert.ok(users.length >= 2 && users.every((u) => u.org === 'NL Police'), 'own organisation only');
  const orgs = (await admin.get('/api/v1/admin/orgs')).body.items;
  assert.deepEqual(orgs.map((o) => o.name), ['NL Police']);
  // Inviting into another organisation, or an operator, is refused.
  const other = stack.sql("SELECT id FROM orgs WHERE name = 'DE Police'")[0].id;
  assert.equal((await admin.req('POST', '/api/v1/admin/users', { email: 'z@police.example', role: 'viewer', org_id: other })).status, 404);
  assert.equal((await admin.req('POST', '/api/v1/admin/users', { email: 'z@police.example', role: 'operator' })).body.field, 'role');
  assert.equal((await admin.req('POST', '/api/v1/admin/users', { email: USERS.nl.email, role: 'viewer' })).status, 409);
  // Change a colleague's role; not one's own.
  const nlId = users.find((u) => u.email === USERS.nl.email).id;
  let r = await admin.req('PATCH', `/api/v1/admin/users/${nlId}`, { role: 'viewer' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.role, 'viewer');
  const self = users.find((u) => u.email === 'admin@police.example').id;
  assert.equal((await admin.req('PATCH', `/api/v1/admin/users/${self}`, { disabled: true })).status, 409);
  // Another org's user is not found.
  const deId = stack.sql(`SELECT id FROM users WHERE email = '${USERS.de.email}'`)[0].id;
  assert.equal((await admin.req('PATCH', `/api/v1/admin/users/${deId}`, { role: 'viewer' })).status, 404);
  // Disable: the colleague's session and token stop working at once.
  const colleague = await signIn('nl');
  const tok = new Client(stack.base);
  tok.token = stack.cport(['token', 'create', '--email', USERS.nl.email]);
  assert.equal((await tok.get('/api/v1/me')).status, 200);
  r = await admin.req('PATCH', `/api/v1/admin/users/${nlId}`, { disabled: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.disabled, true);
  assert.equal((await colleague.get('/api/v1/me')).status, 401);
  assert.equal((await tok.get('/api/v1/me')).status, 401);
  r = await admin.req('PATCH', `/api/v1/admin/users/${nlId}`, { disabled: false, role: 'analyst' });
  assert.equal(r.status, 200);
  assert.equal((await signIn('nl').then((c) => c.get('/api/v1/me'))).status, 200);
  // LEA admins read their agreements but don't change them.
  const ags = (await admin.get('/api/v1/admin/agreements')).body.items;
  assert.equal(ags.length, 1);
  assert.equal((await admin.req('PATCH', `/api/v1/admin/agreements/${ags[0].id}`, { media_metadata: false })).status, 403);
  // The hotline ends the agreement: the LEA sees nothing from that moment.
  const nl = await signIn('nl');
  await enrol(nl, USERS.nl.email);
  assert.ok((await nl.get('/api/v1/reports?limit=1')).body.total > 0);
  const today = new Date().toISOString().slice(0, 19) + 'Z';
  r = await staff.hotlineadmin.req('PATCH', `/api/v1/admin/agreements/${ags[0].id}`, { valid_to: today });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.valid_now, false);
  assert.equal((await nl.get('/api/v1/reports?limit=1')).body.total, 0);
  // ...and a new agreement restores it.
  r = await staff.hotlineadmin.req('POST', '/api/v1/admin/agreements',
    { lea_org_id: ags[0].lea_org_id, jurisdiction: ['NL'], media_metadata: true });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.hotline_code, 'NL-EOKM');
  assert.ok((await nl.get('/api/v1/reports?limit=1')).body.total > 0);
  // A hotline can't bind an LEA of another country.
  const de = stack.sql("SELECT id FROM orgs WHERE name = 'DE Police'")[0].id;
  r = await staff.hotlineadmin.req('POST', '/api/v1/admin/agreements', { lea_org_id: de, jurisdiction: ['DE'] });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'lea_org_id');
  const changes = stack.sql("SELECT action FROM audit WHERE action IN ('user.role','user.disable','user.enable','agreement.change','agreement.add') ORDER BY id").map((a) => a.action);
  for (const a of ['user.role', 'user.disable', 'user.enable', 'agreement.change', 'agreement.add']) assert.ok(changes.includes(a), a);
});

test('a mail command gets the link; the answer then carries no link', async () => {
  await stack.stop();
  // A second stack on the same kind of fixture, with mail set up.
  stack = await startStack({ reports: 20, config: `mfa_required = 0\nmail_command = cat >> ${join('/tmp', `cport-mail-${process.pid}.txt`)}\npublic_url = https://portal.example` });
  mailFile = join('/tmp', `cport-mail-${process.pid}.txt`);
  writeFileSync(mailFile, '');
  const op = await signIn('operator');
  const r = await op.req('POST', '/api/v1/admin/users', { email: 'mailed@cport.example', role: 'operator', org_id: stack.sql("SELECT id FROM orgs WHERE kind = 'operator'")[0].id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.enrolment.mailed, true);
  assert.equal(r.body.enrolment.url, undefined);
  assert.ok(existsSync(mailFile));
  const mail = readFileSync(mailFile, 'utf8');
  assert.match(mail, /^To: mailed@cport\.example$/m);
  const link = /https:\/\/portal\.example\/enrol\.html#([A-Za-z0-9_-]+)/.exec(mail);
  assert.ok(link, mail);
  assert.equal((await anon().req('POST', '/api/v1/enrolment/lookup', { token: link[1] })).body.email, 'mailed@cport.example');
  // The operator's import pages: runs, and quarantined records without their content.
  const runs = await op.get('/api/v1/admin/import-runs');
  assert.equal(runs.status, 200);
  assert.equal(runs.body.items[0].status, 'ok');
  const rej = await op.get('/api/v1/admin/import-rejects');
  assert.equal(rej.status, 200);
  for (const x of rej.body.items) assert.equal(x.raw, undefined);
});
