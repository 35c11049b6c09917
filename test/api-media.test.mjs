// api-media.test.mjs - media content end to end: `cport import --media` fetches
// the generated pictures of a synthetic feed, hashes them (MD5, SHA-1, SHA-256,
// PDQ), keeps them encrypted in the store with blurred greyscale previews; then,
// through nginx and cport-fcgi: metadata, previews and originals by scope and
// agreement flags, re-authentication, audit, headers, tampering on disk, and the
// bad inputs (a 50 MB "image", a truncated JPEG, a PNG bomb, HTML pretending to
// be an image, a missing file that arrives later).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { deflateSync, inflateRawSync } from 'node:zlib';
import { readFileSync, writeFileSync, mkdirSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, clientFor, Client, USERS, BUILD } from './lib/stack.mjs';

let stack, nl, de, hotline, interpol, op;

before(async () => {
  stack = await startStack({ reports: 300, mediaFiles: 400 });
  op = await clientFor(stack, 'operator');
  // The NL agreement also shares media content (an operator changes it, as in
  // the admin page; a fresh sign-in counts as re-authentication).
  const ag = (await op.get('/api/v1/admin/agreements')).body.items.find((a) => a.lea === 'NL Police');
  const r = await op.req('PATCH', `/api/v1/admin/agreements/${ag.id}`, { media_content: true });
  assert.equal(r.status, 200, r.text);
  nl = await clientFor(stack, 'nl');
  de = await clientFor(stack, 'de');
  hotline = await clientFor(stack, 'hotline');
  interpol = await clientFor(stack, 'interpol');
});
after(async () => { if (stack) await stack.stop(); });

const sha = (alg, b) => createHash(alg).update(b).digest('hex');
// An NL item that was fetched and stored, with its feed file.
function nlStored(extra = '') {
  const row = stack.sql(`SELECT m.id, m.iccam_media_id AS iccam, m.hash_mismatch AS mm FROM media m
    JOIN reports r ON r.id = m.report_id WHERE r.host_country = 'NL' AND m.fetch_state = 'stored' ${extra}
    ORDER BY m.id LIMIT 1`)[0];
  assert.ok(row, 'an NL item with stored content');
  return { ...row, bytes: readFileSync(join(stack.feed, 'media', row.iccam)) };
}
// The raw answer of a GET, bytes and all.
async function raw(client, path) {
  const headers = client.token ? { authorization: 'Bearer ' + client.token } : { cookie: client.cookie };
  const r = await fetch(stack.base + path, { headers });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}
// `cport media hash FILE` as an object.
const mediaHash = (file) => JSON.parse(execFileSync(join(BUILD, 'cport'), ['media', 'hash', file], { encoding: 'utf8' }));

test('the import fetched, hashed, de-duplicated and encrypted the content', () => {
  assert.match(stack.importOut, /media stored (\d+), deduplicated (\d+), failed 0, refused 0, hash mismatches (\d+)/);
  const [, stored, dedup, mism] = /media stored (\d+), deduplicated (\d+), failed 0, refused 0, hash mismatches (\d+)/
    .exec(stack.importOut).map(Number);
  const files = stack.sql('SELECT count(*) AS n, sum(preview) AS p, count(pdq) AS q FROM media_files')[0];
  assert.equal(files.n, stored);
  assert.ok(dedup > 0, 'recurring pictures are stored once');
  assert.ok(mism > 0, 'the feed declares a wrong MD5 for some items');
  assert.equal(files.p, files.n, 'every generated picture has a preview');
  assert.equal(files.q, files.n, 'and a PDQ');
  // The key is outside the database, readable by its owner only.
  assert.equal(statSync(join(stack.dir, 'keys', 'media.key')).mode & 0o777, 0o600);
  // On disk: no file holds plaintext, and no name is a content's SHA-256.
  const one = nlStored();
  const dir = join(stack.dir, 'media');
  const names = readdirSync(dir).flatMap((d) => readdirSync(join(dir, d)).map((f) => join(dir, d, f)));
  assert.equal(names.length, stored);
  const plainSha = sha('sha256', one.bytes);
  assert.ok(!names.some((f) => f.includes(plainSha)), 'names do not reveal the content hash');
  for (const f of names.slice(0, 50)) {
    const b = readFileSync(f);
    assert.ok(!b.includes(one.bytes.subarray(0, 64)), 'no plaintext on disk');
    assert.ok(!b.subarray(16).includes(Buffer.from([0xff, 0xd8, 0xff])) || b.length > 1000);
  }
  // A second import has nothing left to fetch.
  const again = stack.cport(['import', '--feed', 'file://' + stack.feed, '--media']);
  assert.match(again, /media stored 0, deduplicated 0, failed 0, refused 0/);
  assert.match(stack.cport(['media', 'verify']), new RegExp(`media store ok: ${stored} files verified`));
});

