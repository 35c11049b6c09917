// api-hashlists.test.mjs - hash lists through nginx + cport-fcgi: who may read
// and change a list (the sharing matrix), uploads through nginx in every format
// with invalid lines counted and named, idempotent re-imports, full and
// incremental exports and their round trip, and matching: exact and PDQ
// against brute force (through the index file and the changes after it),
// quality, disabled entries and lists, warning lists, cross-references.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { startStack, clientFor } from './lib/stack.mjs';

let stack;
const c = {};

before(async () => {
  stack = await startStack({ reports: 300 });
  for (const who of ['nl', 'de', 'hotline', 'interpol', 'operator']) c[who] = await clientFor(stack, who);
});
after(async () => { if (stack) await stack.stop(); });

const hex = (n) => randomBytes(n).toString('hex');
// Upload a file body to a list's import route.
const upload = (client, id, body, query = '') =>
  client.req('POST', `/api/v1/hash-lists/${id}/import${query}`, body, { 'content-type': 'application/octet-stream' });
async function makeList(client, name, extra = {}) {
  const r = await client.req('POST', '/api/v1/hash-lists', { name, ...extra });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

test('lists: created by analysts, read by owner and sharees only, changed by the owner only', async () => {
  assert.equal((await c.de.req('POST', '/api/v1/hash-lists', { name: 'x' })).status, 403, 'viewers do not create');
  assert.equal((await c.operator.get('/api/v1/hash-lists')).status, 403, 'operators have no lists');
  const bad = await c.nl.req('POST', '/api/v1/hash-lists', { name: 'x', scheme: 'nope' });
  assert.equal(bad.body.field, 'scheme');
  const id = await makeList(c.nl, 'NL known material', { scheme: 'vic_us', description: 'Synthetic test list' });
  assert.equal((await c.nl.req('POST', '/api/v1/hash-lists', { name: 'NL known material' })).status, 409);
  const got = await c.nl.get(`/api/v1/hash-lists/${id}`);
  assert.equal(got.body.owned, true);
  assert.equal(got.body.version, 0);
  // Not shared: 404 everywhere for others.
  for (const who of ['de', 'hotline', 'interpol']) {
    assert.equal((await c[who].get(`/api/v1/hash-lists/${id}`)).status, 404, who);
    assert.equal((await c[who].get(`/api/v1/hash-lists/${id}/entries`)).status, 404, who);
    assert.equal((await c[who].get(`/api/v1/hash-lists/${id}/export`)).status, 404, who);
    assert.ok(!(await c[who].get('/api/v1/hash-lists')).body.items.some((l) => l.id === id), who);
  }
  // Share with DE Police by name and with all hotlines by kind.
  const deOrg = stack.sql("SELECT id FROM orgs WHERE name = 'DE Police'")[0].id;
  const s1 = await c.nl.req('POST', `/api/v1/hash-lists/${id}/shares`, { org_id: deOrg });
  assert.equal(s1.status, 201, s1.text);
  const s2 = await c.nl.req('POST', `/api/v1/hash-lists/${id}/shares`, { org_kind: 'hotline' });
  assert.equal(s2.status, 201, s2.text);
  assert.equal((await c.nl.req('POST', `/api/v1/hash-lists/${id}/shares`, { org_kind: 'hotline' })).status, 409);
  assert.equal((await c.nl.req('POST', `/api/v1/hash-lists/${id}/shares`, { org_kind: 'operator' })).body.field, 'org_kind');
  assert.equal((await c.de.get(`/api/v1/hash-lists/${id}`)).status, 200);
  assert.equal((await c.hotline.get(`/api/v1/hash-lists/${id}`)).status, 200);
  assert.equal((await c.interpol.get(`/api/v1/hash-lists/${id}`)).status, 404);
  // Readers from elsewhere do not change it, share it or see its shares.
  assert.equal((await c.hotline.req('PATCH', `/api/v1/hash-lists/${id}`, { name: 'mine now' })).status, 403);
  assert.equal((await c.hotline.req('POST', `/api/v1/hash-lists/${id}/entries`, { algorithm: 'md5', value: hex(16) })).status, 403);
  assert.equal((await c.hotline.get(`/api/v1/hash-lists/${id}/shares`)).body.items.length, 0);
  assert.equal((await c.nl.get(`/api/v1/hash-lists/${id}/shares`)).body.items.length, 2);
  // Revoking a share: gone at once.
  assert.equal((await c.hotline.req('DELETE', `/api/v1/hash-list-shares/${s2.body.id}`)).status, 404);
  assert.equal((await c.nl.req('DELETE', `/api/v1/hash-list-shares/${s2.body.id}`)).status, 204);
  assert.equal((await c.hotline.get(`/api/v1/hash-lists/${id}`)).status, 404);
  const actions = stack.sql(`SELECT action FROM audit WHERE object = 'hash_list:${id}' ORDER BY id`).map((a) => a.action);
  assert.deepEqual(actions, ['hashlist.create', 'hashlist.share', 'hashlist.share', 'hashlist.unshare']);
});

test('imports: every format through nginx, invalid lines counted and named, re-import changes nothing', async () => {
  const id = await makeList(c.hotline, 'EOKM import test');
  const md5s = Array.from({ length: 5 }, () => hex(16));
  const text = ['# synthetic', ...md5s, 'not-a-hash', '', hex(20), 'abc'].join('\n') + '\n';
  let r = await upload(c.hotline, id, text, '?format=text&name=eokm.txt');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.added, r.body.unchanged, r.body.invalid, r.body.version], [6, 0, 2, 1]);
  assert.deepEqual(r.body.invalid_lines.map((l) => l.line), [7, 10]);
  r = await upload(c.hotline, id, text, '?format=text');
  assert.deepEqual([r.body.added, r.body.changed, r.body.unchanged, r.body.version], [0, 0, 6, 1], 'nothing changes');
  // The format is found from the first bytes; CSV with a header and categories.
  const csv = 'MD5,Category,Series\n' + md5s.map((m, i) => `${m},${i % 2 ? 1 : 2},"Series, ""A"""`).join('\n') + '\n';
  r = await upload(c.hotline, id, csv);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.added, r.body.changed, r.body.version], [0, 5, 2]);
  const entries = (await c.hotline.get(`/api/v1/hash-lists/${id}/entries?algorithm=md5`)).body.items;
  assert.equal(entries.find((e) => e.value === md5s[1]).series, 'Series, "A"');
  // VICS 2.0 with a PhotoDNA in base64, and ICSE.
  const vics = {
    '@odata.context': 'http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/NL/$metadata#Media',
    value: [{ MediaID: 7, Category: 1, MD5: hex(16).toUpperCase(), SHA1: hex(20), PhotoDNA: randomBytes(144).toString('base64'), VictimIdentified: true },
      { MediaID: 8, Category: 2, MD5: 'zz' }],
  };
  r = await upload(c.hotline, id, JSON.stringify(vics, null, 1));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.added, r.body.invalid], [3, 1]);
  const icse = 'MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;Number of submissions;File Available;Media Type;Baseline\n' +
    `${hex(16)};;;IMG-1;true;false;false;S1;3;yes;image;true\n`;
  r = await upload(c.hotline, id, icse, '?format=icse');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added, 1);
  // Broken JSON stops the import and changes nothing at all.
  const before = (await c.hotline.get(`/api/v1/hash-lists/${id}`)).body;
  r = await upload(c.hotline, id, '{"value": [ {"MD5": "' + hex(16) + '"}, ', '?format=vics');
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.field, 'body');
  const afterBroken = (await c.hotline.get(`/api/v1/hash-lists/${id}`)).body;
  assert.equal(afterBroken.version, before.version);
  assert.equal(afterBroken.entries, before.entries);
  // Bad parameters.
  assert.equal((await upload(c.hotline, id, text, '?format=xml')).body.field, 'format');
  assert.equal((await upload(c.hotline, id, text, '?mode=wipe')).body.field, 'mode');
  // A replace import removes what the file lacks.
  r = await upload(c.hotline, id, md5s.slice(0, 2).join('\n') + '\n', '?format=text&mode=replace');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.removed, before.entries - 2);
  assert.equal((await c.hotline.get(`/api/v1/hash-lists/${id}`)).body.entries, 2);
});

