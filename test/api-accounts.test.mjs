// api-accounts.test.mjs - what users manage about their own access, through nginx
// + cport-fcgi: their sessions (list, end one), their API tokens (create with a
// name, expiry, read-only flag and address allowlist; list; revoke), and
// `cport user disable` ending every session and token at once. All audited, as
// are report views and searches (written in batches; a SIGTERM drain writes them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, Client, USERS } from './lib/stack.mjs';

let stack;
before(async () => { stack = await startStack({ reports: 100 }); });
after(async () => { if (stack) await stack.stop(); });

// Poll fn (sync or async) every 100 ms until it returns something truthy, for
// at most ms; returns its last answer.
async function eventually(fn, ms = 3000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A client signed in as one of USERS.
async function signedIn(who) {
  const c = new Client(stack.base);
  await c.signIn(USERS[who].email);
  return c;
}

test('a user sees their sessions, the current one marked, and can end another; others\' ids are 404', async () => {
  const a = await signedIn('hotline');
  const b = await signedIn('hotline');
  const list = await a.get('/api/v1/me/sessions');
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.sessions.length, 2);
  assert.equal(list.body.sessions.filter((s) => s.current).length, 1);
  const other = list.body.sessions.find((s) => !s.current);
  assert.equal(typeof other.ip, 'string');
  // Someone else's session id is not found, and stays alive.
  const stranger = await signedIn('interpol');
  assert.equal((await stranger.req('DELETE', `/api/v1/me/sessions/${other.id}`)).status, 404);
  assert.equal((await b.get('/api/v1/me')).status, 200);
  assert.equal((await a.req('DELETE', `/api/v1/me/sessions/${other.id}`)).status, 204);
  assert.equal((await b.get('/api/v1/me')).status, 401, 'the ended session no longer works');
  assert.equal((await a.get('/api/v1/me')).status, 200);
  assert.equal(stack.sql(`SELECT count(*) AS n FROM audit WHERE action = 'session.delete' AND object = 'session:${other.id}'`)[0].n, 1);
});

test('tokens: created once with their options, listed without their value, read-only and address limits enforced, revocable', async () => {
  const c = await signedIn('nl');
  const made = await c.req('POST', '/api/v1/me/tokens', { name: 'forensic tool', expires_days: 7, read_only: true });
  assert.equal(made.status, 201, made.text);
  assert.match(made.body.token, /^cpt_/);
  const ro = new Client(stack.base);
  ro.token = made.body.token;
  assert.equal((await ro.get('/api/v1/reports?limit=1')).status, 200);
  const refused = await ro.req('DELETE', `/api/v1/me/tokens/${made.body.id}`);
  assert.equal(refused.status, 403, refused.text);
  assert.match(refused.body.type, /read-only/);
  const list = await c.get('/api/v1/me/tokens');
  const mine = list.body.tokens.find((t) => t.id === made.body.id);
  assert.equal(mine.name, 'forensic tool');
  assert.equal(mine.read_only, true);
  assert.ok(mine.expires_at && mine.last_used_at, JSON.stringify(mine));
  assert.ok(!list.text.includes(made.body.token), 'token values are never listed');
  // Address allowlists: elsewhere is refused, loopback is let through.
  const far = await c.req('POST', '/api/v1/me/tokens', { name: 'far', allowed_ips: ['198.51.100.0/24', '2001:db8::/32'] });
  const near = await c.req('POST', '/api/v1/me/tokens', { name: 'near', allowed_ips: ['127.0.0.0/8'] });
  assert.equal(far.status, 201);
  const farClient = new Client(stack.base);
  farClient.token = far.body.token;
  assert.equal((await farClient.get('/api/v1/me')).status, 401);
  const nearClient = new Client(stack.base);
  nearClient.token = near.body.token;
  assert.equal((await nearClient.get('/api/v1/me')).status, 200);
  // Revocation ends it; revoking again, or someone else's token, is 404.
  assert.equal((await c.req('DELETE', `/api/v1/me/tokens/${near.body.id}`)).status, 204);
  assert.equal((await nearClient.get('/api/v1/me')).status, 401);
  assert.equal((await c.req('DELETE', `/api/v1/me/tokens/${near.body.id}`)).status, 404);
  const other = await signedIn('de');
  assert.equal((await other.req('DELETE', `/api/v1/me/tokens/${made.body.id}`)).status, 404);
  const actions = stack.sql("SELECT action FROM audit WHERE action IN ('token.create','token.revoke')").map((r) => r.action);
  assert.ok(actions.filter((a) => a === 'token.create').length >= 3 && actions.includes('token.revoke'));
});