test('GET /media/{id}: computed hashes equal the file, mismatches flagged, by scope', async () => {
  const m = nlStored("AND m.hash_mismatch IS NULL AND m.iccam_media_id IN (SELECT iccam_media_id FROM media WHERE mime = 'image/jpeg')");
  let r = await nl.get(`/api/v1/media/${m.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.media_metadata, true);
  assert.equal(r.body.media_content, true);
  const c = r.body.content;
  assert.equal(c.state, 'stored');
  assert.equal(c.type, 'image/jpeg');
  assert.equal(c.bytes, m.bytes.length);
  assert.equal(c.computed.md5, sha('md5', m.bytes));
  assert.equal(c.computed.sha1, sha('sha1', m.bytes));
  assert.equal(c.computed.sha256, sha('sha256', m.bytes));
  assert.equal(c.computed.pdq, mediaHash(join(stack.feed, 'media', m.iccam)).pdq);
  assert.equal(r.body.hashes.sha256, c.computed.sha256, 'the feed declared the real SHA-256');
  assert.deepEqual(c.hash_mismatch, []);
  assert.equal(c.preview, true);
  assert.equal(c.original, true);
  // An item whose feed MD5 is wrong says so, here and in the report.
  const bad = nlStored("AND m.hash_mismatch = 'md5'");
  r = await nl.get(`/api/v1/media/${bad.id}`);
  assert.deepEqual(r.body.content.hash_mismatch, ['md5']);
  assert.notEqual(r.body.hashes.md5, r.body.content.computed.md5);
  const rep = stack.sql(`SELECT report_id FROM media WHERE id = ${bad.id}`)[0].report_id;
  r = await nl.get(`/api/v1/reports/${rep}`);
  const item = r.body.media.find((x) => x.id === bad.id);
  assert.deepEqual(item.content, { state: 'stored', type: item.content.type, hash_mismatch: ['md5'], preview: true, original: true });
  // DE sees neither the NL item nor content anywhere; the hotline sees metadata
  // but no content; INTERPOL likewise (baseline reports only).
  assert.equal((await de.get(`/api/v1/media/${m.id}`)).status, 404);
  const deItem = stack.sql(`SELECT m.id FROM media m JOIN reports r ON r.id = m.report_id
    WHERE r.host_country = 'DE' AND m.fetch_state = 'stored' LIMIT 1`)[0];
  if (deItem) {
    r = await de.get(`/api/v1/media/${deItem.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.hashes, undefined, 'no media metadata under the DE agreement');
    assert.equal(r.body.content.computed, undefined);
    assert.equal(r.body.content.preview, false);
    assert.equal((await raw(de, `/api/v1/media/${deItem.id}/preview`)).status, 404);
    assert.equal((await raw(de, `/api/v1/media/${deItem.id}/content`)).status, 404);
  }
  const hl = stack.sql(`SELECT m.id FROM media m JOIN reports r ON r.id = m.report_id
    WHERE (r.reporting_hotline = 'NL-EOKM' OR r.assessing_hotline = 'NL-EOKM') AND m.fetch_state = 'stored' LIMIT 1`)[0];
  r = await hotline.get(`/api/v1/media/${hl.id}`);
  assert.equal(r.status, 200);
  assert.match(r.body.content.computed.sha256, /^[0-9a-f]{64}$/);
  assert.equal(r.body.content.preview, false);
  assert.equal((await raw(hotline, `/api/v1/media/${hl.id}/preview`)).status, 404);
  assert.equal((await raw(hotline, `/api/v1/media/${hl.id}/content`)).status, 404);
  const ip = stack.sql(`SELECT m.id FROM media m JOIN reports r ON r.id = m.report_id
    WHERE (r.class_bits & 1) AND m.fetch_state = 'stored' LIMIT 1`)[0];
  if (ip) assert.equal((await raw(interpol, `/api/v1/media/${ip.id}/content`)).status, 404);
  assert.equal((await op.get(`/api/v1/media/${m.id}`)).status, 403, 'operators see no report content');
  // Unknown ids and junk are 404; parameters are refused.
  assert.equal((await nl.get('/api/v1/media/99999999')).status, 404);
  assert.equal((await nl.get('/api/v1/media/abc')).status, 404);
  assert.equal((await nl.get(`/api/v1/media/${m.id}?x=1`)).status, 400);
});