test('a large upload goes through nginx as a file: only the import route takes big bodies', async () => {
  const id = await makeList(c.nl, 'NL large');
  const lines = Array.from({ length: 120000 }, () => hex(16)).join('\n') + '\n'; // ~3.9 MB
  const t0 = Date.now();
  const r = await upload(c.nl, id, lines, '?format=text');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added, 120000);
  assert.ok(Date.now() - t0 < 20000);
  // Over 50,000 changed entries: a background process rebuilds the index.
  const idx = `${stack.dir}/hashidx.bin`;
  for (let i = 0; i < 100 && !existsSync(idx); i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(existsSync(idx), 'the index was rebuilt after the large import');
  const some = (await c.nl.get(`/api/v1/hash-lists/${id}/entries?algorithm=MD5&limit=1`)).body.items;
  assert.equal(some.length, 1, 'the algorithm filter takes any case');
  const other = await c.nl.req('POST', '/api/v1/hash-lists', 'x'.repeat(2 << 20), { 'content-type': 'application/json' });
  assert.equal(other.status, 413);
});

test('exports: VICS, CSV and text; since=N gives added, changed and removed; VICS round-trips', async () => {
  const id = await makeList(c.nl, 'NL export');
  const vals = Array.from({ length: 4 }, () => hex(16));
  await upload(c.nl, id, 'md5,category\n' + vals.map((v) => `${v},1`).join('\n') + '\n');
  const v1 = (await c.nl.get(`/api/v1/hash-lists/${id}`)).body.version;
  const full = await c.nl.get(`/api/v1/hash-lists/${id}/export?format=vics`);
  assert.equal(full.status, 200);
  assert.match(full.headers.get('content-disposition'), /attachment/);
  assert.match(full.body['@odata.context'], /2\.0\.xml\/NL\/\$metadata#Media$/);
  assert.deepEqual(full.body.value.map((m) => m.MD5.toLowerCase()).sort(), [...vals].sort());
  const txt = await c.nl.get(`/api/v1/hash-lists/${id}/export?format=text`);
  assert.deepEqual(txt.text.trim().split('\n').sort(), [...vals].sort());
  // Changes after v1: one added, one changed, one removed.
  const added = hex(16);
  await c.nl.req('POST', `/api/v1/hash-lists/${id}/entries`, { algorithm: 'md5', value: added, category: '2' });
  const entries = (await c.nl.get(`/api/v1/hash-lists/${id}/entries`)).body.items;
  const e0 = entries.find((e) => e.value === vals[0]), e1 = entries.find((e) => e.value === vals[1]);
  assert.equal((await c.nl.req('PATCH', `/api/v1/hash-entries/${e0.id}`, { category: '3' })).status, 204);
  assert.equal((await c.nl.req('DELETE', `/api/v1/hash-entries/${e1.id}`)).status, 204);
  assert.equal((await c.nl.req('DELETE', `/api/v1/hash-entries/${e1.id}`)).status, 404);
  const inc = await c.nl.get(`/api/v1/hash-lists/${id}/export?format=csv&since=${v1}`);
  assert.equal(inc.status, 200);
  const rows = inc.text.trim().split('\n').slice(1).map((l) => l.split(','));
  const change = Object.fromEntries(rows.map((r) => [r[0], r[8]]));
  assert.deepEqual(change, { [vals[0]]: 'changed', [vals[1]]: 'removed', [added]: 'added' });
  assert.equal((await c.nl.get(`/api/v1/hash-lists/${id}/export?since=x`)).body.field, 'since');
  assert.equal((await c.nl.get(`/api/v1/hash-lists/${id}/export?format=text&since=1`)).body.field, 'format');
  // Round trip: the VICS export imported into a new list exports the same.
  const copy = await makeList(c.nl, 'NL export copy');
  const again = await c.nl.get(`/api/v1/hash-lists/${id}/export?format=vics`);
  const r = await upload(c.nl, copy, again.text, '?format=vics');
  assert.equal(r.body.added, 4);
  const norm = (t) => t.trim().split('\n').sort().join('\n');
  assert.equal(norm((await c.nl.get(`/api/v1/hash-lists/${copy}/export?format=text`)).text),
    norm((await c.nl.get(`/api/v1/hash-lists/${id}/export?format=text`)).text));
  assert.ok(stack.sql(`SELECT count(*) AS n FROM audit WHERE action = 'hashlist.export'`)[0].n >= 0);
});

// PDQ helpers: a random 256-bit value and one at exactly distance d from it.
const pdqRandom = () => randomBytes(32);
function flipBits(buf, d) {
  const out = Buffer.from(buf), bits = new Set();
  while (bits.size < d) bits.add(Math.floor(Math.random() * 256));
  for (const b of bits) out[b >> 3] ^= 1 << (b & 7);
  return out;
}
function distance(a, b) {
  let n = 0;
  for (let i = 0; i < 32; i++) { let x = a[i] ^ b[i]; while (x) { n += x & 1; x >>= 1; } }
  return n;
}

test('PDQ matches equal brute force, through the index file and the changes made after it', async () => {
  const id = await makeList(c.interpol, 'INTERPOL PDQ');
  const entries = Array.from({ length: 3000 }, () => pdqRandom());
  const queries = Array.from({ length: 40 }, () => pdqRandom());
  // Planted near-duplicates at every distance 0..40 around the queries.
  queries.forEach((q, i) => entries.push(flipBits(q, i)));
  const half = entries.length / 2;
  const lines = (xs) => xs.map((b) => b.toString('hex')).join('\n') + '\n';
  let r = await upload(c.interpol, id, lines(entries.slice(0, half)), '?format=text&algorithm=pdq');
  assert.equal(r.body.added, half, r.text);
  stack.cport(['hashlist', 'reindex']);
  // The second half arrives after the index was built: matched from the changes.
  r = await upload(c.interpol, id, lines(entries.slice(half)), '?format=text&algorithm=pdq');
  assert.equal(r.body.added, entries.length - half, r.text);
  for (const maxd of [31, 0, 40]) {
    r = await c.interpol.req('POST', '/api/v1/match', {
      hashes: queries.map((q) => ({ algorithm: 'pdq', value: q.toString('hex'), quality: 90 })), pdq_max_distance: maxd,
    });
    assert.equal(r.status, 200, r.text);
    const ids = new Map((await allEntries(c.interpol, id)).map((e) => [e.value, e.id]));
    queries.forEach((q, i) => {
      const want = entries.map((e) => [ids.get(e.toString('hex')), distance(e, q)]).filter(([, d]) => d <= maxd)
        .sort((a, b) => a[0] - b[0]);
      const got = r.body.results[i].matches.map((m) => [m.entry_id, m.distance]).sort((a, b) => a[0] - b[0]);
      assert.deepEqual(got, want, `query ${i} at ${maxd}`);
    });
  }
  // Poor quality is skipped and says so; bad input is named.
  r = await c.interpol.req('POST', '/api/v1/match', { hashes: [{ algorithm: 'pdq', value: queries[0].toString('hex'), quality: 49 }] });
  assert.match(r.body.results[0].skipped, /quality/);
  assert.equal(r.body.results[0].matches, undefined);
  r = await c.interpol.req('POST', '/api/v1/match', { hashes: [{ algorithm: 'pdq', value: 'ff' }] });
  assert.equal(r.body.field, 'hashes[0]');
  r = await c.interpol.req('POST', '/api/v1/match', { hashes: [{ algorithm: 'md5', value: hex(16) }], pdq_max_distance: 65 });
  assert.equal(r.body.field, 'pdq_max_distance');
});

// Every live entry of a list, following the cursor.
async function allEntries(client, id) {
  const out = [];
  for (let cursor = ''; ;) {
    const r = await client.get(`/api/v1/hash-lists/${id}/entries?limit=500${cursor ? '&cursor=' + cursor : ''}`);
    out.push(...r.body.items);
    if (!r.body.next_cursor) return out;
    cursor = r.body.next_cursor;
  }
}

test('exact matches: only readable, enabled entries of enabled lists; warning lists come back apart', async () => {
  const normal = await makeList(c.nl, 'NL exact');
  const warn = await makeList(c.nl, 'NL warnings', { kind: 'warning' });
  const hidden = await makeList(c.hotline, 'EOKM private');
  const v = hex(16), w = hex(20);
  await c.nl.req('POST', `/api/v1/hash-lists/${normal}/entries`, { algorithm: 'md5', value: v, category: '1' });
  await c.nl.req('POST', `/api/v1/hash-lists/${warn}/entries`, { algorithm: 'sha1', value: w });
  await c.hotline.req('POST', `/api/v1/hash-lists/${hidden}/entries`, { algorithm: 'md5', value: v });
  const ask = () => c.nl.req('POST', '/api/v1/match', { hashes: [{ algorithm: 'md5', value: v.toUpperCase() }, { algorithm: 'sha1', value: w }] });
  let r = await ask();
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.results[0].matches.map((m) => [m.list_id, m.category, m.distance]), [[normal, '1', 0]]);
  assert.deepEqual(r.body.results[0].warnings, []);
  assert.deepEqual(r.body.results[1].matches, []);
  assert.deepEqual(r.body.results[1].warnings.map((m) => m.list_id), [warn]);
  // A disabled entry, then a disabled list, stop matching at once.
  const e = (await c.nl.get(`/api/v1/hash-lists/${normal}/entries`)).body.items[0];
  await c.nl.req('PATCH', `/api/v1/hash-entries/${e.id}`, { enabled: false });
  assert.deepEqual((await ask()).body.results[0].matches, []);
  await c.nl.req('PATCH', `/api/v1/hash-entries/${e.id}`, { enabled: true });
  assert.equal((await ask()).body.results[0].matches.length, 1);
  await c.nl.req('PATCH', `/api/v1/hash-lists/${normal}`, { enabled: false });
  assert.deepEqual((await ask()).body.results[0].matches, []);
  // The hotline's own list matches for the hotline only.
  r = await c.hotline.req('POST', '/api/v1/match', { hashes: [{ algorithm: 'md5', value: v }] });
  assert.deepEqual(r.body.results[0].matches.map((m) => m.list_id), [hidden]);
});

