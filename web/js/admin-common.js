// Shared pieces of the administration tabs: who-may-what predicates mirroring the API's
// rules (the API decides; these only hide controls that would answer 403), the
// organisation list cache, status labels and the enrolment-link result box.

import { api } from './api.js';
import { el } from './dom.js';
import { formatDate } from './ui.js';
import { oneTimeBox } from './onetime.js';

export const REQUEST_STATUSES = ['requested', 'demo_held', 'hotline_approved', 'interpol_endorsed', 'active', 'rejected'];
const STATUS_LABELS = {
  requested: 'Requested', demo_held: 'Demo held', hotline_approved: 'Hotline approved',
  interpol_endorsed: 'INTERPOL endorsed', active: 'Active', rejected: 'Rejected',
};

// The display label of an access-request status.
export function statusLabel(status) {
  return STATUS_LABELS[status] || String(status || '—');
}

// A status badge for an access request.
export function statusBadge(status, testid) {
  return el('span', { class: `status status-${status}`, 'data-testid': testid || null, 'data-status': status, text: statusLabel(status) });
}

// True for platform operators.
export function isOperator(me) {
  return me.org.kind === 'operator';
}

// True for an organisation's administrator or an operator (the admin routes).
export function isAdmin(me) {
  return me.user.role === 'org_admin' || me.user.role === 'operator';
}

// True when the person may create and change agreements (hotline admins, operators).
export function canEditAgreements(me) {
  return isOperator(me) || (me.org.kind === 'hotline' && me.user.role === 'org_admin');
}

// The roles an organisation of this kind may give (operator only in operator orgs).
export function rolesFor(kind) {
  return kind === 'operator' ? ['operator'] : ['viewer', 'analyst', 'org_admin'];
}

let orgsPromise = null;

// The organisations the caller administers (cached; force reloads).
export function loadOrgs(force) {
  if (force || !orgsPromise) {
    orgsPromise = api('GET', '/admin/orgs').then((r) => r.items || []);
    orgsPromise.catch(() => { orgsPromise = null; });
  }
  return orgsPromise;
}

// "Name (kind, CC)" label of an organisation.
export function orgLabel(o) {
  return `${o.name} (${o.kind}, ${o.country})`;
}

// Shows an {enrolment: {mailed, expires_at, url?}} answer: the one-time link with a copy
// button when it could not be mailed, else a line saying it was.
export function enrolmentResult(enrolment, email, testid) {
  if (!enrolment) return null;
  const until = formatDate(enrolment.expires_at);
  if (enrolment.url) {
    return oneTimeBox({ title: `One-time enrolment link for ${email}`, value: enrolment.url, testid,
      note: `Send this one-time link to ${email} through a trusted channel; it is shown once and works until ${until}. With it they set a password and an authenticator app.` });
  }
  return el('p', { class: 'note-ok', 'data-testid': `${testid}-mailed`, text: `The enrolment link was mailed to ${email}; it works until ${until}.` });
}
