// Fake ICCAM feed server for tests of `cport import` (see /work/shared/ICCAM-FEED.md).
// Serves the page files of a feed directory (as written by lib/feedgen.c, or by hand)
// over HTTP(S) on 127.0.0.1, and can be told at run time to misbehave (5xx, 429,
// 401, slow, malformed / truncated / oversized pages, invalid records) so tests can
// check retries, error handling and quarantine. No npm dependencies (Node 20).
// All data is whatever synthetic feed is in --dir; /media/<id> answers the feed's
// media/<id> file (feedgen --media-files) or else a generated solid-colour PNG.
//
// Usage:
//   node test/fake-iccam.mjs --dir FEED_DIR [--port 0] [--tls-cert F --tls-key K]
//        [--tls-ca CA] [--token TOKEN] [--state-file F] [--mode JSON]
// Prints "listening <port>" on stdout when ready.
//
// Endpoints:
//   GET  /v1/hotlines                  hotlines.json of FEED_DIR
//   GET  /v1/reports[?cursor=C&limit=N] pages reports-0001.json, ... in order; the
//                                      cursor is base64url(page file name); limit ignored
//   GET  /media/<id>                   FEED_DIR/media/<id>, or a small solid-colour PNG
//   POST /_control  {JSON}             merge misbehaviour modes (see MODES below);
//   GET  /_control                     current modes
//   GET  /_stats                       {"requests","by_path","by_status","by_page",
//                                       "bad_records"}
// With --token, /v1/* and /media/* need "Authorization: Bearer TOKEN" (else 401).
// With --tls-ca, clients must present a certificate signed by that CA (mutual TLS).
// With --state-file, modes and stats are loaded from the file at start (if present)
// and rewritten after every request and control change, so a test in another
// process (e.g. C) can read them, and they survive a server restart.
//
// MODES (POST /_control, or --mode at start; keys are merged into the current modes):
//   {"fail_5xx": n, "retry_after": s}  next n /v1/reports requests answer 503
//                                      (with "Retry-After: s" if retry_after set)
//   {"status_429": n, "retry_after": s} next n /v1/reports requests answer 429
//   {"slow_ms": ms}                    delay every /v1 and /media response by ms
//   {"status_401": true}               every /v1 and /media request answers 401
//   {"malformed_page": k}              page k (1-based) answers broken JSON
//   {"truncate_page": k}               page k: Content-Length of the full body, sends
//                                      half of it, then closes the connection
//   {"oversize_page": k, "oversize_bytes": b, "oversize_content_length": bool}
//                                      page k answers a valid-looking body of b bytes
//                                      (default 64 MiB), streamed chunked (or with a
//                                      Content-Length if oversize_content_length)
//   {"drop_page": k, "drop_count": n, "drop_reset": bool}
//                                      page k: chunked (no Content-Length), sends half
//                                      the body, then closes the connection (FIN, or a
//                                      TCP RST with drop_reset); for the next n requests
//                                      of page k (default: every one)
//   {"endless_page": k}                page k: chunked, a page head and then records
//                                      without end, until the client hangs up
//   {"gzip_bomb_page": k}              page k: "Content-Encoding: gzip", a ~256 KB body
//                                      that inflates to 256 MB (a page head, then spaces),
//                                      whatever the request's Accept-Encoding
//   {"bad_records_page": k}            page k: 5 records replaced by invalid ones
//                                      (missing iccam_id, site_type "spaceship",
//                                      country "XX1", md5 "zz", reported_at
//                                      "yesterday"); the rest unchanged. Which ones:
//                                      /_stats "bad_records".
//   {"media_5xx": n, "retry_after": s}  next n /media requests answer 503
//   {"media_404": true}                every /media request answers 404
//   {"media_401": true}                every /media request answers 401 (the feed itself works)
//   {"media_slow": n, "media_slow_ms": ms} the next n /media answers wait ms (default 3000)
//   {"media_drop": true|n}             /media promises its whole body, sends half, cuts
//                                      (always, or for the next n requests)
//   {"media_endless": true}            /media streams 64 KB chunks until the client hangs up
//   {"media_gzip_bomb": true}          /media answers a gzip body inflating to 256 MB
//   {"reset": true}                    back to normal; also clears the stats
//   {"reset_stats": true}              clear the stats only

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// Parse "--name value" command-line flags into an object; exits on unknown flags.
function parseArgs(argv) {
  const known = ['dir', 'port', 'tls-cert', 'tls-key', 'tls-ca', 'token', 'state-file', 'mode'];
  const out = { port: '0' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || !known.includes(a.slice(2)) || i + 1 >= argv.length) {
      process.stderr.write(`fake-iccam: bad argument ${a}\n`);
      process.exit(2);
    }
    out[a.slice(2)] = argv[++i];
  }
  if (!out.dir) {
    process.stderr.write('fake-iccam: --dir FEED_DIR is required\n');
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const FEED_DIR = path.resolve(args.dir);
const TOKEN = args.token ?? null;
const STATE_FILE = args['state-file'] ? path.resolve(args['state-file']) : null;

// Fresh, empty request counters.
function emptyStats() {
  return { requests: 0, by_path: {}, by_status: {}, by_page: {}, bad_records: [] };
}

let modes = {};
let stats = emptyStats();

// Load modes and stats persisted by an earlier run (--state-file), if any.
function loadState() {
  if (!STATE_FILE || !fs.existsSync(STATE_FILE)) return;
  try {
    const s = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
    modes = s.modes ?? {};
    stats = { ...emptyStats(), ...(s.stats ?? {}) };
  } catch {
    // a broken state file is ignored: start clean
  }
}

// Persist modes and stats (atomic rename) when --state-file is set.
function saveState() {
  if (!STATE_FILE) return;
  const tmp = `${STATE_FILE}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ modes, stats }) + '\n');
  fs.renameSync(tmp, STATE_FILE);
}

// Apply a control object: reset first if asked, then merge the other keys.
function applyControl(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error('control body must be a JSON object');
  }
  if (obj.reset) {
    modes = {};
    stats = emptyStats();
  }
  if (obj.reset_stats) stats = emptyStats();
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'reset' || k === 'reset_stats') continue;
    if (v === null || v === false || v === 0) delete modes[k];
    else modes[k] = v;
  }
  saveState();
}

loadState();
if (args.mode) applyControl(JSON.parse(args.mode));

// base64url encoding of a page file name: the opaque cursor.
const toCursor = (name) => Buffer.from(name, 'utf8').toString('base64url');
const fromCursor = (c) => Buffer.from(c, 'base64url').toString('utf8');

// Page file names of the feed directory in page order (read on every request so a
// test may change the directory while the server runs).
function pageFiles() {
  return fs
    .readdirSync(FEED_DIR)
    .filter((n) => /^reports-\d+\.json$/.test(n))
    .sort((a, b) => parseInt(a.slice(8), 10) - parseInt(b.slice(8), 10));
}

// CRC-32 (for PNG chunks); zlib.crc32 is not in every Node 20.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
// CRC-32 of a buffer, as PNG chunks need it.
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A benign 16x16 solid-colour RGB PNG; the colour is derived from the media id.
function solidPng(id) {
  let h = 2166136261;
  for (const ch of id) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const rgb = [h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff];
  const w = 16;
  const raw = Buffer.alloc((w * 3 + 1) * w);
  for (let y = 0; y < w; y++) {
    const row = y * (w * 3 + 1); // filter byte 0 then pixels
    for (let x = 0; x < w; x++) raw.set(rgb, row + 1 + x * 3);
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(w, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Send a JSON (or raw string/buffer) body with a status and extra headers.
function send(res, status, body, headers = {}) {
  const buf = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body) + '\n');
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': buf.length,
    ...headers,
  });
  res.end(buf);
}

// Replace 5 valid records of a page by invalid ones, spread over the page.
function breakRecords(reports) {
  const full = reports.map((r, i) => [r, i]).filter(([r]) => !r.deleted && r.hosting && r.media);
  const kinds = ['missing iccam_id', 'bad site_type', 'bad country', 'bad md5', 'bad date'];
  const broken = [];
  kinds.forEach((kind, j) => {
    if (full.length === 0) return;
    const [orig, idx] = full[Math.floor((j * full.length) / kinds.length)];
    if (broken.some((b) => b.index === idx)) return; // fewer records than kinds
    const r = structuredClone(orig);
    if (kind === 'missing iccam_id') delete r.iccam_id;
    if (kind === 'bad site_type') r.site_type = 'spaceship';
    if (kind === 'bad country') r.hosting.country = 'XX1';
    if (kind === 'bad md5' && r.media[0]?.hashes) r.media[0].hashes.md5 = 'zz';
    if (kind === 'bad date') r.reported_at = 'yesterday';
    reports[idx] = r;
    broken.push({ index: idx, iccam_id: orig.iccam_id, reason: kind });
  });
  return broken;
}

// Stream a syntactically valid page of exactly `size` bytes, with backpressure.
function sendOversize(res, size, withLength) {
  const head = '{"reports":[';
  const tail = '],"next_cursor":null,"has_more":false}\n';
  const rec = JSON.stringify({
    iccam_id: 'R-2026-9999999',
    updated_at: '2026-01-01T00:00:00Z',
    deleted: true,
  });
  const headers = { 'Content-Type': 'application/json' };
  if (withLength) headers['Content-Length'] = size;
  res.writeHead(200, headers);
  // body = head + filler records (comma separated) + padding spaces + tail
  let left = Math.max(size, head.length + tail.length) - head.length - tail.length;
  res.write(head);
  const unit = rec + ',';
  // ",rec,rec,...,rec": about 64 KiB of further records, built once
  const block = Buffer.from(',' + unit.repeat(Math.ceil(65536 / unit.length)).slice(0, -1));
  const one = Buffer.from(',' + rec);
  let first = true;
  const pump = () => {
    while (left > 0) {
      let chunk;
      if (first && left >= rec.length) {
        chunk = Buffer.from(rec); // the first record has no leading comma
        first = false;
      } else if (!first && left >= block.length) {
        chunk = block;
      } else if (!first && left >= one.length) {
        chunk = one;
      } else {
        chunk = Buffer.alloc(left, 0x20); // whitespace is valid JSON padding
      }
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(tail);
  };
  res.on('close', () => {
    left = 0;
  });
  pump();
}

// Stream a page that never ends (chunked): its head, then records until the
// client hangs up.
function sendEndless(res) {
  const rec = JSON.stringify({ iccam_id: 'R-2026-9999998', updated_at: '2026-01-01T00:00:00Z', deleted: true });
  const block = Buffer.from((rec + ',').repeat(Math.ceil(65536 / (rec.length + 1))));
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let open = true;
  res.on('close', () => {
    open = false;
  });
  res.write('{"reports":[');
  const pump = () => {
    while (open) {
      if (!res.write(block)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}
let pageBomb = null;

// GET /v1/reports: the page named by the cursor, with misbehaviour applied.
function handleReports(req, res, url) {
  const files = pageFiles();
  const cursor = url.searchParams.get('cursor');
  let idx = 0;
  if (cursor !== null && cursor !== '') {
    idx = files.indexOf(fromCursor(cursor));
    if (idx < 0) return send(res, 400, { error: 'unknown cursor' });
  }
  if (files.length === 0) return send(res, 404, { error: 'no pages in feed dir' });
  const pageNo = idx + 1;
  stats.by_page[pageNo] = (stats.by_page[pageNo] ?? 0) + 1;

  const retryHdr = modes.retry_after ? { 'Retry-After': String(modes.retry_after) } : {};
  if (modes.fail_5xx > 0) {
    modes.fail_5xx--;
    if (modes.fail_5xx === 0) delete modes.fail_5xx;
    return send(res, 503, { error: 'service unavailable (fake)' }, retryHdr);
  }
  if (modes.status_429 > 0) {
    modes.status_429--;
    if (modes.status_429 === 0) delete modes.status_429;
    return send(res, 429, { error: 'too many requests (fake)' }, retryHdr);
  }
  if (modes.oversize_page === pageNo) {
    const size = Number(modes.oversize_bytes ?? 64 * 1024 * 1024);
    return sendOversize(res, size, !!modes.oversize_content_length);
  }
  if (modes.endless_page === pageNo) return sendEndless(res);
  if (modes.gzip_bomb_page === pageNo) {
    pageBomb ??= zlib.gzipSync(
      Buffer.concat([Buffer.from('{"reports":['), Buffer.alloc(256 * 1024 * 1024 - 12, 0x20)]),
      { level: 9 },
    );
    return send(res, 200, pageBomb, { 'Content-Encoding': 'gzip' });
  }

  const text = fs.readFileSync(path.join(FEED_DIR, files[idx]), 'utf8');
  let body;
  try {
    const page = JSON.parse(text);
    const last = idx === files.length - 1;
    page.next_cursor = last ? null : toCursor(files[idx + 1]);
    page.has_more = !last;
    if (modes.bad_records_page === pageNo && Array.isArray(page.reports)) {
      stats.bad_records = breakRecords(page.reports);
    }
    body = JSON.stringify(page) + '\n';
  } catch {
    body = text; // a page file that is itself broken is served as it is
  }

  if (modes.malformed_page === pageNo) {
    body = body.slice(0, Math.floor(body.length / 2)) + ',"oops": }';
    return send(res, 200, body);
  }
  if (modes.drop_page === pageNo) {
    const reset = !!modes.drop_reset;
    if (typeof modes.drop_count === 'number' && --modes.drop_count <= 0) {
      delete modes.drop_page;
      delete modes.drop_count;
      delete modes.drop_reset;
    }
    const buf = Buffer.from(body);
    res.writeHead(200, { 'Content-Type': 'application/json' }); // chunked
    res.write(buf.subarray(0, Math.floor(buf.length / 2)), () => {
      if (reset) res.socket?.resetAndDestroy();
      else res.socket?.destroy();
    });
    return;
  }
  if (modes.truncate_page === pageNo) {
    const buf = Buffer.from(body);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': buf.length });
    res.write(buf.subarray(0, Math.floor(buf.length / 2)), () => res.socket?.destroy());
    return;
  }
  return send(res, 200, body);
}

// Read a request body (small: control messages only).
function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > 1 << 20) reject(new Error('body too large'));
      else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

// Promise that resolves after ms milliseconds (for slow_ms).
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Route one request.
async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const p = url.pathname;

  if (p === '/_control') {
    if (req.method === 'GET') return send(res, 200, modes);
    if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
    try {
      applyControl(JSON.parse(await readBody(req)));
    } catch (e) {
      return send(res, 400, { error: String(e.message) });
    }
    return send(res, 200, modes);
  }
  if (p === '/_stats') return send(res, 200, stats);

  stats.requests++;
  const key = p.startsWith('/media/') ? '/media' : p;
  stats.by_path[key] = (stats.by_path[key] ?? 0) + 1;
  res.on('close', () => { // 'close' also fires for connections cut on purpose
    stats.by_status[res.statusCode] = (stats.by_status[res.statusCode] ?? 0) + 1;
    saveState();
  });

  if (modes.slow_ms > 0) await sleep(Number(modes.slow_ms));
  const isApi = p.startsWith('/v1/') || p.startsWith('/media/');
  if (isApi && (modes.status_401 || (TOKEN && req.headers.authorization !== `Bearer ${TOKEN}`))) {
    return send(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer' });
  }
  if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
  if (p === '/v1/hotlines') {
    const f = path.join(FEED_DIR, 'hotlines.json');
    if (!fs.existsSync(f)) return send(res, 404, { error: 'no hotlines.json' });
    return send(res, 200, fs.readFileSync(f));
  }
  if (p === '/v1/reports') return handleReports(req, res, url);
  const m = /^\/media\/([A-Za-z0-9._-]{1,64})$/.exec(p);
  if (m) return handleMedia(res, m[1]);
  return send(res, 404, { error: 'not found' });
}

// A media content: FEED_DIR/media/<id> when the feed has that file, else a
// solid-colour PNG; misbehaving as the media_* modes say.
async function handleMedia(res, id) {
  if (modes.media_5xx > 0) {
    modes.media_5xx--;
    return send(res, 503, { error: 'unavailable' }, modes.retry_after ? { 'Retry-After': String(modes.retry_after) } : {});
  }
  if (modes.media_404) return send(res, 404, { error: 'no such media' });
  if (modes.media_401) return send(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer' });
  if (modes.media_slow > 0) {
    // The next n answers come too late for any sane timeout.
    modes.media_slow--;
    await sleep(Number(modes.media_slow_ms || 3000));
  }
  const f = path.join(FEED_DIR, 'media', id);
  const body = fs.existsSync(f) ? fs.readFileSync(f) : solidPng(id);
  if (modes.media_drop) {
    // Promise the whole body, send half, cut the connection (n times, or always for true).
    if (typeof modes.media_drop === 'number') modes.media_drop -= 1;
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': body.length });
    res.write(body.subarray(0, body.length >> 1));
    await sleep(50);
    return res.destroy();
  }
  if (modes.media_endless) {
    // Chunked and never ending, until the client hangs up.
    res.writeHead(200, { 'Content-Type': 'image/jpeg' });
    const chunk = Buffer.alloc(64 * 1024, 0xab);
    let open = true;
    res.on('close', () => { open = false; });
    while (open) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    return undefined;
  }
  if (modes.media_gzip_bomb) {
    // A small gzip body that inflates to 256 MB, labelled as gzip encoding.
    gzipBomb ??= zlib.gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 });
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Encoding': 'gzip', 'Content-Length': gzipBomb.length });
    return res.end(gzipBomb);
  }
  const type = body[0] === 0x89 ? 'image/png' : body[0] === 0xff ? 'image/jpeg' : 'application/octet-stream';
  return send(res, 200, body, { 'Content-Type': type });
}
let gzipBomb = null;

// Request handler wrapper: any exception becomes a 500.
function onRequest(req, res) {
  handle(req, res).catch((e) => {
    if (!res.headersSent) send(res, 500, { error: String(e?.message ?? e) });
    else res.destroy();
  });
}

let server;
if (args['tls-cert'] || args['tls-key']) {
  const opts = { cert: fs.readFileSync(args['tls-cert']), key: fs.readFileSync(args['tls-key']) };
  if (args['tls-ca']) {
    opts.ca = fs.readFileSync(args['tls-ca']);
    opts.requestCert = true;
    opts.rejectUnauthorized = true;
  }
  server = https.createServer(opts, onRequest);
} else {
  server = http.createServer(onRequest);
}

server.listen(Number(args.port), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

// Exit cleanly on SIGTERM/SIGINT so a test can stop the server.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
