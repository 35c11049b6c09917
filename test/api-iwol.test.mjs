// api-iwol.test.mjs - IWOL suggestions through nginx + cport-fcgi: domain
// normalisation, criteria and evidence rules, duplicate merging, the
// two-country rule with disputes and replies, evidence scope for verifiers,
// every illegal transition (409), INTERPOL's decisions, delisting, the export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, clientFor, Client, PASSWORD } from './lib/stack.mjs';

let stack, nl, deViewer, deAnalyst, hotline, interpol, fr;
let D, IDN, nlReport, deReport, nlPlain, idnReport;
const CRIT = { real_children: true, under_13: true, severe_abuse: true };

before(async () => {
  stack = await startStack({ reports: 400 });
  stack.cport(['user', 'add', '--org', 'DE Police', '--email', 'de-analyst@police.example', '--role', 'analyst'], PASSWORD + '\n');
  // Synthetic set-up: an NL-hosted baseline report reported by EOKM, and a
  // DE-hosted report moved onto the same domain (so two countries can see it).
  const [a, b] = stack.sql("SELECT id, domain FROM reports WHERE host_country = 'NL' AND class_bits & 1 ORDER BY id LIMIT 2");
  nlReport = a.id; D = a.domain;
  deReport = stack.sql("SELECT id FROM reports WHERE host_country = 'DE' ORDER BY id LIMIT 1")[0].id;
  nlPlain = stack.sql("SELECT id FROM reports WHERE host_country = 'NL' AND NOT class_bits & 1 ORDER BY id LIMIT 1")[0].id;
  idnReport = b.id; IDN = 'xn--bcher-kva.example';
  stack.sql(`UPDATE reports SET reporting_hotline = 'NL-EOKM' WHERE id = ${nlReport};
    UPDATE reports SET domain = '${D}' WHERE id IN (${deReport}, ${nlPlain});
    UPDATE reports SET domain = '${IDN}' WHERE id = ${idnReport};
    UPDATE data_versions SET n = n + 1 WHERE name = 'reports';`);
  nl = await clientFor(stack, 'nl');
  deViewer = await clientFor(stack, 'de');
  hotline = await clientFor(stack, 'hotline');
  interpol = await clientFor(stack, 'interpol');
  fr = await clientFor(stack, 'fr');
  deAnalyst = new Client(stack.base);
  await deAnalyst.signIn('de-analyst@police.example');
});
after(async () => { if (stack) await stack.stop(); });

const suggest = (c, domain, ids, extra = {}) => c.req('POST', '/api/v1/iwol',
  { domain, justification: 'Synthetic: baseline material on this domain.', criteria: CRIT, evidence: { report_ids: ids }, ...extra });

test('domains are normalised; bad input names its field and stores nothing', async () => {
  for (const [input, field] of [['com', 'domain'], ['co.uk', 'domain'], ['', 'domain'], ['http://', 'domain']]) {
    const r = await suggest(nl, input, [nlReport]);
    assert.equal(r.status, 400, input);
    assert.equal(r.body.field, field, input);
  }
  let r = await suggest(nl, D, [nlReport], { criteria: { real_children: true, severe_abuse: true } });
  assert.equal(r.body.field, 'criteria.under_13');
  r = await suggest(nl, D, [nlReport], { criteria: { ...CRIT, severe_abuse: false } });
  assert.equal(r.body.field, 'criteria.severe_abuse');
  r = await suggest(nl, D, [deReport]);
  assert.equal(r.body.field, 'evidence.report_ids', 'DE-hosted evidence is outside the NL scope');
  assert.doesNotMatch(r.body.detail, new RegExp(`\\b${deReport}\\b`));
  r = await suggest(nl, D, [nlPlain]);
  assert.match(r.body.detail, /baseline/);
  r = await suggest(nl, 'other.example', [nlReport]);
  assert.equal(r.body.field, 'evidence.report_ids', 'evidence must be on the domain');
  assert.equal((await deViewer.req('POST', '/api/v1/iwol', {})).status, 403, 'viewers do not suggest');
  assert.equal((await hotline.req('POST', '/api/v1/iwol', {})).status, 403, 'hotlines verify, they do not suggest');
  assert.equal(stack.sql('SELECT count(*) AS n FROM iwol_suggestions')[0].n, 0);
  // IDN, upper case, subdomain, port, path and trailing dot all reduce to the registrable domain.
  r = await suggest(nl, 'https://WWW.Bücher.Example.:8443/a/b?c=1', [idnReport]);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.domain, IDN);
});

