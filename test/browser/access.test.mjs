// Browser test of the access procedure and account pages (node:test + playwright-core +
// Debian chromium against a real stack: nginx + cport-fcgi + SQLite). One person per
// browser context, as in real life:
//   anonymous agency fills request-access.html -> operator marks the demo held -> the
//   hotline's org_admin approves the scope (through the re-authentication dialog) ->
//   INTERPOL endorses -> the operator activates and reads the one-time link -> the officer
//   opens the link, sets a password, enrols TOTP (code computed here from the secret the
//   page shows), stores the recovery codes and lands signed in as the new LEA org_admin;
//   the same link then says it was used.
// A second test runs a stack with mfa_required = 1: sign-in goes to enrolment first, the
// sign-in form asks for the code afterwards and the dialog asks for it too.
// Every step fails on console errors, page errors and CSP violations, except the HTTP
// errors it provokes on purpose; screenshots go to test-artefacts/.
// Run: node --test --test-concurrency=1 test/browser/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startStack, PASSWORD, USERS } from '../lib/stack.mjs';
import { launchBrowser, newActor, signIn, screenshot, totpCode, stepper } from './lib.mjs';

const HOTLINE_ADMIN = 'admin@eokm.example';
const AGENCY = 'Testland Police Online Child Protection Unit';
const OFFICER = 'Olivia Officer';
const OFFICER_EMAIL = 'olivia.officer@testland-police.example';
const OFFICER_PASSWORD = 'a long passphrase for olivia 42';

// Opens the access-requests tab of admin.html and the request with this id.
async function openRequest(page, base, id) {
  const url = `${base}/admin.html#requests/${id}`;
  const same = page.url().startsWith(`${base}/admin.html`);
  await page.goto(url);
  if (same) await page.reload(); // a fragment change alone does not reload the page
  await page.waitForSelector(`[data-testid="request-row"][data-id="${id}"]`);
  await page.waitForSelector('[data-testid="request-detail"]');
  assert.match(await page.textContent('#request-detail-title'), new RegExp(`Request #${id}: ${AGENCY}`));
}

// The status shown in the open request's detail.
function detailStatus(page) {
  return page.getAttribute('[data-testid="request-detail"]', 'data-status');
}

// Makes a user's sessions look as if their last password proof were an hour old, as
// reauth_minutes of idling would (sqlite3 with a busy timeout: the server runs alongside).
function ageReauth(stack, email) {
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', stack.db,
    `UPDATE sessions SET reauth_at = reauth_at - 3600 WHERE user_id = (SELECT id FROM users WHERE email = '${email}')`]);
}

// The links of the header navigation, by test id.
function navLinks(page) {
  return page.$$eval('[data-testid="app-nav"] a', (as) => as.map((a) => a.getAttribute('data-testid')));
}

