// Helpers shared by the browser tests: launching Debian's chromium through playwright-core,
// watching pages for console errors / CSP violations (with per-step allowances for the
// HTTP errors a step provokes on purpose), signing in, and RFC 6238 TOTP codes.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const ARTEFACTS = path.resolve(process.env.CPORT_ARTEFACTS || 'test-artefacts');
export const CHROMIUM = process.env.CPORT_CHROMIUM || '/usr/bin/chromium';

// Reports CSP violations through console.error so watchPage sees them.
export const CSP_LISTENER = `document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI);
});`;

// Launches headless chromium with the flags the tests need.
export function launchBrowser() {
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Collects console errors, page errors and CSP violations of a page into `problems`.
// A 401 of GET /api/v1/me is expected (the sign-in page checks for a session) and ignored;
// `allowed` holds [status, urlRegExp] pairs a step expects (failed responses the browser logs).
export function watchPage(page, problems, allowed = []) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const where = (msg.location() && msg.location().url) || '';
    if (/status of 401/.test(text) && /\/api\/v1\/me(\?|$)/.test(where)) return;
    const m = /status of (\d{3})/.exec(text);
    if (m && allowed.some(([status, re]) => Number(m[1]) === status && re.test(where))) return;
    problems.push(`console: ${text} (${where})`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
}

// A new browser context and page with the CSP listener and a problem watcher.
export async function newActor(browser, name) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  await context.addInitScript(CSP_LISTENER);
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const actor = { name, context, page, problems: [], allowed: [] };
  watchPage(page, actor.problems, actor.allowed);
  return actor;
}

// Signs in on the sign-in page and waits for the page the portal lands on.
export async function signIn(page, base, email, password, landing) {
  await page.goto(`${base}/index.html`);
  await page.waitForSelector('[data-testid="signin-form"]');
  await page.fill('[data-testid="signin-email"]', email);
  await page.fill('[data-testid="signin-password"]', password);
  await page.click('[data-testid="signin-submit"]');
  if (landing) await page.waitForURL(landing);
}

// Saves a full-page screenshot into the artefacts directory.
export function screenshot(page, name) {
  return page.screenshot({ path: path.join(ARTEFACTS, `${name}.png`), fullPage: true });
}

// Decodes RFC 4648 base32 (spaces and padding ignored).
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  return Buffer.from(out);
}

// The RFC 6238 code (HMAC-SHA1, 30 s steps, 6 digits) of a base32 secret at time ms.
export function totpCode(secret, ms = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const h = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = h[h.length - 1] & 0x0f;
  return String((h.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// Runs named steps as subtests of t; after a failure the rest are skipped. A step is
// step(name, actor, fn), or step(name, fn) for the default actor; it may push
// [status, urlRegExp] pairs to actor.allowed for the HTTP errors it provokes, and fails
// on any other console error, page error or CSP violation (screenshot kept).
export function stepper(t, prefix, defaultActor) {
  let failed = false;
  return (name, a, b) => {
    const actor = typeof a === 'function' ? defaultActor : a, fn = typeof a === 'function' ? a : b;
    return t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
      actor.allowed.length = 0;
      actor.problems.length = 0;
      try {
        await fn();
        await actor.page.waitForTimeout(50);
        assert.deepEqual(actor.problems, [], 'console errors / CSP violations');
      } catch (err) {
        failed = true;
        await screenshot(actor.page, `failure-${prefix}-${name.replace(/\W+/g, '-')}`).catch(() => {});
        throw err;
      }
    });
  };
}
