// authz.test.mjs - the authorization matrix: every route of fcgi/routes.c called
// as every role of every org kind (and anonymously) through nginx + cport-fcgi,
// compared with the table in test/authz-matrix.json. A route that is in the
// route table but not in the matrix (or the other way round) fails the test, so
// a new route cannot skip its access rule. Callers use browser sessions (fresh,
// so re-authentication routes pass on role alone); a second test checks that
// API tokens are refused on every re-authentication route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, Client, USERS, ROOT, PASSWORD } from './lib/stack.mjs';

const MATRIX = JSON.parse(readFileSync(join(ROOT, 'test', 'authz-matrix.json'), 'utf8'));
// Callers of the matrix and the fixture user behind each (USERS in lib/stack.mjs).
const WHO = {
  lea_viewer: 'de', lea_analyst: 'nl', lea_org_admin: 'nladmin', hotline_analyst: 'hotline',
  hotline_org_admin: 'hotlineadmin', interpol_analyst: 'interpol', operator: 'operator',
};
let stack;
const clients = {};

// The routes of fcgi/routes.c as "METHOD /path".
function routeTable() {
  const src = readFileSync(join(ROOT, 'fcgi', 'routes.c'), 'utf8');
  return [...src.matchAll(/\{\s*"([A-Z]+)",\s*"([^"]+)",\s*h_\w+,/g)].map((m) => `${m[1]} ${m[2]}`);
}

before(async () => {
  stack = await startStack({ reports: 200 });
  stack.cport(['user', 'add', '--org', 'NL Police', '--email', 'admin@police.example', '--role', 'org_admin'],
    PASSWORD + '\n');
  USERS.nladmin = { email: 'admin@police.example', org: 'NL Police', role: 'org_admin' };
  stack.cport(['user', 'add', '--org', 'EOKM', '--email', 'admin@eokm.example', '--role', 'org_admin'],
    PASSWORD + '\n');
  USERS.hotlineadmin = { email: 'admin@eokm.example', org: 'EOKM', role: 'org_admin' };
  clients.anonymous = new Client(stack.base);
  for (const caller of Object.keys(WHO)) await signIn(caller);
});

// A fresh browser session for a caller (cookie and CSRF token kept).
async function signIn(caller) {
  const c = new Client(stack.base);
  await c.signIn(USERS[WHO[caller]].email);
  clients[caller] = c;
}

after(async () => {
  delete USERS.nladmin;
  delete USERS.hotlineadmin;
  if (stack) await stack.stop();
});

test('the matrix lists exactly the routes of the route table, each with every caller', () => {
  const routes = routeTable();
  assert.ok(routes.length >= 8, 'routes parsed from fcgi/routes.c');
  assert.deepEqual([...routes].sort(), Object.keys(MATRIX.routes).sort(),
    'fcgi/routes.c and test/authz-matrix.json must list the same routes');
  for (const [route, row] of Object.entries(MATRIX.routes)) {
    assert.deepEqual(Object.keys(row).sort(), [...MATRIX.callers].sort(), `${route}: a status for every caller`);
  }
});

test('every route answers every caller as the matrix says', async () => {
  const id = stack.sql('SELECT max(id) AS id FROM reports')[0].id;
  const failures = [];
  // Signing out ends the callers' sessions, so that row goes last.
  const rows = Object.entries(MATRIX.routes).sort(([a], [b]) =>
    (a === 'DELETE /api/v1/session') - (b === 'DELETE /api/v1/session'));
  for (const [route, row] of rows) {
    const [method, pattern] = route.split(' ');
    const path = pattern.replace('{id}', String(id));
    for (const caller of MATRIX.callers) {
      // Sign-in (public) gets good credentials: a refusal would then be the route's.
      const body = method === 'POST' ? { email: USERS[WHO[caller] || 'nl'].email, password: PASSWORD } : undefined;
      // A fresh client each time, so a cookie from the sign-in row doesn't carry over.
      const c = new Client(stack.base);
      c.cookie = clients[caller].cookie;
      c.csrf = clients[caller].csrf;
      const r = await c.req(method, path, body);
      const want = row[caller];
      const ok = want === 'allowed' ? r.status !== 401 && r.status !== 403 && r.status < 500 : r.status === Number(want);
      if (!ok) failures.push(`${route} as ${caller}: ${r.status}, expected ${want}`);
      if (r.status === 401 || r.status === 403) {
        assert.match(r.headers.get('content-type') || '', /problem\+json/, `${route} as ${caller}`);
      }
    }
  }
  assert.deepEqual(failures, []);
});

test('API tokens are refused on every re-authentication route', async () => {
  const src = readFileSync(join(ROOT, 'fcgi', 'routes.c'), 'utf8');
  const reauth = [...src.matchAll(/\{\s*"([A-Z]+)",\s*"([^"]+)",\s*h_\w+,[^}]*ROUTE_REAUTH/g)].map((m) => [m[1], m[2]]);
  assert.ok(reauth.length >= 8, 'the sensitive routes are flagged');
  for (const [method, pattern] of reauth) {
    // A token of someone whose role the route admits, so only the token is refused.
    const row = MATRIX.routes[`${method} ${pattern}`];
    const caller = MATRIX.callers.find((k) => k !== 'anonymous' && row[k] === 'allowed');
    const c = new Client(stack.base);
    c.token = stack.cport(['token', 'create', '--email', USERS[WHO[caller]].email, '--name', 'authz']);
    const r = await c.req(method, pattern.replace('{id}', '1'), {});
    assert.equal(r.status, 403, `${method} ${pattern}`);
    assert.equal(r.body.type.split(':').pop(), 'reauth-required', `${method} ${pattern}`);
  }
});
