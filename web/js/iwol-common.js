// Shared pieces of the IWOL pages (iwol.html, iwol-suggestion.html): who-may-what
// predicates mirroring the API's rules (the API decides; these only hide controls that
// would answer 403), the states with their badges, the criteria's wording, report-id
// parsing, and the address of one suggestion's page.

import { el } from './dom.js';
import { badge } from './tables.js';
import { countryName } from './countries.js';
import { canSeeIwol } from './nav.js';

// The three criteria a suggesting organisation affirms ([API member, label, hint]).
export const CRITERIA = [
  ['real_children', 'The material shows real children', 'Not computer-generated, drawn or animated.'],
  ['under_13', 'The children are, or appear to be, under 13', 'Judged on apparent age where the age is not known.'],
  ['severe_abuse', 'The abuse is severe (INTERPOL Baseline)', 'At least one item meets the international Baseline definition.'],
];

// States a suggestion goes through, with a short explanation each.
export const STATES = [
  ['open', 'Open', 'collecting confirmations from other countries'],
  ['submitted', 'Submitted', 'waiting for INTERPOL\'s decision'],
  ['accepted', 'Accepted', 'on the IWOL'],
  ['rejected', 'Rejected', 'INTERPOL did not list it'],
  ['delisted', 'Delisted', 'taken off the IWOL'],
];

const STATUS_CLASS = { open: 'badge-current', submitted: 'badge-warn', accepted: 'badge-ok', rejected: 'badge-off', delisted: '' };

// Countries that must confirm a suggestion before it can be submitted (the suggester counts).
export const COUNTRIES_NEEDED = 2;

// Most report ids one suggestion request may carry as evidence (the API's limit).
export const MAX_EVIDENCE = 100;

// Longest note, reason or answer the API takes.
export const MAX_NOTE = 2000;

// True when the person writes (analysts and org_admins).
export function canWrite(me) {
  return !!(me && me.user && ['analyst', 'org_admin'].includes(me.user.role));
}

// True when the person's organisation takes part in IWOL (LEAs, hotlines, INTERPOL).
export const canUseIwol = canSeeIwol;

// True when the person may suggest domains (LEA analysts and org_admins).
export function canSuggest(me) {
  return canWrite(me) && me.org.kind === 'lea';
}

// True when the person may confirm or dispute other organisations' suggestions.
export function canVerifyAny(me) {
  return canWrite(me) && ['lea', 'hotline'].includes(me.org.kind);
}

// True when the person belongs to INTERPOL.
export function isInterpol(me) {
  return !!(me && me.org && me.org.kind === 'interpol');
}

// True when the person may decide on suggestions (INTERPOL analysts and org_admins).
export function canDecide(me) {
  return isInterpol(me) && canWrite(me);
}

// True when a list item (its `own` flag) or a detail (by name) is the person's organisation's.
export function isOwn(me, s) {
  if (s && typeof s.own === 'boolean') return s.own;
  return !!(me && me.org && s && s.org === me.org.name);
}

// The address of one suggestion's page.
export function suggestionHref(id) {
  return `iwol-suggestion.html?id=${encodeURIComponent(id)}`;
}

// The address of one report's page.
export function reportHref(id) {
  return `report.html?id=${encodeURIComponent(id)}`;
}

// The suggestion id of this page's ?id=, or 0 when it has none or a bad one.
export function idFromQuery() {
  const v = new URLSearchParams(location.search).get('id') || '';
  return /^[1-9]\d{0,15}$/.test(v) ? Number(v) : 0;
}

// The label of a state ("Open"), or the value itself when unknown.
export function stateLabel(status) {
  const hit = STATES.find(([v]) => v === status);
  return hit ? hit[1] : String(status || '—');
}

// The explanation of a state ("waiting for INTERPOL's decision"), or ''.
export function stateNote(status) {
  const hit = STATES.find(([v]) => v === status);
  return hit ? hit[2] : '';
}

// A status badge for a suggestion's state (data-status carries the raw value).
export function statusBadge(status, testid) {
  const b = badge(stateLabel(status), STATUS_CLASS[status] || '');
  b.setAttribute('data-status', String(status || ''));
  if (testid) b.setAttribute('data-testid', testid);
  return b;
}

// A verdict badge: confirmed (green) or disputed (red).
export function verdictBadge(verdict) {
  return badge(verdict === 'confirm' ? 'confirmed' : verdict === 'dispute' ? 'disputed' : String(verdict || '—'),
    verdict === 'confirm' ? 'badge-ok' : verdict === 'dispute' ? 'badge-off' : '');
}

// Country codes as small labelled chips ("NL DE"), each with its name as a title.
export function countryChips(codes, testid) {
  const list = Array.isArray(codes) ? codes : [];
  if (!list.length) return el('span', { class: 'muted', 'data-testid': testid, text: 'none yet' });
  return el('span', { class: 'iwol-countries', 'data-testid': testid },
    list.map((c) => el('abbr', { class: 'iwol-country', title: countryName(c), text: c })));
}

// "1 of 2 countries" progress text for a suggestion's confirmations.
export function confirmationText(codes) {
  const n = Array.isArray(codes) ? codes.length : 0;
  return n >= COUNTRIES_NEEDED
    ? `${n} countries confirm (${COUNTRIES_NEEDED} needed)`
    : `${n} of ${COUNTRIES_NEEDED} countries confirm`;
}

// Parses report ids typed or pasted in any separator ("12, 13\n#14"); bad lists the
// entries that are not ids. Duplicates are dropped, order kept.
export function parseReportIds(text) {
  const items = String(text || '').split(/[\s,;]+/).map((s) => s.trim().replace(/^#/, '')).filter(Boolean);
  const ids = [];
  const bad = [];
  for (const item of items) {
    if (!/^[1-9]\d{0,15}$/.test(item)) bad.push(item);
    else if (!ids.includes(Number(item))) ids.push(Number(item));
  }
  return { ids, bad };
}

// Normalises a typed domain: trimmed, lower case, no trailing dot. Returns {domain, problem}.
export function cleanDomain(text) {
  const d = String(text || '').trim().toLowerCase().replace(/\.$/, '');
  if (!d) return { domain: '', problem: 'Give the domain to suggest.' };
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(d) || d.includes('/')) {
    return { domain: d, problem: 'Give the domain only (such as example.test), not a URL.' };
  }
  if (d.length > 253 || !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d)) {
    return { domain: d, problem: 'That is not a domain name: use letters, digits, hyphens and dots (IDNs as xn-- punycode).' };
  }
  return { domain: d, problem: '' };
}

// The address that downloads the accepted list in a format (csv or text).
export function exportHref(format) {
  return `/api/v1/iwol/export?format=${encodeURIComponent(format)}`;
}
