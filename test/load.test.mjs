// load.test.mjs - cport under load, all at once on one stack of 8 workers: readers
// hammer the API through nginx and TLS (wrk, a signed-in cookie session, report
// details of random ids in scope and a mix of searches and facets), `cport import`
// runs again and again over a second generated feed, and `cport jobs --once` builds
// a package of thousands of reports composed through the API. Then it holds that:
//   - no 5xx but 503, and every 503 is problem+json with Retry-After;
//   - no SQLITE_BUSY (or any other failure) surfaced as a 500 in cport-fcgi's log;
//   - the WAL file stays under WAL_LIMIT and is checkpointed (truncated, restarted);
//   - every worker lives through it and its RSS ends where it started (after a
//     warm-up under the same load) within RSS_GROWTH;
//   - the imports and the package are complete and correct afterwards.
// 8 s of warm-up and 15 s of measured load (about 30 s in all). scripts/bench-load
// runs the same file for 60 s with 64 connections and tables its figures
// (CPORT_LOAD_* below).
//
// Run: node --test test/load.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { openSync, readSync, closeSync, statSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, clientFor, BUILD } from './lib/stack.mjs';

const SECONDS = Number(process.env.CPORT_LOAD_SECONDS || 15);
const CONNECTIONS = Number(process.env.CPORT_LOAD_CONNECTIONS || 32);
const REPORTS = Number(process.env.CPORT_LOAD_REPORTS || 20000);
const RESULTS = process.env.CPORT_LOAD_RESULTS || ''; // a JSON file of the figures, for scripts/bench-load
const WORKERS = 8;
const WARMUP_SECONDS = 8;

// The WAL's bound. While `cport import` runs, it checkpoints the WAL completely
// and truncates it each time it holds IMPORT_AUTOCHECKPOINT = 10,000 pages
// (lib/importer.c): 10,000 frames of 4,096 + 24 bytes = 41.2 MB. The commit that
// crosses that mark is one import transaction (IMPORT_FILE_BATCH = 8 feed pages,
// 4,000 reports: about 13 MB of WAL here), and the workers' small commits (audit
// batches) go on while the checkpoint waits for readers: 41.2 + 13 MB and a margin
// for those, 64 MB. (Before the importer checkpointed completely this test saw the
// WAL grow to 124 MB and never restart: SQLite's PASSIVE checkpoint never completes
// while readers keep reading.)
const WAL_LIMIT = 64 * 1024 * 1024;
// A worker's RSS may move by this much from the start of the measured window to
// its end. The warm-up runs under the same load, so the worker's 8 MB page cache
// (cache_size in lib/db.c), emptied by every commit of another connection and
// filled again, is at its usual size at both ends; what remains is allocator
// noise (the heap is trimmed every 256 requests, so each end takes its highest
// sample of RSS_WINDOW seconds). A leak of a few kB a request - a response buffer
// or a cJSON tree never freed - over the 500 or more requests each worker serves
// crosses it; smaller leaks are the ASan build's (scripts/test).
const RSS_GROWTH = 2 * 1024 * 1024;
const RSS_WINDOW = 3;

// wrk's script: one cookie session; each request a path picked at random from
// LOAD_PATHS (details of ids in scope and searches, weighted by repetition).
// done() prints one JSON line with the status counts, how many 503s lacked
// problem+json or Retry-After, and the latency percentiles.
const WRK_LUA = String.raw`
local cookie = os.getenv("LOAD_COOKIE")
local paths = {}
for line in io.lines(os.getenv("LOAD_PATHS")) do paths[#paths + 1] = line end
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args)
  math.randomseed(os.time() * 1000 + tid)
  wrk.headers["Cookie"] = cookie
  counts = {}
  bad503 = 0
end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 503 then
    local ct, ra = "", nil
    for k, v in pairs(headers) do
      local l = string.lower(k)
      if l == "content-type" then ct = v elseif l == "retry-after" then ra = v end
    end
    if not (string.find(ct, "application/problem+json", 1, true) == 1 and ra and body and string.find(body, '"status":503', 1, true)) then
      bad503 = bad503 + 1
    end
  end
end
function done(summary, latency, requests)
  local all, bad = {}, 0
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("counts")) do all[s] = (all[s] or 0) + n end
    bad = bad + t:get("bad503")
  end
  local parts = {}
  for s, n in pairs(all) do parts[#parts + 1] = string.format('"%d":%d', s, n) end
  io.write(string.format('LOADJSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"status":{%s},"bad503":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, table.concat(parts, ","), bad, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
`;

