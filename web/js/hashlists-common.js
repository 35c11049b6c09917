// Shared pieces of the hash-list pages (all lists, one list, matching): the API's
// enumerations with their labels, who-may-what predicates mirroring the API's rules (the
// API decides; these only hide controls that would answer 403), badges, and a two-step
// confirmation button for destructive row actions.

import { el, clear } from './dom.js';
import { badge } from './tables.js';

// Category schemes a list may follow ([value, label] pairs, as select options).
export const SCHEMES = [
  ['none', 'None'],
  ['vic_us', 'VIC US (0–4)'],
  ['uk_abc', 'UK A/B/C'],
  ['ncmec', 'NCMEC A1/A2/B1/B2'],
  ['interpol_baseline', 'INTERPOL baseline'],
];

// List kinds: hits on a warning list are reported apart from ordinary matches.
export const KINDS = [['normal', 'Normal'], ['warning', 'Warning list']];

// Hash algorithms the API knows, with the number of hex digits of each.
export const ALGORITHMS = [['md5', 'MD5'], ['sha1', 'SHA-1'], ['sha256', 'SHA-256'], ['pdq', 'PDQ'], ['photodna', 'PhotoDNA']];
export const HEX_DIGITS = { md5: 32, sha1: 40, sha256: 64, pdq: 64, photodna: 288 };

// Organisation kinds a list can be shared with as a whole.
export const SHARE_KINDS = [['lea', 'Law enforcement'], ['hotline', 'Hotlines'], ['interpol', 'INTERPOL']];

// The label of a value in [value, label] pairs (the value itself when unknown).
export function labelOf(pairs, value) {
  const hit = pairs.find(([v]) => v === value);
  return hit ? hit[1] : (value === null || value === undefined || value === '' ? '—' : String(value));
}

// True when the person's organisation has hash lists (operators have none).
export function canUseLists(me) {
  return !!(me && me.org && ['lea', 'hotline', 'interpol'].includes(me.org.kind));
}

// True when the person may create lists (analysts and org_admins of such organisations).
export function canCreateLists(me) {
  return canUseLists(me) && !!me.user && ['analyst', 'org_admin'].includes(me.user.role);
}

// True when the person may change this list: their organisation owns it and they may write.
export function canEditList(me, list) {
  return !!(list && list.owned) && canCreateLists(me);
}

// The address of one list's page.
export function listHref(id) {
  return `hashlist.html?id=${encodeURIComponent(id)}`;
}

// The list id of this page's ?id=, or 0 when it has none or a bad one.
export function idFromQuery() {
  const v = new URLSearchParams(location.search).get('id') || '';
  return /^[1-9]\d{0,15}$/.test(v) ? Number(v) : 0;
}

// A "warning" badge for warning lists, null for normal ones.
export function kindBadge(kind) {
  return kind === 'warning' ? badge('warning list', 'badge-warn') : null;
}

// An "enabled"/"disabled" badge.
export function enabledBadge(enabled, testid) {
  const b = badge(enabled ? 'enabled' : 'disabled', enabled ? 'badge-ok' : 'badge-off');
  if (testid) b.setAttribute('data-testid', testid);
  return b;
}

// A hash value as monospace text that may wrap anywhere (PhotoDNA is 288 digits).
export function hashText(value) {
  return el('code', { class: 'break hash-value' }, String(value || ''));
}

// A button that asks again in place before a destructive action: the first click turns it
// into "confirm" and "cancel" buttons (focus moves to confirm; Escape or cancel goes back).
export function confirmButton({ label, confirmLabel, ariaLabel, testid, onConfirm }) {
  const wrap = el('span', { class: 'confirm-inline' });
  let busy = false; // the confirmed action is running: nothing to go back to
  const first = el('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': testid, 'aria-label': ariaLabel || null }, label);
  // Shows the first button again and focuses it.
  const reset = () => { clear(wrap); wrap.append(first); first.focus(); };
  first.addEventListener('click', () => {
    const yes = el('button', { type: 'button', class: 'btn btn-small btn-primary btn-danger', 'data-testid': `${testid}-confirm` }, confirmLabel);
    const no = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': `${testid}-cancel` }, 'Cancel');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      busy = true;
      const ok = await onConfirm();
      busy = false;
      if (ok === false && wrap.isConnected) reset();
    });
    no.addEventListener('click', reset);
    clear(wrap);
    wrap.append(yes, ' ', no);
    yes.focus();
  });
  // Escape while the confirmation is shown goes back to the first button.
  wrap.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !busy && !first.isConnected) { event.preventDefault(); reset(); }
  });
  wrap.append(first);
  return wrap;
}
