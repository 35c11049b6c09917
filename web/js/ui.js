// Shared page helpers for cport: safe DOM building (text only, never innerHTML with data),
// date/size formatting, the error banner, the signed-in header (user, navigation,
// sign-out), the sign-in and TOTP-enrolment redirects, and the re-authentication dialog.

import { getMe, signOut, isUnauthorized, problemSlug } from './api.js';
import { el, clear } from './dom.js';
import { renderNav, mustEnrol, landingPage } from './nav.js';
import { setReauthCodeExpected } from './reauth.js';

export { el, clear };

// Zero-pads a date part to two digits.
const pad = (n) => String(n).padStart(2, '0');

// Formats an ISO-8601 timestamp as "YYYY-MM-DD HH:MM UTC"; empty values become a dash.
export function formatDate(value) {
  if (value === null || value === undefined || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} `
    + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

// Formats a byte count as "1.2 MB (1234567 bytes)"-style short text.
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

// Turns an enum value such as "lea_notified" into "lea notified".
export function humanize(value) {
  if (value === null || value === undefined || value === '') return '—';
  return String(value).replace(/_/g, ' ');
}

// Shows a value or a dash when empty.
export function orDash(value) {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

// Shows an error (ApiError or other) in the page's banner; null hides it.
export function showError(banner, err, prefix) {
  if (!banner) return;
  clear(banner);
  if (!err) { banner.hidden = true; return; }
  const p = err.problem || { title: 'Unexpected error', detail: err.message || String(err) };
  const title = prefix ? `${prefix}: ${p.title || 'Error'}` : (p.title || 'Error');
  banner.append(el('strong', { text: title }));
  let detail = p.detail || '';
  if (p.retryAfter) detail += `${detail ? ' ' : ''}Try again in ${p.retryAfter} s.`;
  if (detail) banner.append(' ', el('span', { text: detail }));
  banner.hidden = false;
}

// The current page as a relative path ("reports.html?..."), for returning after sign-in.
export function currentRelative() {
  const name = location.pathname.split('/').pop() || 'reports.html';
  return name + location.search;
}

// Goes to the sign-in page, asking it to come back here afterwards.
export function redirectToSignIn() {
  location.replace(`index.html?next=${encodeURIComponent(currentRelative())}`);
}

// Loads the session for a protected page and fills the header (email, org, navigation,
// sign-out). Redirects to sign-in on 401, to TOTP enrolment when it is required (unless
// opts.enrolmentPage), and to the landing page when opts.allow(me) is false. Resolves
// with the session, or null when the page should not go on.
export async function initSession(banner, opts = {}) {
  let me;
  try {
    me = await getMe();
  } catch (err) {
    if (isUnauthorized(err)) { redirectToSignIn(); return null; }
    showError(banner, err, 'Could not load your session');
    return null;
  }
  setReauthCodeExpected(me.mfa && me.mfa.enabled);
  if (mustEnrol(me) && !opts.enrolmentPage) { location.replace('account.html'); return null; }
  if (opts.allow && !opts.allow(me)) { location.replace(landingPage(me)); return null; }
  renderNav(me);
  const who = document.querySelector('[data-testid="user-info"]');
  if (who) {
    clear(who);
    who.append(el('span', { class: 'user-email', text: me.user && me.user.email }));
    if (me.org) {
      const org = [me.org.name, me.org.country].filter(Boolean).join(', ');
      who.append(el('span', { class: 'user-org', text: org }));
    }
  }
  const button = document.querySelector('[data-testid="sign-out"]');
  if (button) {
    button.hidden = false;
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await signOut();
      } catch (err) {
        if (!isUnauthorized(err)) { showError(banner, err, 'Sign-out failed'); button.disabled = false; return; }
      }
      location.replace('index.html');
    });
  }
  return me;
}

// Handles an API error on a protected page: 401 goes to sign-in, a pending TOTP
// enrolment to the account page, others show the banner.
export function handleError(banner, err, prefix) {
  if (err && err.name === 'AbortError') return;
  if (isUnauthorized(err)) { redirectToSignIn(); return; }
  if (problemSlug(err) === 'mfa-enrolment-required') { location.replace('account.html'); return; }
  showError(banner, err, prefix);
}

// Filter parameters the list page keeps in its URL (besides sort, limit, cursor).
export const FILTER_KEYS = ['q', 'hosting_country', 'site_type', 'status', 'international',
  'national', 'media_type', 'hotline', 'domain', 'from', 'to'];
export const VIEW_KEYS = [...FILTER_KEYS, 'sort', 'limit', 'cursor'];

// Keeps only the known list-view parameters from a query string.
export function cleanViewQuery(search) {
  const src = new URLSearchParams(search);
  const out = new URLSearchParams();
  for (const k of VIEW_KEYS) {
    const v = src.get(k);
    if (v) out.set(k, v);
  }
  return out;
}
