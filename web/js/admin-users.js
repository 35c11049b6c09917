// Users tab: the people of the organisations the person administers; invite someone (a
// one-time enrolment link), change a role, disable or re-enable, and issue a reset link.
// Changes need a fresh password confirmation (the shared dialog); nobody changes their
// own account here.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, handleError } from './ui.js';
import { dataTable, badge } from './tables.js';
import { field, clearFormErrors, reportInvalid, showFormError, setBusy, statusLine, formBanner } from './forms.js';
import { isOperator, isAdmin, loadOrgs, orgLabel, rolesFor, enrolmentResult } from './admin-common.js';

let ctx = null;
let parts = null;
let orgs = [];

// The kind of a user's organisation (from the cached organisation list).
function orgKind(orgId) {
  const o = orgs.find((x) => x.id === orgId);
  return o ? o.kind : ctx.me.org.kind;
}

// The state badges of a user.
function stateBadges(u) {
  const out = [];
  if (u.disabled) out.push(badge('disabled', 'badge-off'));
  if (u.locked) out.push(badge('locked', 'badge-off'));
  if (!u.password_set) out.push(badge('no password yet', 'badge-warn'));
  if (u.enrolment_pending) out.push(badge('link pending', 'badge-warn'));
  out.push(u.totp_enabled ? badge('TOTP on', 'badge-ok') : badge('no TOTP'));
  return el('span', { class: 'badges' }, out);
}

// Runs a change on a user and reloads; shows a new link when the answer has one.
async function change(u, method, path, body, message, button) {
  button.disabled = true;
  clear(parts.result);
  try {
    const res = await api(method, path, { body });
    parts.status.textContent = message;
    if (res && res.enrolment) parts.result.append(enrolmentResult(res.enrolment, u.email, 'user-enrolment-url'));
  } catch (err) {
    handleError(ctx.banner, err, `Could not change ${u.email}`);
  }
  await load();
}

// The action controls of one user row.
function actions(u) {
  if (u.id === ctx.me.user.id) return el('span', { class: 'muted', text: 'you (ask another administrator)' });
  const roleId = `role-${u.id}`;
  const select = el('select', { id: roleId, 'data-testid': 'user-role-select' }, rolesFor(orgKind(u.org_id)).map((r) => el('option', { value: r, text: r.replace('_', ' ') })));
  select.value = u.role;
  const setRole = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'user-role-save' }, 'Change role');
  setRole.addEventListener('click', () => {
    if (select.value === u.role) { parts.status.textContent = `${u.email} already has that role.`; return; }
    change(u, 'PATCH', `/admin/users/${u.id}`, { role: select.value }, `${u.email} is now ${select.value.replace('_', ' ')}.`, setRole);
  });
  const toggle = el('button', { type: 'button', class: `btn btn-small${u.disabled ? '' : ' btn-danger'}`, 'data-testid': 'user-toggle' }, u.disabled ? 'Enable' : 'Disable');
  toggle.addEventListener('click', () => {
    // Disabling ends every session and token of the person at once: ask first.
    if (!u.disabled && !window.confirm(`Disable ${u.email}? Their sessions and API tokens end at once.`)) return;
    change(u, 'PATCH', `/admin/users/${u.id}`, { disabled: !u.disabled }, `${u.email} ${u.disabled ? 'enabled' : 'disabled'}.`, toggle);
  });
  const reset = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'user-reset' }, 'New enrolment link');
  reset.addEventListener('click', () => change(u, 'POST', `/admin/users/${u.id}/enrolment`, undefined,
    `A new enrolment link was issued for ${u.email}; their password works until they use it.`, reset));
  return el('div', { class: 'row-actions' },
    el('label', { for: roleId, class: 'visually-hidden', text: `Role of ${u.email}` }), select, setRole, toggle, reset);
}

// Loads and renders the users (of the chosen organisation, for operators).
async function load() {
  let items = [];
  try {
    items = (await api('GET', '/admin/users', { query: { org_id: parts.filter ? parts.filter.value : '' } })).items || [];
  } catch (err) {
    handleError(ctx.banner, err, 'Could not load the users');
    return;
  }
  const rows = items.map((u) => ({
    attrs: { 'data-testid': 'user-row', 'data-email': u.email },
    cells: [u.email, u.name || '—', u.org, u.role.replace('_', ' '), stateBadges(u), formatDate(u.last_seen_at), actions(u)],
  }));
  clear(parts.list);
  parts.list.append(dataTable({ caption: 'Users', testid: 'users-table', rows, empty: 'No users.',
    columns: ['Email', 'Name', 'Organisation', 'Role', 'State', 'Last seen', 'Actions'] }));
}