test('two countries, disputes answered, INTERPOL decides; every illegal step is 409', async () => {
  let r = await suggest(nl, `https://sub.${D.toUpperCase()}:443/x`, [nlReport]);
  assert.equal(r.status, 201, r.text);
  assert.deepEqual([r.body.domain, r.body.status], [D, 'open']);
  const id = r.body.id, path = `/api/v1/iwol/${id}`;
  // The same domain again merges into the suggestion (200, same id).
  r = await suggest(nl, D, [nlReport]);
  assert.equal(r.status, 200);
  assert.deepEqual([r.body.id, r.body.merged], [id, true]);
  // Who sees it: the suggester, whoever sees the domain in scope, INTERPOL; not FR.
  assert.equal((await fr.get(path)).status, 404);
  assert.ok(!(await fr.get('/api/v1/iwol')).body.items.some((s) => s.id === id));
  assert.equal((await interpol.get(path)).status, 200);
  // Illegal before submission.
  assert.equal((await interpol.req('POST', `${path}/decision`, { decision: 'accept', reason: 'x' })).status, 409);
  assert.equal((await nl.req('POST', `${path}/submit`)).status, 409, 'one country is not enough');
  assert.equal((await nl.req('POST', `${path}/verifications`, { verdict: 'confirm' })).status, 409, 'the suggester counts already');
  // The NL hotline confirms: still one country.
  r = await hotline.req('POST', `${path}/verifications`, { verdict: 'confirm' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.countries_confirming, ['NL']);
  r = await nl.req('POST', `${path}/submit`);
  assert.equal(r.status, 409);
  assert.match(r.body.detail, /two countries/);
  // DE: a viewer may not verify; the analyst sees only DE evidence, and confirms.
  assert.equal((await deViewer.req('POST', `${path}/verifications`, { verdict: 'confirm' })).status, 403);
  const seen = (await deAnalyst.get(path)).body;
  assert.equal(seen.can.verify, true);
  assert.ok(seen.evidence.visible.length >= 0);
  for (const e of seen.evidence.visible) assert.equal(e.host_country, 'DE', 'a verifier sees evidence of its own scope only');
  assert.ok(!seen.evidence.visible.some((e) => e.id === nlReport));
  assert.equal(seen.evidence.reports, 1, 'the summary still counts all evidence');
  r = await deAnalyst.req('POST', `${path}/verifications`, { verdict: 'confirm', note: 'Seen hosted in DE too.' });
  assert.deepEqual(r.body.countries_confirming.sort(), ['DE', 'NL']);
  // A dispute blocks submission until the suggester answers it.
  assert.equal((await hotline.req('POST', `${path}/verifications`, { verdict: 'dispute' })).body.field, 'note');
  r = await hotline.req('POST', `${path}/verifications`, { verdict: 'dispute', note: 'Material looks removed.' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.countries_confirming.sort(), ['DE', 'NL'], 'a dispute replaces the hotline\'s confirmation');
  r = await nl.req('POST', `${path}/submit`);
  assert.equal(r.status, 409);
  assert.match(r.body.detail, /dispute/);
  assert.equal((await deAnalyst.req('POST', `${path}/reply`, { note: 'x' })).status, 403);
  r = await nl.req('POST', `${path}/reply`, { note: 'Still online on 2026-11-27, see report.' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await nl.req('POST', `${path}/reply`, { note: 'again' })).status, 409);
  r = await nl.req('POST', `${path}/submit`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'submitted');
  assert.equal((await nl.req('POST', `${path}/submit`)).status, 409);
  // INTERPOL: not an LEA's decision; delist is for accepted only; accept.
  assert.equal((await nl.req('POST', `${path}/decision`, { decision: 'accept', reason: 'x' })).status, 403);
  assert.equal((await interpol.req('POST', `${path}/decision`, { decision: 'delist', reason: 'x' })).status, 409);
  assert.equal((await interpol.req('POST', `${path}/decision`, { decision: 'accept' })).body.field, 'reason');
  r = await interpol.req('POST', `${path}/decision`, { decision: 'accept', reason: 'Meets the Baseline criteria.' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'accepted');
  for (const d of ['accept', 'reject']) {
    assert.equal((await interpol.req('POST', `${path}/decision`, { decision: d, reason: 'x' })).status, 409, d);
  }
  assert.equal((await deAnalyst.req('POST', `${path}/verifications`, { verdict: 'confirm' })).status, 409);
  // The list exports; a delisting request, then INTERPOL delists.
  let ex = await deViewer.get('/api/v1/iwol/export?format=csv');
  assert.match(ex.text, new RegExp(`^${D.replace(/\./g, '\\.')},`, 'm'));
  assert.match((await deViewer.get('/api/v1/iwol/export?format=text')).text, new RegExp(`^${D.replace(/\./g, '\\.')}$`, 'm'));
  assert.equal((await deViewer.get('/api/v1/iwol/export?format=xml')).body.field, 'format');
  r = await deViewer.req('POST', `${path}/delisting`, { reason: 'Content gone since 2026-11-20.' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.delisting_requested, true);
  assert.equal((await deViewer.req('POST', `${path}/delisting`, { reason: 'again' })).status, 409, 'asked once');
  r = await interpol.req('POST', `${path}/decision`, { decision: 'delist', reason: 'Verified gone.' });
  assert.equal(r.body.status, 'delisted');
  assert.equal((await interpol.req('POST', `${path}/decision`, { decision: 'delist', reason: 'x' })).status, 409);
  assert.equal((await deViewer.req('POST', `${path}/delisting`, { reason: 'x' })).status, 409);
  ex = await deViewer.get('/api/v1/iwol/export?format=text');
  assert.doesNotMatch(ex.text, new RegExp(`^${D.replace(/\./g, '\\.')}$`, 'm'));
  // Every transition is on the audit trail with who and why.
  const trail = stack.sql(`SELECT action FROM audit WHERE object = 'iwol:${id}' ORDER BY id`).map((a) => a.action);
  for (const a of ['iwol.suggest', 'iwol.merge', 'iwol.confirm', 'iwol.dispute', 'iwol.reply', 'iwol.submit', 'iwol.accept',
    'iwol.delisting_request', 'iwol.delist']) assert.ok(trail.includes(a), a);
  const events = (await interpol.get(path)).body.events.map((e) => e.action);
  assert.equal(events[0], 'suggest');
  assert.equal(events[events.length - 1], 'delist');
  // Once delisted, the domain may be suggested afresh.
  r = await suggest(nl, D, [nlReport]);
  assert.equal(r.status, 201);
  assert.notEqual(r.body.id, id);
});

test('a rejected suggestion stays rejected', async () => {
  const r0 = await suggest(nl, IDN, [idnReport]);
  const id = r0.body.id;
  stack.sql(`INSERT INTO iwol_verifications(suggestion_id, org_id, country, user_id, verdict, created_at)
    SELECT ${id}, id, 'DE', 1, 'confirm', 0 FROM orgs WHERE name = 'DE Police'`);
  assert.equal((await nl.req('POST', `/api/v1/iwol/${id}/submit`)).status, 200);
  let r = await interpol.req('POST', `/api/v1/iwol/${id}/decision`, { decision: 'reject', reason: 'Not baseline.' });
  assert.equal(r.body.status, 'rejected');
  assert.equal(r.body.decision_reason, 'Not baseline.');
  for (const [c, p, b] of [[nl, 'submit', undefined], [interpol, 'decision', { decision: 'accept', reason: 'x' }],
    [interpol, 'decision', { decision: 'delist', reason: 'x' }], [nl, 'delisting', { reason: 'x' }]]) {
    assert.equal((await c.req('POST', `/api/v1/iwol/${id}/${p}`, b)).status, 409, p);
  }
  r = await interpol.get('/api/v1/iwol?status=rejected');
  assert.ok(r.body.items.some((s) => s.id === id));
  assert.equal((await interpol.get('/api/v1/iwol?status=nope')).body.field, 'status');
});