let stack;
const fig = {}; // every figure of the run, for the assertions and scripts/bench-load

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Run a program; resolves {code, out, err, ms}.
function run(cmd, args, env = {}) {
  const t0 = Date.now();
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 24 }, (e, out, err) =>
      res({ code: e ? (e.code ?? 1) : 0, out: String(out), err: String(err), ms: Date.now() - t0 }));
  });
}

// The cport-fcgi workers: the master's children.
function workerPids() {
  const master = stack.fcgi.pid;
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try { return Number(readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]) === master; } catch { return false; }
  }).map(Number).sort((a, b) => a - b);
}

// VmRSS of a process in bytes.
const rss = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

// The WAL file's size and its header's salt-1 (SQLite increments it each time a
// writer restarts the WAL from its start after a complete checkpoint).
function walSample(db) {
  const wal = db + '-wal';
  try {
    const size = statSync(wal).size;
    const fd = openSync(wal, 'r');
    const h = Buffer.alloc(32);
    const n = readSync(fd, h, 0, 32, 0);
    closeSync(fd);
    return { size, salt: n === 32 ? h.readUInt32BE(16) : null };
  } catch { return { size: 0, salt: null }; }
}

// Lines of cport-fcgi's log that tell of a failure: a 5xx answer (every one is
// logged with its status), an internal error, SQLITE_BUSY or a failed statement,
// a stream cut short, a worker that died.
const logErrors = (log) => log.split('\n').filter((l) =>
  / 5\d\d [\d.]+ms | error (GET|POST|PUT|PATCH|DELETE|HEAD) |database is locked|SQLITE_BUSY|prepare failed|ended early|worker \d+ ended/i.test(l));

// How often the WAL started over: its salt-1 changed between two samples that
// had a header (a truncated WAL has none until the next write).
function restarts(samples) {
  let n = 0, last = null;
  for (const w of samples) {
    if (w.salt === null) continue;
    if (last !== null && w.salt !== last) n++;
    last = w.salt;
  }
  return n;
}

// wrk for s seconds with the stack's paths; resolves its LOADJSON figures.
async function wrk(seconds, connections, cookie, paths, lua) {
  const r = await run('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', lua, stack.base],
    { LOAD_COOKIE: cookie, LOAD_PATHS: paths });
  const m = /LOADJSON (\{.*\})/.exec(r.out);
  assert.ok(m, `wrk gave no figures: ${r.out} ${r.err}`);
  return JSON.parse(m[1]);
}