test('previews come from nginx, blurred and greyscale, audited', async () => {
  const m = nlStored();
  const r = await raw(nl, `/api/v1/media/${m.id}/preview`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/jpeg');
  assert.equal(r.headers.get('x-accel-redirect'), null, 'nginx does not leak the internal path');
  assert.match(r.headers.get('cache-control'), /no-store/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.deepEqual([...r.bytes.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  assert.ok(r.bytes.length < 20000, `small (${r.bytes.length} bytes)`);
  const file = join(stack.dir, 'preview.jpg');
  writeFileSync(file, r.bytes);
  const p = mediaHash(file);
  assert.equal(p.channels, 1, 'greyscale');
  assert.ok(Math.max(p.width, p.height) <= 192, 'small');
  assert.notEqual(p.sha256, sha('sha256', m.bytes));
  // The internal location is not reachable from outside.
  assert.equal((await fetch(`${stack.base}/protected/previews/`)).status, 404);
  await new Promise((res) => setTimeout(res, 1200)); // reads are audited in batches within a second
  const a = stack.sql(`SELECT count(*) AS n FROM audit WHERE action = 'media.preview' AND object = 'media:${m.id}'`)[0];
  assert.ok(a.n >= 1, 'the preview view is on the audit trail');
});

test('originals: re-authenticated, audited first, an attachment of the sniffed type', async () => {
  const m = nlStored();
  // A session whose proof of password is older than reauth_minutes is refused.
  stack.sql(`UPDATE sessions SET reauth_at = reauth_at - 3600 WHERE user_id = (SELECT id FROM users WHERE email = '${USERS.nl.email}')`);
  let r = await raw(nl, `/api/v1/media/${m.id}/content`);
  assert.equal(r.status, 403);
  assert.equal(JSON.parse(r.bytes).type.split(':').pop(), 'reauth-required');
  assert.equal((await nl.get('/api/v1/me')).body.media.session_viewed, false);
  r = await nl.req('POST', '/api/v1/me/reauth', { password: 'test-password-1' });
  assert.equal(r.status, 200, r.text);
  r = await raw(nl, `/api/v1/media/${m.id}/content`);
  assert.equal(r.status, 200);
  assert.ok(r.bytes.equals(m.bytes), 'the original, byte for byte');
  const type = mediaHash(join(stack.feed, 'media', m.iccam)).type;
  assert.equal(r.headers.get('content-type'), type);
  assert.equal(r.headers.get('content-disposition'), `attachment; filename="${m.iccam}.${type === 'image/png' ? 'png' : 'jpg'}"`);
  assert.match(r.headers.get('cache-control'), /no-store/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(Number(r.headers.get('content-length')), m.bytes.length);
  // Written to the audit trail before the answer, with the file's hash.
  const a = stack.sql(`SELECT detail FROM audit WHERE action = 'media.content' AND object = 'media:${m.id}'`);
  assert.equal(a.length, 1);
  assert.equal(JSON.parse(a[0].detail).sha256, sha('sha256', m.bytes));
  // The session has now seen an original: the portal may apply the preference.
  assert.equal((await nl.get('/api/v1/me')).body.media.session_viewed, true);
  // A script's token needs no re-authentication, and is audited the same.
  const tok = new Client(stack.base);
  tok.token = stack.cport(['token', 'create', '--email', USERS.nl.email, '--name', 'forensics']);
  r = await raw(tok, `/api/v1/media/${m.id}/content`);
  assert.equal(r.status, 200);
  assert.ok(r.bytes.equals(m.bytes));
  assert.equal(stack.sql(`SELECT count(*) AS n FROM audit WHERE action = 'media.content' AND object = 'media:${m.id}'`)[0].n, 2);
});

test('preferences: validated, kept per user, audited', async () => {
  let r = await nl.req('PATCH', '/api/v1/me/preferences', { blur: false });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual({ blur: r.body.media.blur, greyscale: r.body.media.greyscale }, { blur: false, greyscale: true });
  assert.equal((await nl.get('/api/v1/me')).body.media.blur, false);
  for (const body of [{}, { blur: 'no' }, { colour: true }, { greyscale: 1 }]) {
    r = await nl.req('PATCH', '/api/v1/me/preferences', body);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  r = await nl.req('PATCH', '/api/v1/me/preferences', { blur: true, greyscale: true }, { 'x-csrf-token': 'wrong' });
  assert.equal(r.status, 403, 'CSRF checked');
  r = await nl.req('PATCH', '/api/v1/me/preferences', { blur: true });
  assert.equal(r.body.media.blur, true);
  assert.ok(stack.sql("SELECT count(*) AS n FROM audit WHERE action = 'me.preferences'")[0].n >= 2);
});

test('a stored file changed on disk is refused whole, and cport media verify names it', async () => {
  const m = nlStored();
  const hex = sha('sha256', m.bytes);
  const dir = join(stack.dir, 'media');
  // Find the stored file by trying each against the API after a flip would be
  // slow; instead flip a byte in every file of one directory, remembering them.
  const files = readdirSync(dir).flatMap((d) => readdirSync(join(dir, d)).map((f) => join(dir, d, f)));
  const saved = new Map(files.map((f) => [f, readFileSync(f)]));
  try {
    for (const f of files) {
      const b = Buffer.from(saved.get(f));
      b[b.length >> 1] ^= 0x01;
      writeFileSync(f, b);
    }
    const r = await raw(nl, `/api/v1/media/${m.id}/content`);
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.bytes).type.split(':').pop(), 'media-integrity');
    assert.ok(!r.bytes.includes(m.bytes.subarray(0, 32)), 'no byte of the original went out');
    let out = '';
    try { execFileSync(join(BUILD, 'cport'), ['media', 'verify'], { env: { ...process.env, CPORT_DB: stack.db }, stdio: 'pipe' }); } catch (e) { out = String(e.stderr); }
    assert.match(out, new RegExp(`bad: ${hex}: stored content failed its integrity check`));
    assert.match(out, /media store: \d+ of \d+ files failed the check/);
  } finally {
    for (const [f, b] of saved) writeFileSync(f, b);
  }
  assert.equal((await raw(nl, `/api/v1/media/${m.id}/content`)).status, 200, 'restored, served again');
});

// ---- bad inputs through a hand-written feed ----

// CRC-32 of a buffer (PNG chunks).
function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const b of buf) {
    c = (crc ^ b) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
// One PNG chunk.
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
// A PNG that declares 100000 x 100000 pixels and carries a few bytes.
function pngBomb() {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100000, 0); ihdr.writeUInt32BE(100000, 4);
  ihdr[8] = 8; ihdr[9] = 2;
  const idat = deflateSync(Buffer.alloc(100000 * 3 + 1));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
// A report of NL-hosted material with one media item whose content is `ref`.
function report(n, ref, bytes) {
  return {
    iccam_id: `R-2026-9${String(n).padStart(6, '0')}`, updated_at: '2026-11-01T10:00:00Z', reported_at: '2026-11-01T09:00:00Z',
    reporting_hotline: 'NL-EOKM', assessing_hotline: 'NL-EOKM', url: `https://bad-${n}.example.test/p`,
    site_type: 'image_host', hosting: { country: 'NL', ip: '192.0.2.44', asn: 64500, provider: 'Example Hosting B.V.' },
    commercial: false, status: 'assessed',
    timeline: { assessed_at: '2026-11-01T09:30:00Z', forwarded_at: null, lea_notified_at: null, ntd_sent_at: null, removed_at: null },
    media: [{ iccam_media_id: `M-2026-9${String(n).padStart(6, '0')}`, content_url: `https://cdn.bad-${n}.example.test/a.jpg`,
      media_type: 'image', mime: 'image/jpeg', bytes, width: 640, height: 480, duration_s: null,
      hashes: null, classification: null, first_seen_at: '2026-11-01T09:00:00Z', is_new: true, known_to_police: false,
      content: ref }],
  };
}

test('bad inputs end in a recorded error, never a crash; a missing file is retried', async () => {
  const feed = join(stack.dir, 'badfeed');
  mkdirSync(join(feed, 'media'), { recursive: true });
  writeFileSync(join(feed, 'hotlines.json'), JSON.stringify({ hotlines: [] }));
  const jpeg = nlStored("AND m.iccam_media_id IN (SELECT iccam_media_id FROM media WHERE mime = 'image/jpeg')").bytes;
  const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(1 << 20)]);
  const files = {
    'big.jpg': Buffer.concat([big, Buffer.alloc(50 * 1024 * 1024 - big.length, 7)]),
    'trunc.jpg': jpeg.subarray(0, Math.floor(jpeg.length * 0.6)),
    'bomb.png': pngBomb(),
    'page.jpg': Buffer.from('\n  <!DOCTYPE html><html><head><title>x</title></head><body>not an image</body></html>\n'),
  };
  for (const [name, b] of Object.entries(files)) writeFileSync(join(feed, 'media', name), b);
  const refs = ['media/big.jpg', 'media/trunc.jpg', 'media/bomb.png', 'media/page.jpg', 'media/later.jpg'];
  writeFileSync(join(feed, 'reports-0001.json'), JSON.stringify({
    reports: refs.map((ref, i) => report(i + 1, ref, 1000)), next_cursor: null, has_more: false,
  }));
  const state = (n) => stack.sql(`SELECT fetch_state AS s, fetch_attempts AS a, fetch_error AS e, f.decode_error AS d,
    f.preview AS p, f.pdq AS q FROM media m LEFT JOIN media_files f ON f.sha256 = m.file_sha256
    WHERE iccam_media_id = 'M-2026-9${String(n).padStart(6, '0')}'`)[0];
  const out = stack.cport(['import', '--feed', 'file://' + feed, '--media']);
  assert.match(out, /inserted 5.*media stored 2, deduplicated 0, failed 1, refused 2/);
  let s = state(1);
  assert.equal(s.s, 'refused');
  assert.match(s.e, /larger than the 20971520-byte limit/);
  s = state(2);
  assert.equal(s.s, 'stored', 'a truncated JPEG is still evidence');
  assert.match(s.d, /bad JPEG|premature|corrupt/i);
  assert.equal(s.p, 0);
  assert.equal(s.q, null);
  s = state(3);
  assert.equal(s.s, 'stored');
  assert.match(s.d, /100000x100000.*limit/);
  assert.equal(s.p, 0);
  s = state(4);
  assert.equal(s.s, 'refused');
  assert.match(s.e, /text\/html, not an image or a video/);
  s = state(5);
  assert.equal(s.s, 'failed');
  assert.equal(s.a, 1);
  assert.match(s.e, /cannot open media\/later.jpg/);
  // The metadata imported whatever the content did.
  assert.equal(stack.sql("SELECT count(*) AS n FROM reports WHERE iccam_id LIKE 'R-2026-9%'")[0].n, 5);
  // The next run tries the failed item again (and only it); then the file arrives.
  assert.match(stack.cport(['import', '--feed', 'file://' + feed, '--media']), /media stored 0, deduplicated 0, failed 1, refused 0/);
  assert.equal(state(5).a, 2);
  writeFileSync(join(feed, 'media', 'later.jpg'), jpeg);
  assert.match(stack.cport(['import', '--feed', 'file://' + feed, '--media']), /media stored 0, deduplicated 1, failed 0, refused 0/);
  assert.equal(state(5).s, 'stored');
  // The API shows the recorded errors to those who see the items.
  const id = stack.sql("SELECT id FROM media WHERE iccam_media_id = 'M-2026-9000004'")[0].id;
  const r = await nl.get(`/api/v1/media/${id}`);
  assert.equal(r.body.content.state, 'refused');
  assert.match(r.body.content.error, /text\/html/);
  assert.equal(r.body.content.original, false);
  assert.equal((await raw(nl, `/api/v1/media/${id}/content`)).status, 404);
  const bomb = stack.sql("SELECT id FROM media WHERE iccam_media_id = 'M-2026-9000003'")[0].id;
  assert.equal((await raw(nl, `/api/v1/media/${bomb}/preview`)).status, 404, 'no preview of an undecodable file');
  assert.ok(existsSync(join(stack.dir, 'media')));
});

// The members of a ZIP file: name -> bytes (stored or deflated).
function unzip(buf) {
  const out = new Map();
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  let p = buf.readUInt32LE(eocd + 16);
  const n = buf.readUInt16LE(eocd + 10);
  for (let i = 0; i < n; i++) {
    const method = buf.readUInt16LE(p + 10), csize = buf.readUInt32LE(p + 20);
    const nlen = buf.readUInt16LE(p + 28), xlen = buf.readUInt16LE(p + 30), clen = buf.readUInt16LE(p + 32);
    const off = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString();
    const data0 = off + 30 + buf.readUInt16LE(off + 26) + buf.readUInt16LE(off + 28);
    const raw = buf.subarray(data0, data0 + csize);
    out.set(name, method === 8 ? inflateRawSync(raw) : raw);
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

test('a package with media content carries the verified originals', async () => {
  const m = nlStored();
  const rep = stack.sql(`SELECT report_id FROM media WHERE id = ${m.id}`)[0].report_id;
  let r = await nl.req('POST', '/api/v1/packages', { title: 'With media', report_ids: [rep], include_media_content: true });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id;
  assert.match(stack.cport(['jobs', '--once']), /1 job\(s\) run/);
  r = await nl.get(`/api/v1/packages/${id}`);
  assert.equal(r.body.status, 'ready', r.text);
  const dl = await raw(nl, `/api/v1/packages/${id}/download`);
  assert.equal(dl.status, 200);
  const file = join(stack.dir, 'media-pkg.zip');
  writeFileSync(file, dl.bytes);
  const key = (await (await fetch(`${stack.base}/api/v1/keys`)).json()).keys[0].public_key;
  const v = execFileSync(join(BUILD, 'cport'), ['package', 'verify', file, '--key', key], { encoding: 'utf8' });
  assert.match(v, /^ok: package/);
  const members = unzip(dl.bytes);
  const stored = stack.sql(`SELECT m.iccam_media_id AS i, f.type AS t FROM media m JOIN media_files f ON f.sha256 = m.file_sha256
    WHERE m.report_id = ${rep}`);
  const names = [...members.keys()].filter((k) => k.startsWith('media/'));
  assert.equal(names.length, stored.length);
  const mine = names.find((k) => k.startsWith(`media/${m.iccam}.`));
  assert.ok(members.get(mine).equals(m.bytes), 'the original, byte for byte');
  const manifest = JSON.parse(members.get('manifest.json'));
  assert.deepEqual(manifest.media_content, { requested: true, files: stored.length });
});

test('the content of a withdrawn report leaves the store: original, preview and row', () => {
  // A report none of whose stored contents another report shares.
  const rep = stack.sql(`SELECT r.id, r.iccam_id AS iccam FROM reports r
    WHERE EXISTS (SELECT 1 FROM media m WHERE m.report_id = r.id AND m.file_sha256 IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM media m JOIN media o ON o.file_sha256 = m.file_sha256 AND o.report_id <> r.id
                      WHERE m.report_id = r.id)
    ORDER BY r.id DESC LIMIT 1`)[0];
  assert.ok(rep, 'a report with contents of its own');
  const shas = stack.sql(`SELECT DISTINCT hex(file_sha256) AS s FROM media
    WHERE report_id = ${rep.id} AND file_sha256 IS NOT NULL`).map((x) => x.s);
  const withPreview = stack.sql(`SELECT count(*) AS n FROM media_files WHERE preview = 1 AND sha256 IN
    (SELECT file_sha256 FROM media WHERE report_id = ${rep.id})`)[0].n;
  const files = (sub) => {
    const dir = join(stack.dir, sub);
    return readdirSync(dir).flatMap((d) => readdirSync(join(dir, d))).length;
  };
  const before = { media: files('media'), previews: files('previews'), rows: stack.sql('SELECT count(*) AS n FROM media_files')[0].n };
  // The feed withdraws it on a page of its own after the others.
  const pages = readdirSync(stack.feed).filter((n) => /^reports-\d+\.json$/.test(n)).length;
  writeFileSync(join(stack.feed, `reports-${String(pages + 1).padStart(4, '0')}.json`), JSON.stringify({
    reports: [{ iccam_id: rep.iccam, updated_at: '2027-06-01T00:00:00Z', deleted: true }], next_cursor: null, has_more: false,
  }));
  const out = stack.cport(['import', '--feed', 'file://' + stack.feed, '--media']);
  assert.match(out, /deleted 1,/);
  assert.match(out, new RegExp(`removed ${shas.length}\\b`));
  assert.equal(files('media'), before.media - shas.length);
  assert.equal(files('previews'), before.previews - withPreview);
  assert.equal(stack.sql('SELECT count(*) AS n FROM media_files')[0].n, before.rows - shas.length);
  for (const s of shas) assert.equal(stack.sql(`SELECT count(*) AS n FROM media_files WHERE hex(sha256) = '${s}'`)[0].n, 0);
  assert.match(stack.cport(['media', 'verify']), new RegExp(`media store ok: ${before.rows - shas.length} files verified`));
  // Nothing more to remove on the next run.
  assert.match(stack.cport(['import', '--feed', 'file://' + stack.feed, '--media']), /removed 0\b/);
});