test('access procedure end to end in the browser', { timeout: 240000 }, async (t) => {
  const stack = await startStack({ reports: 200 });
  t.after(() => stack.stop());
  stack.cport(['user', 'add', '--org', 'EOKM', '--email', HOTLINE_ADMIN, '--role', 'org_admin'], `${PASSWORD}\n`);
  const base = stack.base;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const step = stepper(t, 'access');
  const anon = await newActor(browser, 'anonymous');
  const op = await newActor(browser, 'operator');
  const hotline = await newActor(browser, 'hotline admin');
  const interpol = await newActor(browser, 'interpol');
  const officer = await newActor(browser, 'officer');

  let requestId = 0;
  await step('an agency asks for access on the public form', anon, async () => {
    const { page } = anon;
    await page.goto(`${base}/index.html`);
    await page.click('[data-testid="request-access-link"]');
    await page.waitForURL(/\/request-access\.html$/);
    // Client-side hints match the server's rules before anything is sent.
    await page.click('[data-testid="request-submit"]');
    assert.match(await page.textContent('#agency-error'), /agency/i);
    assert.match(await page.textContent('#justification-error'), /20 characters/);
    assert.equal(await page.getAttribute('[data-testid="request-agency"]', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'agency', 'focus on the first bad field');
    await page.fill('[data-testid="request-agency"]', AGENCY);
    await page.selectOption('[data-testid="request-country"]', 'NL');
    await page.fill('[data-testid="request-officer"]', OFFICER);
    await page.fill('[data-testid="request-email"]', OFFICER_EMAIL);
    await page.fill('[data-testid="request-phone"]', 'call me');
    await page.fill('[data-testid="request-justification"]', 'Too short.');
    await page.click('[data-testid="request-submit"]');
    assert.match(await page.textContent('#phone-error'), /digits/);
    assert.equal(await page.textContent('#agency-error'), '', 'fixed fields lose their message');
    await page.fill('[data-testid="request-phone"]', '+31 70 000 0000');
    await page.fill('[data-testid="request-justification"]',
      'Our unit investigates online child sexual abuse in Testland and needs the reports hosted here.');
    await page.click('[data-testid="request-submit"]');
    await page.waitForSelector('[data-testid="request-success"]:visible');
    requestId = Number((await page.textContent('[data-testid="request-id"]')).replace('#', ''));
    assert.ok(requestId > 0, 'a request number is shown');
    await screenshot(page, 'request-access');
  });

  await step('the operator lands on admin and marks the demo held', op, async () => {
    const { page } = op;
    await signIn(page, base, USERS.operator.email, PASSWORD, /\/admin\.html/);
    assert.deepEqual(await navLinks(page), ['nav-dashboard', 'nav-admin', 'nav-account'], 'no Reports link for operators');
    await page.waitForSelector('[data-testid="tab-imports"]');
    await openRequest(page, base, requestId);
    assert.equal(await detailStatus(page), 'requested');
    await page.fill('[data-testid="demo-note"]', 'Demo held by video call.');
    await page.click('[data-testid="action-demo-submit"]');
    await page.waitForSelector('[data-testid="request-detail"][data-status="demo_held"]');
    assert.match(await page.textContent('[data-testid="request-timeline"]'), /Demo held by op@cport\.example[\s\S]*Demo held by video call\./);
    assert.equal(await page.locator('[data-testid="action-approve"]').count(), 0, 'the operator does not approve');
    await screenshot(page, 'admin-request-demo');
  });

  await step('the hotline admin approves, confirming the password in the dialog', hotline, async () => {
    const { page } = hotline;
    await signIn(page, base, HOTLINE_ADMIN, PASSWORD, /\/reports\.html/);
    assert.deepEqual(await navLinks(page), ['nav-reports', 'nav-packages', 'nav-hashlists', 'nav-match', 'nav-dashboard', 'nav-iwol', 'nav-admin', 'nav-account']);
    await page.click('[data-testid="nav-admin"]');
    await page.waitForURL(/\/admin\.html/);
    await openRequest(page, base, requestId);
    assert.equal(await page.inputValue('[data-testid="approve-jurisdiction"]'), 'NL', 'jurisdiction defaults to the request country');
    await page.check('[data-testid="approve-media_metadata"]');
    // A fresh sign-in counts as re-authenticated for reauth_minutes (5), so the dialog would
    // not appear yet. Age the session's proof in the database, exactly as five idle minutes
    // would, so the server really answers 403 reauth-required and the real dialog runs.
    ageReauth(stack, HOTLINE_ADMIN);
    hotline.allowed.push([403, /\/access-requests\/\d+\/approve$/], [401, /\/me\/reauth$/]);
    // Cancelling (Escape) leaves the request as it was and says why.
    await page.click('[data-testid="action-approve-submit"]');
    await page.waitForSelector('[data-testid="reauth-dialog"][open]');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'reauth-password', 'focus in the dialog');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="reauth-dialog"][open]', { state: 'detached' });
    assert.match(await page.textContent('[data-testid="action-approve"] [data-testid="form-error"]'), /confirm your password/);
    assert.equal(await detailStatus(page), 'demo_held');
    // Again: a wrong password is explained in the dialog, the right one completes the step.
    await page.click('[data-testid="action-approve-submit"]');
    await page.waitForSelector('[data-testid="reauth-dialog"][open]');
    await page.fill('[data-testid="reauth-password"]', 'not-the-password');
    await page.click('[data-testid="reauth-submit"]');
    await page.waitForSelector('[data-testid="reauth-error"]:visible');
    assert.match(await page.textContent('[data-testid="reauth-error"]'), /wrong/);
    await screenshot(page, 'reauth-dialog');
    await page.fill('[data-testid="reauth-password"]', PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="request-detail"][data-status="hotline_approved"]');
    assert.equal(await page.locator('[data-testid="reauth-dialog"][open]').count(), 0, 'dialog closed');
    const approval = await page.textContent('[data-testid="request-approval"]');
    assert.match(approval, /HotlineNL-EOKM/);
    assert.match(approval, /JurisdictionNL/);
    assert.match(approval, /Media metadatayes/);
    assert.match(approval, /Media contentno/);
    await screenshot(page, 'admin-request-approved');
  });

  await step('INTERPOL endorses', interpol, async () => {
    const { page } = interpol;
    await signIn(page, base, USERS.interpol.email, PASSWORD, /\/reports\.html/);
    await page.click('[data-testid="nav-admin"]');
    await page.waitForURL(/\/admin\.html/);
    assert.equal(await page.locator('[data-testid="tab-users"]').count(), 0, 'an analyst administers no users');
    await openRequest(page, base, requestId);
    await page.click('[data-testid="action-endorse-submit"]');
    await page.waitForSelector('[data-testid="request-detail"][data-status="interpol_endorsed"]');
  });

  let link = '';
  await step('the operator activates and reads the one-time link', op, async () => {
    const { page } = op;
    await openRequest(page, base, requestId);
    assert.equal(await page.inputValue('[data-testid="activate-org-name"]'), AGENCY);
    await page.click('[data-testid="action-activate-submit"]');
    await page.waitForSelector('[data-testid="activation-result"]');
    await page.waitForSelector('[data-testid="request-detail"][data-status="active"]');
    assert.match(await page.textContent('[data-testid="enrolment-url-box"]'), /shown once/);
    link = (await page.textContent('[data-testid="enrolment-url"]')).trim();
    assert.match(link, /\/enrol\.html#[A-Za-z0-9_-]{40,}$/);
    await screenshot(page, 'admin-request-activated');
  });

  await step('the hotline admin changes the new agreement and manages users', hotline, async () => {
    const { page } = hotline;
    await page.goto(`${base}/admin.html#agreements`);
    const row = page.locator(`[data-testid="agreement-row"][data-lea="${AGENCY}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /NL-EOKMNLyesnono/);
    await row.locator('[data-testid="agreement-edit"]').click();
    await page.waitForSelector('[data-testid="agreement-edit-form"]');
    assert.equal(await page.inputValue('[data-testid="edit-jurisdiction"]'), 'NL');
    // A bad country code is explained beside the field before anything is sent.
    await page.fill('[data-testid="edit-jurisdiction"]', 'NL, XX');
    await page.click('[data-testid="agreement-save"]');
    assert.match(await page.textContent('[data-testid="agreement-edit-form"] .field-error:not(:empty)'), /XX/);
    await page.fill('[data-testid="edit-jurisdiction"]', 'NL');
    await page.check('[data-testid="edit-include_reported_from"]');
    await page.click('[data-testid="agreement-save"]');
    await page.waitForSelector('[data-testid="agreement-edit-form"]', { state: 'detached' });
    assert.match(await page.textContent('[data-testid="agreements-status"]'), /changed/);
    assert.match(await row.textContent(), /NL-EOKMNLyesnoyes/);
    // "End now" asks first, then the agreement is no longer in force.
    const nlPolice = page.locator('[data-testid="agreement-row"][data-lea="NL Police"]');
    page.once('dialog', (d) => d.accept());
    await nlPolice.locator('[data-testid="agreement-end"]').click();
    await page.waitForFunction(() => /not in force/.test(document.querySelector('[data-testid="agreement-row"][data-lea="NL Police"]').textContent));
    assert.equal(await nlPolice.locator('[data-testid="agreement-end"]').count(), 0);
    await screenshot(page, 'admin-agreements');

    await page.click('[data-testid="tab-users"]');
    await page.waitForSelector(`[data-testid="user-row"][data-email="${HOTLINE_ADMIN}"]`);
    assert.match(await page.textContent(`[data-testid="user-row"][data-email="${HOTLINE_ADMIN}"]`), /you/);
    await page.fill('[data-testid="invite-email"]', 'new.analyst@eokm.example');
    await page.fill('[data-testid="invite-name"]', 'New Analyst');
    await page.selectOption('[data-testid="invite-role"]', 'analyst');
    await page.click('[data-testid="invite-submit"]');
    await page.waitForSelector('[data-testid="user-enrolment-url"]');
    assert.match(await page.textContent('[data-testid="user-enrolment-url"]'), /\/enrol\.html#/);
    const invited = page.locator('[data-testid="user-row"][data-email="new.analyst@eokm.example"]');
    await invited.waitFor();
    assert.match(await invited.textContent(), /no password yet/);
    page.once('dialog', (d) => d.accept());
    await invited.locator('[data-testid="user-toggle"]').click();
    await page.waitForFunction(() => /disabled/.test(document.querySelector('[data-testid="user-row"][data-email="new.analyst@eokm.example"]').textContent));
    await invited.locator('[data-testid="user-toggle"]').click(); // enabling does not ask
    await page.waitForFunction(() => !/disabled/.test(document.querySelector('[data-testid="user-row"][data-email="new.analyst@eokm.example"]').textContent));
    const analyst = page.locator(`[data-testid="user-row"][data-email="${USERS.hotline.email}"]`);
    await analyst.locator('[data-testid="user-role-select"]').selectOption('viewer');
    await analyst.locator('[data-testid="user-role-save"]').click();
    await page.waitForFunction((email) => /viewer/.test(document.querySelector(`[data-testid="user-row"][data-email="${email}"]`).children[3].textContent), USERS.hotline.email);
    assert.match(await page.textContent('[data-testid="users-status"]'), /is now viewer/);
    await screenshot(page, 'admin-users');
  });

  await step('the operator adds an organisation and reads imports and the audit trail', op, async () => {
    const { page } = op;
    await page.goto(`${base}/admin.html#orgs`);
    await page.waitForSelector(`[data-testid="org-row"] >> text=${AGENCY}`);
    await page.selectOption('[data-testid="org-kind"]', 'hotline');
    await page.fill('[data-testid="org-name"]', 'Testland Hotline');
    await page.selectOption('[data-testid="org-country"]', 'BE');
    await page.click('[data-testid="org-create"]');
    assert.match(await page.textContent('[data-testid="org-form"] .field-error:not(:empty)'), /code/, 'a hotline needs its code');
    await page.fill('[data-testid="org-code"]', 'BE-TEST');
    await page.click('[data-testid="org-create"]');
    await page.waitForSelector('[data-testid="org-row"] >> text=Testland Hotline');
    await screenshot(page, 'admin-orgs');

    await page.click('[data-testid="tab-imports"]');
    await page.waitForSelector('[data-testid="run-row"]');
    await page.locator('[data-testid="run-rejects"]').first().click();
    await page.waitForSelector('[data-testid="rejects-list"] h3');
    await screenshot(page, 'admin-imports');

    await page.click('[data-testid="tab-audit"]');
    await page.waitForSelector('[data-testid="audit-row"]');
    await page.fill('[data-testid="audit-action"]', 'access_request.active');
    await page.click('[data-testid="audit-search"]');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="audit-row"]')].every((r) => r.dataset.action === 'access_request.active'));
    assert.equal(await page.locator('[data-testid="audit-row"]').count(), 1);
    // Paging: 25 a page, then "older" appends the next page without repeating entries.
    await page.fill('[data-testid="audit-action"]', '');
    await page.selectOption('[data-testid="audit-limit"]', '25');
    await page.click('[data-testid="audit-search"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-row"]').length === 25);
    await page.waitForSelector('[data-testid="audit-older"]:visible');
    const firstIds = await page.$$eval('[data-testid="audit-row"]', (rows) => rows.map((r) => r.dataset.id));
    await page.click('[data-testid="audit-older"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-row"]').length > 25);
    const allIds = await page.$$eval('[data-testid="audit-row"]', (rows) => rows.map((r) => r.dataset.id));
    assert.deepEqual(allIds.slice(0, 25), firstIds);
    assert.equal(new Set(allIds).size, allIds.length, 'no entry twice');
    assert.ok(allIds.every((id, i) => i === 0 || Number(allIds[i - 1]) > Number(id)), 'newest first');
    await screenshot(page, 'admin-audit');
  });

  // The link's secret part (the fragment the page reads).
  const token = () => link.slice(link.indexOf('#') + 1);
  let secret = '';
  await step('the officer opens the link and sets a password', officer, async () => {
    const { page } = officer;
    // The test stack's public_url is not this port: open the same token here.
    await page.goto(`${base}/enrol.html#${token()}`);
    await page.waitForSelector('[data-testid="enrol-form"]:visible');
    assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');
    assert.equal(await page.textContent('[data-testid="enrol-name"]'), OFFICER);
    assert.equal(await page.textContent('[data-testid="enrol-org"]'), AGENCY);
    assert.match(await page.textContent('[data-testid="enrol-expires"]'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    await page.fill('[data-testid="enrol-password"]', 'short');
    await page.click('[data-testid="enrol-submit"]');
    assert.match(await page.textContent('#password-error'), /12 characters/);
    await page.fill('[data-testid="enrol-password"]', OFFICER_PASSWORD);
    await page.fill('[data-testid="enrol-confirm"]', `${OFFICER_PASSWORD}!`);
    await page.click('[data-testid="enrol-submit"]');
    assert.match(await page.textContent('#confirm-error'), /differ/);
    await screenshot(page, 'enrol');
    await page.fill('[data-testid="enrol-confirm"]', OFFICER_PASSWORD);
    await page.click('[data-testid="enrol-submit"]');
    await page.waitForURL(/\/account\.html\?setup=totp$/);
    await page.waitForSelector('[data-testid="totp-intro"]');
    assert.equal(await page.isHidden('[data-testid="sessions-section"]'), true, 'only the enrolment first');
  });

  await step('the officer enrols TOTP and stores the recovery codes', officer, async () => {
    const { page } = officer;
    await page.click('[data-testid="totp-start"]');
    await page.waitForSelector('[data-testid="totp-secret"]');
    secret = (await page.textContent('[data-testid="totp-secret"]')).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    const qr = await page.waitForSelector('[data-testid="totp-qr"]');
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, qr);
    await screenshot(page, 'totp-enrol');
    // A wrong code is explained beside the field.
    officer.allowed.push([400, /\/me\/totp\/confirm$/]);
    const wrong = String((Number(totpCode(secret)) + 500000) % 1000000).padStart(6, '0');
    await page.fill('[data-testid="totp-code"]', wrong);
    await page.click('[data-testid="totp-confirm"]');
    await page.waitForSelector('[data-testid="totp-code"][aria-invalid="true"]');
    assert.match(await page.textContent('[data-testid="totp-confirm-form"] .field-error'), /not the current one/);
    await page.fill('[data-testid="totp-code"]', totpCode(secret));
    await page.click('[data-testid="totp-confirm"]');
    await page.waitForSelector('[data-testid="recovery-codes"]');
    const codes = await page.$$eval('[data-testid="recovery-codes"] li', (lis) => lis.map((li) => li.textContent.trim()));
    assert.equal(codes.length, 10);
    assert.match(await page.getAttribute('[data-testid="recovery-download"]', 'href'), /^blob:/);
    assert.equal(await page.isDisabled('[data-testid="recovery-continue"]'), true, 'continue waits for the check');
    await screenshot(page, 'totp-recovery-codes');
    await page.check('[data-testid="recovery-stored"]');
    await page.click('[data-testid="recovery-continue"]');
    await page.waitForURL(/\/reports\.html/);
    const me = await page.evaluate(async () => (await fetch('/api/v1/me', { credentials: 'same-origin' })).json());
    assert.equal(me.org.kind, 'lea');
    assert.equal(me.org.name, AGENCY);
    assert.equal(me.user.email, OFFICER_EMAIL);
    assert.equal(me.user.role, 'org_admin');
    assert.equal(me.mfa.enabled, true);
    assert.deepEqual(await navLinks(page), ['nav-reports', 'nav-packages', 'nav-hashlists', 'nav-match', 'nav-dashboard', 'nav-iwol', 'nav-admin', 'nav-account']);
  });

  await step('the new administrator sees the agreement and makes an API token', officer, async () => {
    const { page } = officer;
    await page.click('[data-testid="nav-admin"]');
    await page.waitForURL(/\/admin\.html/);
    assert.equal(await page.locator('[data-testid="tab-requests"]').count(), 0, 'LEAs take no part in access requests');
    await page.click('[data-testid="tab-agreements"]');
    const row = page.locator('[data-testid="agreement-row"]');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await row.textContent(), /NL-EOKMNLyesno/);
    assert.equal(await page.locator('[data-testid="agreement-form"]').count(), 0, 'an LEA reads its agreement only');
    // Keyboard: arrow keys move between tabs.
    await page.focus('[data-testid="tab-agreements"]');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'tab-audit');
    await page.waitForSelector('[data-testid="audit-row"]');
    await page.click('[data-testid="nav-account"]');
    await page.waitForSelector('[data-testid="totp-on"]');
    await page.waitForSelector('[data-testid="session-row"].current');
    await page.fill('[data-testid="token-name"]', 'case system');
    await page.fill('[data-testid="token-ips"]', '192.0.2.0/24');
    await page.click('[data-testid="token-create"]');
    await page.waitForSelector('[data-testid="new-token"]');
    assert.ok((await page.textContent('[data-testid="new-token"]')).trim().length >= 20, 'the token is shown once');
    await page.waitForSelector('[data-testid="token-row"]');
    assert.match(await page.textContent('[data-testid="token-row"]'), /case system.*read-only192\.0\.2\.0\/24active/);
    await screenshot(page, 'account');
    await page.click('[data-testid="token-revoke"]');
    await page.waitForSelector('[data-testid="token-row"] .badge-off');
  });

  await step('the same link again says it was used', officer, async () => {
    const { page } = officer;
    officer.allowed.push([410, /\/enrolment\/lookup$/]);
    await page.goto(`${base}/enrol.html#${token()}`);
    await page.waitForSelector('[data-testid="enrol-problem"]:visible');
    assert.equal(await page.getAttribute('[data-testid="enrol-problem"]', 'data-kind'), 'spent');
    assert.match(await page.textContent('[data-testid="enrol-problem"]'), /already been used/);
    assert.equal(await page.isHidden('[data-testid="enrol-form"]'), true);
    await screenshot(page, 'enrol-used');
  });
});

