// Audit tab: search the audit trail (org admins: their organisation's entries; operators:
// all) by actor, action, object and date, newest first, with "show older" paging.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash } from './ui.js';
import { field, clearFormErrors, showFormError, setBusy, formBanner, statusLine } from './forms.js';
import { isAdmin } from './admin-common.js';

const PAGE = 100;
let ctx = null;
let parts = null;
let filters = {};
let cursor = null;

// One table row of an audit entry.
function row(e) {
  return el('tr', { 'data-testid': 'audit-row', 'data-action': e.action, 'data-id': e.id },
    el('td', { class: 'nowrap', text: formatDate(e.at) }), el('td', { text: orDash(e.actor) }),
    el('td', null, el('code', { text: e.action })), el('td', { text: orDash(e.object) }), el('td', { text: orDash(e.ip) }),
    el('td', null, e.detail ? el('code', { class: 'break small', text: e.detail }) : '—'),
    el('td', null, e.request_id ? el('code', { class: 'small', text: e.request_id }) : '—'));
}

// Fetches a page (the first when more is false) and adds its rows.
async function fetchPage(more, button) {
  const query = { limit: PAGE, ...filters };
  if (more && cursor) query.cursor = cursor;
  setBusy(button, true, 'Loading…');
  try {
    const res = await api('GET', '/admin/audit', { query });
    if (!more) clear(parts.body);
    for (const e of res.items || []) parts.body.append(row(e));
    cursor = res.next_cursor || null;
    parts.older.hidden = !cursor;
    parts.table.hidden = !parts.body.children.length;
    parts.empty.hidden = parts.body.children.length > 0;
    parts.status.textContent = `${parts.body.children.length} entr${parts.body.children.length === 1 ? 'y' : 'ies'} shown${cursor ? '; older ones exist' : ''}.`;
  } catch (err) {
    showFormError(parts.form, err, 'Search failed');
  }
  setBusy(button, false);
}

// Builds the filter form, the table and the "older" button.
function build(panel) {
  const actor = field({ label: 'Actor (email)', name: 'actor', testid: 'audit-actor', attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const action = field({ label: 'Action', name: 'action', testid: 'audit-action', hint: 'e.g. access_request.active, user.invite, session.reauth', attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const object = field({ label: 'Object', name: 'object', testid: 'audit-object', hint: 'e.g. user:12, access_request:3', attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const from = field({ label: 'From (UTC date)', name: 'from', type: 'date', testid: 'audit-from' });
  const to = field({ label: 'To (UTC date, inclusive)', name: 'to', type: 'date', testid: 'audit-to' });
  const limit = field({ label: 'Entries per page', name: 'limit', type: 'select', testid: 'audit-limit', value: String(PAGE),
    options: ['25', '50', '100', '200', '500'].map((n) => [n, n]) });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'audit-search' }, 'Search');
  const reset = el('button', { type: 'button', class: 'btn', 'data-testid': 'audit-reset' }, 'Reset');
  const form = el('form', { class: 'grid-form card', role: 'search', novalidate: true, 'aria-label': 'Audit filters', 'data-testid': 'audit-form' },
    actor.wrap, action.wrap, object.wrap, from.wrap, to.wrap, limit.wrap, el('div', { class: 'form-actions span-all' }, submit, reset));
  formBanner(form);
  const body = el('tbody', { 'data-testid': 'audit-body' });
  const table = el('div', { class: 'table-wrap' }, el('table', { class: 'data-table compact', 'data-testid': 'audit-table' },
    el('caption', { class: 'visually-hidden', text: 'Audit entries, newest first' }),
    el('thead', null, el('tr', null, ['When', 'Actor', 'Action', 'Object', 'Address', 'Detail', 'Request'].map((h) => el('th', { scope: 'col', text: h })))),
    body));
  const empty = el('p', { class: 'empty-state', 'data-testid': 'audit-empty', hidden: true, text: 'No entries match.' });
  const older = el('button', { type: 'button', class: 'btn', 'data-testid': 'audit-older', hidden: true }, 'Show older entries');
  const status = statusLine('audit-status');
  panel.append(el('h2', { text: 'Audit trail' }),
    el('p', { class: 'muted', text: ctx.me.org.kind === 'operator' ? 'Every entry of the platform.' : 'The entries of your organisation\'s people.' }),
    form, status, table, empty, el('div', { class: 'pager' }, older));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFormErrors(form);
    filters = { limit: limit.control.value };
    for (const c of [actor.control, action.control, object.control, from.control, to.control]) if (c.value.trim()) filters[c.name] = c.value.trim();
    cursor = null;
    fetchPage(false, submit);
  });
  reset.addEventListener('click', () => { form.reset(); limit.control.value = String(PAGE); form.requestSubmit(); });
  older.addEventListener('click', () => fetchPage(true, older));
  return { form, body, table, empty, older, status, submit };
}

export default {
  id: 'audit',
  label: 'Audit',
  // Organisation administrators (their organisation) and operators (all).
  allowed: isAdmin,
  // Builds the tab and loads the newest entries.
  init(panel, c) {
    ctx = c;
    parts = build(panel);
    fetchPage(false, parts.submit);
  },
};