test('cross-references: a report\'s media hits now, and a list\'s reports after correlation', async () => {
  // A media item the NL officer may see with metadata, and its md5.
  const row = stack.sql(`SELECT m.id AS media, r.id AS report, hex(m.md5) AS md5 FROM media m JOIN reports r ON r.id = m.report_id
    WHERE r.host_country = 'NL' AND m.md5 IS NOT NULL ORDER BY m.id LIMIT 1`)[0];
  const list = await makeList(c.nl, 'NL cross');
  await c.nl.req('POST', `/api/v1/hash-lists/${list}/entries`, { algorithm: 'md5', value: row.md5.toLowerCase() });
  const r = await c.nl.get(`/api/v1/reports/${row.report}/hash-hits`);
  assert.equal(r.status, 200, r.text);
  const item = r.body.items.find((i) => i.media_id === row.media);
  assert.deepEqual(item.matches.map((m) => m.list_id), [list]);
  // DE has no media metadata: refused; a report outside scope: 404.
  assert.equal((await c.de.get(`/api/v1/reports/${row.report}/hash-hits`)).status, 404);
  stack.cport(['hashlist', 'reindex']);
  const hits = await c.nl.get(`/api/v1/hash-lists/${list}/report-hits`);
  assert.equal(hits.status, 200, hits.text);
  assert.ok(hits.body.items.some((h) => h.report_id === row.report));
});