test('with MFA required, sign-in goes to TOTP enrolment first', { timeout: 120000 }, async (t) => {
  const stack = await startStack({ reports: 50, config: 'mfa_required = 1' });
  t.after(() => stack.stop());
  const base = stack.base;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const step = stepper(t, 'access');
  const lea = await newActor(browser, 'lea analyst');
  const { page } = lea;
  let codes = [];

  await step('sign-in lands on the enrolment, and only there', lea, async () => {
    await signIn(page, base, USERS.nl.email, PASSWORD, /\/account\.html$/);
    await page.waitForSelector('[data-testid="totp-intro"]');
    assert.match(await page.textContent('[data-testid="totp-intro"]'), /requires a second factor/);
    assert.deepEqual(await navLinks(page), ['nav-account'], 'nothing else to go to yet');
    assert.equal(await page.isHidden('[data-testid="tokens-section"]'), true);
    assert.equal(await page.locator('[data-testid="totp-skip"]').count(), 0, 'no skipping when required');
    await screenshot(page, 'account-mfa-required');
    await page.goto(`${base}/reports.html`);
    await page.waitForURL(/\/account\.html$/);
  });

  await step('enrolment completes and continues to the reports', lea, async () => {
    await page.click('[data-testid="totp-start"]');
    const secret = (await page.textContent('[data-testid="totp-secret"]')).replace(/\s+/g, '');
    await page.fill('[data-testid="totp-code"]', totpCode(secret));
    await page.click('[data-testid="totp-confirm"]');
    await page.waitForSelector('[data-testid="recovery-codes"]');
    codes = await page.$$eval('[data-testid="recovery-codes"] li', (lis) => lis.map((li) => li.textContent.trim()));
    await page.check('[data-testid="recovery-stored"]');
    await page.click('[data-testid="recovery-continue"]');
    await page.waitForURL(/\/reports\.html/);
    await page.waitForSelector('[data-testid="results-table"][aria-busy="false"]');
  });

  await step('the next sign-in asks for the code (a recovery code works)', lea, async () => {
    await page.click('[data-testid="sign-out"]');
    await page.waitForURL(/\/index\.html/);
    lea.allowed.push([401, /\/api\/v1\/session$/]);
    await page.fill('[data-testid="signin-email"]', USERS.nl.email);
    await page.fill('[data-testid="signin-password"]', PASSWORD);
    await page.click('[data-testid="signin-submit"]');
    await page.waitForSelector('[data-testid="signin-totp"]:visible');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-testid')), 'signin-totp');
    await page.fill('[data-testid="signin-totp"]', codes[0]);
    await page.click('[data-testid="signin-submit"]');
    await page.waitForURL(/\/reports\.html/);
  });

  await step('the re-authentication dialog asks for the code too', lea, async () => {
    await page.click('[data-testid="nav-account"]');
    await page.waitForSelector('[data-testid="token-form"]');
    ageReauth(stack, USERS.nl.email);
    lea.allowed.push([403, /\/me\/tokens$/]);
    await page.fill('[data-testid="token-name"]', 'nightly export');
    await page.click('[data-testid="token-create"]');
    await page.waitForSelector('[data-testid="reauth-dialog"][open]');
    assert.equal(await page.isVisible('[data-testid="reauth-totp"]'), true, 'code field shown at once');
    await page.fill('[data-testid="reauth-password"]', PASSWORD);
    await page.fill('[data-testid="reauth-totp"]', codes[1]);
    await page.click('[data-testid="reauth-submit"]');
    await page.waitForSelector('[data-testid="new-token"]');
    await screenshot(page, 'account-token-after-reauth');
  });
});
