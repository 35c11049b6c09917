// Hash lists page: the lists the caller can read (their organisation's and those shared
// with it) with owner, kind, entry count, version and state; analysts and org_admins get
// a form to create a list, which then opens on its own page.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, initSession, handleError } from './ui.js';
import { dataTable, badge } from './tables.js';
import { field, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner } from './forms.js';
import {
  SCHEMES, KINDS, labelOf, canUseLists, canCreateLists, listHref, kindBadge, enabledBadge,
} from './hashlists-common.js';

const banner = document.getElementById('error-banner');
const loading = document.getElementById('loading');
const listsSection = document.getElementById('lists-section');
const listsBody = document.getElementById('lists-body');
const listsStatus = document.getElementById('lists-status');

// One table row of a list.
function listRow(l) {
  return {
    attrs: { 'data-testid': 'hashlist-row', 'data-id': String(l.id) },
    cells: [
      [el('a', { href: listHref(l.id), 'data-testid': 'hashlist-link' }, l.name), ' ', kindBadge(l.kind)],
      [l.org || '—', l.owned ? ' ' : null, l.owned ? badge('yours', 'badge-current') : null],
      labelOf(SCHEMES, l.scheme),
      el('span', { 'data-testid': 'hashlist-entries' }, Number(l.entries || 0).toLocaleString('en')),
      String(l.version ?? 0),
      enabledBadge(l.enabled),
      formatDate(l.updated_at),
    ],
  };
}

// Loads and renders the lists table.
async function loadLists() {
  let items;
  try {
    items = (await api('GET', '/hash-lists')).items || [];
  } catch (err) {
    handleError(banner, err, 'Could not load the hash lists');
    return;
  }
  clear(listsBody);
  listsBody.append(dataTable({
    caption: 'Hash lists you can read',
    testid: 'hashlists-table',
    empty: 'There are no hash lists you can read yet.',
    columns: ['Name', 'Owner', 'Category scheme', { label: 'Entries', num: true }, { label: 'Version', num: true }, 'State', 'Updated'],
    rows: items.map(listRow),
  }));
  const own = items.filter((l) => l.owned).length;
  listsStatus.textContent = items.length
    ? `${items.length} ${items.length === 1 ? 'list' : 'lists'}: ${own} of your organisation, ${items.length - own} shared with it.`
    : '';
}

// Builds the create form; a created list opens on its own page.
function buildCreateForm(container) {
  const name = field({ label: 'Name', name: 'name', required: true, testid: 'create-name', hint: 'Unique within your organisation, e.g. "NL known material".', attrs: { maxlength: '200', autocomplete: 'off' } });
  const description = field({ label: 'Description', name: 'description', type: 'textarea', rows: 2, testid: 'create-description', hint: 'Optional: where the hashes come from and how to use them.', attrs: { maxlength: '2000' } });
  const scheme = field({ label: 'Category scheme', name: 'scheme', type: 'select', options: SCHEMES, value: 'none', testid: 'create-scheme', hint: 'How the entries\' categories are to be read.' });
  const kind = field({ label: 'Kind', name: 'kind', type: 'select', options: KINDS, value: 'normal', testid: 'create-kind', hint: 'Hits on a warning list are shown apart from matches.' });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'create-submit' }, 'Create list');
  const form = el('form', { class: 'grid-form', novalidate: true, 'data-testid': 'create-form', 'aria-labelledby': 'create-title' },
    name.wrap, scheme.wrap, kind.wrap,
    el('div', { class: 'span-all' }, description.wrap),
    el('div', { class: 'form-actions span-all' }, submit));
  formBanner(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const n = name.control.value.trim();
    const d = description.control.value.trim();
    if (reportInvalid(form, [
      [name.control, !n ? 'Give the list a name.' : n.length > 200 ? 'Use at most 200 characters.' : ''],
      [description.control, d.length > 2000 ? 'Use at most 2000 characters.' : ''],
    ])) return;
    const body = { name: n, scheme: scheme.control.value, kind: kind.control.value };
    if (d) body.description = d;
    setBusy(submit, true, 'Creating…');
    try {
      const list = await api('POST', '/hash-lists', { body });
      location.assign(`${listHref(list.id)}&created=1`);
      return;
    } catch (err) {
      showFormError(form, err, 'The list was not created');
    }
    setBusy(submit, false);
  });
  clear(container);
  container.append(form);
}

// Page start: session, then the lists and (for analysts) the create form.
async function init() {
  const me = await initSession(banner);
  loading.hidden = true;
  if (!me) return;
  if (!canUseLists(me)) {
    document.getElementById('no-lists').hidden = false;
    return;
  }
  listsSection.hidden = false;
  document.getElementById('match-link').hidden = false;
  if (canCreateLists(me)) {
    buildCreateForm(document.getElementById('create-body'));
    document.getElementById('create-section').hidden = false;
  } else {
    document.getElementById('viewer-note').hidden = false;
  }
  await loadLists();
}

init();