test('token options are validated field by field', async () => {
  const c = await signedIn('nl');
  const cases = [
    [{}, 'name'], [{ name: '' }, 'name'], [{ name: 'x'.repeat(101) }, 'name'],
    [{ name: 't', expires_days: 0 }, 'expires_days'], [{ name: 't', expires_days: 1.5 }, 'expires_days'],
    [{ name: 't', expires_days: 1e300 }, 'expires_days'], [{ name: 't', expires_days: -1e300 }, 'expires_days'],
    [{ name: 't', read_only: 'yes' }, 'read_only'], [{ name: 't', allowed_ips: '127.0.0.1' }, 'allowed_ips'],
    [{ name: 't', allowed_ips: ['999.1.1.1'] }, 'allowed_ips'], [{ name: 't', allowed_ips: ['10.0.0.0/33'] }, 'allowed_ips'],
  ];
  for (const [body, field] of cases) {
    const r = await c.req('POST', '/api/v1/me/tokens', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.field, field, JSON.stringify(body));
  }
});

test('cport user disable ends every session and token of the user at once', async () => {
  const c = await signedIn('be');
  const t = new Client(stack.base);
  t.token = stack.cport(['token', 'create', '--email', USERS.be.email, '--name', 'script']);
  assert.equal((await t.get('/api/v1/me')).status, 200);
  assert.match(stack.cport(['user', 'disable', '--email', USERS.be.email]), /disabled/);
  assert.equal((await c.get('/api/v1/me')).status, 401);
  assert.equal((await t.get('/api/v1/me')).status, 401);
  const retry = await new Client(stack.base).req('POST', '/api/v1/session', { email: USERS.be.email, password: 'test-password-1' });
  assert.equal(retry.status, 401);
  const entry = stack.sql("SELECT detail FROM audit WHERE action = 'user.disable'")[0];
  assert.deepEqual(JSON.parse(entry.detail), { sessions_ended: 1, tokens_revoked: 1 });
});