before(async () => {
  stack = await startStack({ workers: WORKERS, reports: REPORTS });
  const nl = await clientFor(stack, 'nl');
  // Paths the readers pick from: 60% details of ids the NL officer may see, 40%
  // searches and facets (full text, filters, sorts, paging limits).
  const ids = stack.sql(`SELECT id FROM reports WHERE host_country = 'NL' ORDER BY random() LIMIT 2000`).map((r) => r.id);
  const words = stack.sql(`SELECT domain FROM reports WHERE host_country = 'NL' ORDER BY random() LIMIT 20`)
    .map((r) => r.domain.split('.')[0].replace(/[^a-z]/g, '').slice(0, 5)).filter((w) => w.length >= 3);
  const searches = [
    '/api/v1/reports?limit=50', '/api/v1/reports?hosting_country=NL&sort=-reported_at&limit=50',
    '/api/v1/reports?status=ntd_sent,closed&site_type=image_host,forum&limit=20', '/api/v1/reports?sort=domain&limit=100',
    '/api/v1/reports?from=2025-11-01&to=2026-03-31&sort=updated_at&limit=25', '/api/v1/stats',
    '/api/v1/stats?media_type=image', '/api/v1/reports?sort=domain&limit=500', '/api/v1/reports?sort=-updated_at&limit=500',
    ...words.map((w) => `/api/v1/reports?q=${w}&limit=50`),
  ];
  const paths = [];
  for (let i = 0; i < 1000; i++) {
    for (let k = 0; k < 3; k++) paths.push(`/api/v1/reports/${ids[(3 * i + k) % ids.length]}`);
    for (let k = 0; k < 2; k++) paths.push(searches[(2 * i + k) % searches.length]);
  }
  writeFileSync(join(stack.dir, 'paths.txt'), paths.join('\n') + '\n');
  writeFileSync(join(stack.dir, 'load.lua'), WRK_LUA);
  const lua = join(stack.dir, 'load.lua'), pathsFile = join(stack.dir, 'paths.txt');

  // The second feed, imported in runs of 8 pages (4,000 reports, one transaction)
  // while the readers read; dated 2024 so its iccam ids are new.
  const feed2 = join(stack.dir, 'feed2');
  stack.cport(['feedgen', '--count', String((SECONDS + WARMUP_SECONDS) * 2500), '--seed', '11', '--out', feed2,
    '--start-date', '2024-01-01', '--no-updates']);
  // A package of every NL report (a few thousand), composed through the API.
  const pkg = await nl.req('POST', '/api/v1/packages', { title: 'load test', filter: { hosting_country: 'NL' } });
  assert.equal(pkg.status, 202, pkg.text);
  fig.package_id = pkg.body.id;

  // The load: readers, the import loop and the WAL sampler from here on; a
  // warm-up first, under the same load, so each worker's page cache and prepared
  // statements are full before its RSS is taken as the start; then the measured
  // window, with the package build two seconds into it.
  const count = (where) => stack.sql(`SELECT count(*) AS n FROM reports ${where}`)[0].n;
  const reportsBefore = count(''), nlBefore = count("WHERE host_country = 'NL'");
  let loading = true;
  const wal = [walSample(stack.db)];
  const sampler = setInterval(() => wal.push(walSample(stack.db)), 1000);
  const imports = (async () => {
    const runs = [];
    while (loading) {
      const r = await run(join(BUILD, 'cport'), ['import', '--feed', 'file://' + feed2, '--max-pages', '8'], { CPORT_DB: stack.db });
      const m = /pages (\d+), inserted (\d+)/.exec(r.out);
      runs.push({ code: r.code, ms: r.ms, pages: m ? Number(m[1]) : -1, inserted: m ? Number(m[2]) : -1, err: r.err.trim() });
      if (m && Number(m[1]) === 0) break; // the feed is used up
    }
    return runs;
  })();
  await wrk(WARMUP_SECONDS, CONNECTIONS, nl.cookie, pathsFile, lua);
  fig.pids = workerPids();
  assert.equal(fig.pids.length, WORKERS, 'eight workers');
  // RSS every half second; a worker trims its heap every 256 requests, so one
  // sample may fall just before or just after a trim: each end of the window
  // counts its highest sample of RSS_WINDOW seconds.
  const rssSamples = [];
  const rssSampler = setInterval(() => rssSamples.push({ t: Date.now(), v: fig.pids.map((p) => { try { return rss(p); } catch { return 0; } }) }), 500);
  const build = (async () => {
    await sleep(2000);
    const r = await run(join(BUILD, 'cport'), ['jobs', '--once'], { CPORT_DB: stack.db });
    return { code: r.code, ms: r.ms, out: r.out.trim(), err: r.err.trim() };
  })();
  const t0 = Date.now();
  fig.wrk = await wrk(SECONDS, CONNECTIONS, nl.cookie, pathsFile, lua);
  const t1 = Date.now();
  clearInterval(rssSampler);
  const peak = (from, to) => fig.pids.map((_, i) => Math.max(...rssSamples.filter((x) => x.t >= from && x.t <= to).map((x) => x.v[i])));
  fig.rss_start = peak(0, t0 + RSS_WINDOW * 1000);
  fig.rss_end = peak(t1 - RSS_WINDOW * 1000, t1);
  fig.pids_end = workerPids();
  loading = false;
  [fig.imports, fig.build] = await Promise.all([imports, build]);
  clearInterval(sampler);
  wal.push(walSample(stack.db));
  fig.wal = wal;
  fig.reports_before = reportsBefore;
  fig.reports_after = count('');
  fig.nl = [nlBefore, count("WHERE host_country = 'NL'")];
  fig.package = stack.sql(`SELECT status, report_count, error FROM packages WHERE id = ${fig.package_id}`)[0];
  const imported = fig.imports.filter((r) => r.inserted > 0);
  fig.import_rate = imported.reduce((a, r) => a + r.inserted, 0) / Math.max(1, imported.reduce((a, r) => a + r.ms, 0) / 1000);
  const s = fig.wrk;
  fig.summary = {
    seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, connections: CONNECTIONS, workers: WORKERS, reports: REPORTS,
    rps: s.requests / (s.duration_us / 1e6), p50_ms: s.p50_us / 1000, p99_ms: s.p99_us / 1000,
    requests: s.requests, status: s.status, n503: s.status['503'] || 0,
    wal_max_mb: Math.max(...wal.map((w) => w.size)) / 1048576,
    wal_shrinks: wal.filter((w, i) => i && w.size < wal[i - 1].size).length,
    wal_restarts: restarts(wal),
    rss_start_mb: fig.rss_start.map((b) => b / 1048576), rss_end_mb: fig.rss_end.map((b) => (b ?? 0) / 1048576),
    import_runs: fig.imports.length, import_reports: imported.reduce((a, r) => a + r.inserted, 0),
    import_rate: fig.import_rate, package_reports: fig.package?.report_count, package_s: fig.build.ms / 1000,
    bad503: s.bad503, socket_errors: Object.values(s.errors).reduce((a, b) => a + b, 0),
    log_errors: logErrors(stack.log()).length, busy_retries: (stack.log().match(/database busy/g) || []).length, wal_limit_mb: WAL_LIMIT / 1048576, rss_growth_limit_mb: RSS_GROWTH / 1048576,
  };
  if (RESULTS) writeFileSync(RESULTS, JSON.stringify(fig.summary, null, 1) + '\n');
  console.log('# load: ' + JSON.stringify(fig.summary));
});