// The invitation form (operators choose the organisation).
function inviteForm() {
  const email = field({ label: 'Email', name: 'email', type: 'email', required: true, testid: 'invite-email', attrs: { maxlength: '254', autocomplete: 'off' } });
  const name = field({ label: 'Name', name: 'name', testid: 'invite-name', attrs: { maxlength: '200', autocomplete: 'off' } });
  const org = isOperator(ctx.me)
    ? field({ label: 'Organisation', name: 'org_id', type: 'select', required: true, testid: 'invite-org', options: [['', 'Choose…'], ...orgs.map((o) => [String(o.id), orgLabel(o)])] })
    : null;
  const role = field({ label: 'Role', name: 'role', type: 'select', required: true, testid: 'invite-role', options: rolesFor(ctx.me.org.kind).map((r) => [r, r.replace('_', ' ')]) });
  // The operator role exists only in operator organisations: offer what fits the choice.
  if (org) {
    org.control.addEventListener('change', () => {
      clear(role.control);
      for (const r of rolesFor(orgKind(Number(org.control.value)))) role.control.append(el('option', { value: r, text: r.replace('_', ' ') }));
    });
  }
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'invite-submit' }, 'Invite');
  const form = el('form', { class: 'grid-form card', novalidate: true, 'data-testid': 'invite-form', 'aria-labelledby': 'invite-title' },
    el('h3', { id: 'invite-title', class: 'span-all', text: 'Invite a person' }),
    el('p', { class: 'muted span-all', text: 'They receive a one-time link to set a password and an authenticator app.' }),
    email.wrap, name.wrap, org && org.wrap, role.wrap, el('div', { class: 'form-actions span-all' }, submit));
  formBanner(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    clear(parts.result);
    const body = { email: email.control.value.trim(), role: role.control.value };
    if (name.control.value.trim()) body.name = name.control.value.trim();
    if (org && org.control.value) body.org_id = Number(org.control.value);
    const problems = [[email.control, !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email) ? 'Enter an email address.' : '']];
    if (org) problems.push([org.control, !org.control.value ? 'Choose the organisation.' : '']);
    if (reportInvalid(form, problems)) return;
    setBusy(submit, true, 'Inviting…');
    try {
      const res = await api('POST', '/admin/users', { body });
      parts.status.textContent = `${body.email} invited.`;
      parts.result.append(enrolmentResult(res.enrolment, body.email, 'user-enrolment-url'));
      form.reset();
      await load();
    } catch (err) {
      showFormError(form, err, 'Not invited');
    }
    setBusy(submit, false);
  });
  return form;
}

// Builds the tab once the organisation list is known.
async function build(panel) {
  try {
    orgs = await loadOrgs(false);
  } catch (err) {
    handleError(ctx.banner, err, 'Could not load the organisations');
  }
  const list = el('div', { 'data-testid': 'users-list' });
  const result = el('div', { class: 'result-area', 'data-testid': 'users-result' });
  const status = statusLine('users-status');
  let filter = null;
  panel.append(el('h2', { text: 'Users' }), inviteForm());
  if (isOperator(ctx.me)) {
    filter = el('select', { id: 'users-org-filter', 'data-testid': 'users-org-filter' },
      el('option', { value: '', text: 'All organisations' }), orgs.map((o) => el('option', { value: String(o.id), text: orgLabel(o) })));
    filter.addEventListener('change', load);
    panel.append(el('div', { class: 'filter-bar' }, el('label', { for: 'users-org-filter', text: 'Organisation' }), filter));
  }
  panel.append(status, result, list);
  return { list, result, status, filter };
}

let ready = null;

export default {
  id: 'users',
  label: 'Users',
  // Organisation administrators and operators.
  allowed: isAdmin,
  // Builds the tab and loads the users.
  init(panel, c) {
    ctx = c;
    ready = build(panel).then((p) => { parts = p; return load(); });
  },
  // Filters by organisation (#users/<org id>, operators).
  async open(arg) {
    await ready;
    if (parts.filter && /^\d+$/.test(arg)) {
      parts.filter.value = arg;
      await load();
    }
  },
};