test('audit search: operators see every entry, an org_admin their organisation\'s; filters, paging and bad input; the search is audited', async () => {
  stack.cport(['user', 'add', '--org', 'NL Police', '--email', 'chief@police.example', '--role', 'org_admin'], 'test-password-1\n');
  const admin = new Client(stack.base);
  await admin.signIn('chief@police.example');
  const op = await signedIn('operator');
  const nlOrg = stack.sql("SELECT id FROM orgs WHERE name = 'NL Police'")[0].id;
  const all = await op.get('/api/v1/admin/audit?limit=500');
  assert.equal(all.status, 200, all.text);
  assert.ok(all.body.items.some((e) => e.org_id !== nlOrg), 'operators see other organisations too');
  const mine = await admin.get('/api/v1/admin/audit?limit=500');
  assert.equal(mine.status, 200, mine.text);
  assert.ok(mine.body.items.length > 0 && mine.body.items.every((e) => e.org_id === nlOrg), 'an org_admin sees only their org');
  // Filters and keyset paging.
  const fails = await op.get('/api/v1/admin/audit?action=session.create&limit=2');
  assert.ok(fails.body.items.every((e) => e.action === 'session.create'));
  assert.equal(fails.body.items.length, 2);
  const page2 = await op.get(`/api/v1/admin/audit?action=session.create&limit=2&cursor=${fails.body.next_cursor}`);
  assert.ok(page2.body.items.every((e) => e.id < fails.body.items[1].id));
  const want = stack.sql("SELECT count(*) AS n FROM audit WHERE action = 'session.create'")[0].n;
  let seen = 0, cursor = '';
  for (;;) {
    const r = await op.get(`/api/v1/admin/audit?action=session.create&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    seen += r.body.items.length;
    if (!r.body.next_cursor) break;
    cursor = r.body.next_cursor;
  }
  assert.equal(seen, want);
  for (const [query, field] of [['limit=0', 'limit'], ['from=yesterday', 'from'], ['cursor=abc', 'cursor'], ['colour=red', 'colour']]) {
    const r = await op.get(`/api/v1/admin/audit?${query}`);
    assert.equal(r.status, 400, query);
    assert.equal(r.body.field, field, query);
  }
  assert.equal((await (await signedIn('nl')).get('/api/v1/admin/audit')).status, 403, 'an analyst may not');
  // Audited reads are written in batches, within a second: wait for the operator's.
  const searched = await eventually(() => stack.sql(
    `SELECT actor, detail FROM audit WHERE action = 'audit.search' AND actor = '${USERS.operator.email}' ORDER BY id DESC LIMIT 1`)[0]);
  assert.ok(searched, 'the operator\'s search is on the audit trail');
  assert.match(searched.detail, /colour=red|cursor=|limit=/);
});

test('every report view and search of an LEA user is audited; batched, it is on the trail within seconds', async () => {
  const nl = await signedIn('nl');
  const list = await nl.get('/api/v1/reports?limit=2&sort=domain');
  assert.equal(list.status, 200, list.text);
  const id = list.body.items[0].id;
  assert.equal((await nl.get(`/api/v1/reports/${id}`)).status, 200);
  const op = await signedIn('operator');
  // The operator's audit search, filtered to one action of the NL analyst.
  const find = async (filter) => {
    const r = await op.get(`/api/v1/admin/audit?actor=${encodeURIComponent(USERS.nl.email)}&${filter}`);
    assert.equal(r.status, 200, r.text);
    return r.body.items;
  };
  const views = await eventually(async () => {
    const items = await find(`action=report.view&object=${encodeURIComponent(`report:${id}`)}`);
    return items.length ? items : null;
  });
  assert.ok(views, `report.view of report:${id} did not appear within 3 s`);
  assert.equal(views[0].object, `report:${id}`);
  const searches = await eventually(async () => {
    const items = (await find('action=report.search')).filter((e) => JSON.parse(e.detail).query === 'limit=2&sort=domain');
    return items.length ? items : null;
  });
  assert.ok(searches, 'report.search with its query did not appear within 3 s');
});

// Keep this test last: it stops the stack's cport-fcgi (after() stops the rest).
test('a SIGTERM drain writes the reads still queued before the workers leave; the chain verifies', async () => {
  const nl = await signedIn('nl');
  const marker = `drain${Date.now()}`;
  assert.equal((await nl.get(`/api/v1/reports?q=${marker}`)).status, 200);
  assert.equal((await nl.get('/api/v1/stats')).status, 200);
  const written = () => stack.sql(
    `SELECT count(*) AS n FROM audit WHERE action = 'report.search' AND detail LIKE '%${marker}%'`)[0].n;
  assert.equal(written(), 0, 'a read is queued, not written in a transaction of its own');
  const exited = new Promise((res) => stack.fcgi.once('close', (code, signal) => res({ code, signal })));
  stack.fcgi.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null });
  assert.equal(written(), 1, 'the drain wrote the queued search');
  assert.equal(stack.sql("SELECT count(*) AS n FROM audit WHERE object LIKE '/api/v1/stats%'")[0].n, 0,
    'facet stats are not audited');
  assert.match(stack.cport(['audit', 'verify']), /^audit chain ok: \d+ entries$/);
  assert.doesNotMatch(stack.log(), /never written|still to write/);
});