after(async () => {
  if (stack) await stack.stop();
});

test('the readers were served: no 5xx but 503, and every 503 is problem+json with Retry-After', () => {
  const s = fig.wrk;
  assert.ok(s.requests >= SECONDS * 10, `only ${s.requests} requests in ${SECONDS} s`);
  const e = s.errors;
  assert.equal(e.connect + e.read + e.write + e.timeout, 0, `socket errors ${JSON.stringify(e)}`);
  for (const [status, n] of Object.entries(s.status)) {
    assert.ok(['200', '503'].includes(status), `${n} answers with status ${status}`);
  }
  assert.equal(s.bad503, 0, `${s.bad503} of the 503s lacked problem+json or Retry-After`);
});

test('no SQLITE_BUSY or other failure surfaced as a 500: the workers logged no error', () => {
  assert.deepEqual(logErrors(stack.log()), []);
});

test(`the WAL stays under ${WAL_LIMIT / 1048576} MB and is checkpointed and restarted during the load`, () => {
  const max = Math.max(...fig.wal.map((w) => w.size));
  assert.ok(max > 0, 'the WAL was sampled');
  assert.ok(max < WAL_LIMIT, `WAL reached ${(max / 1048576).toFixed(1)} MB`);
  const { wal_shrinks: shrinks, wal_restarts: restarted } = fig.summary;
  assert.ok(shrinks + restarted >= 1, `the WAL never shrank nor restarted: ${fig.wal.map((w) => w.size >> 20).join(' ')} MB`);
});

test(`every worker lives through the load and its RSS grows by less than ${RSS_GROWTH / 1048576} MB`, () => {
  assert.deepEqual(fig.pids_end, fig.pids, 'the same eight workers at the end');
  fig.pids.forEach((pid, i) => {
    const d = fig.rss_end[i] - fig.rss_start[i];
    assert.ok(d < RSS_GROWTH, `worker ${pid}: RSS ${fig.rss_start[i] >> 10} kB -> ${fig.rss_end[i] >> 10} kB`);
  });
});

test('the imports ran beside the readers and the package holds every NL report', () => {
  assert.ok(fig.imports.length >= 2, `${fig.imports.length} import runs`);
  for (const r of fig.imports) assert.equal(r.code, 0, `an import run failed: ${r.err}`);
  assert.equal(fig.reports_after - fig.reports_before, fig.imports.reduce((a, r) => a + r.inserted, 0), 'every insert counted');
  assert.ok(fig.reports_after > fig.reports_before, 'the imports added reports');
  assert.equal(fig.build.code, 0, fig.build.err);
  assert.match(fig.build.out, /1 job\(s\) run/);
  assert.equal(fig.package.status, 'ready', fig.package.error);
  // The filter is resolved when the job runs: every NL report of that moment,
  // between the count before the load and the count after it.
  const n = fig.package.report_count;
  assert.ok(n >= fig.nl[0] && n <= fig.nl[1] && n >= 1000, `${n} reports, NL had ${fig.nl.join(' then ')}`);
  assert.match(stack.cport(['check']), /integrity ok\naudit chain ok/);
});
