// One hash list's page (hashlist.html?id=N): its details, and for the owner's analysts the
// change form; then the sections, each in its own module: entries (paged, per-entry
// actions), adding an entry, importing a file with progress, exports, shares and the
// reports whose media hit the list. The sections share one page context (`ctx`) that
// holds the list and reloads it when an entry change moves its version.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash, initSession, handleError, showError } from './ui.js';
import { badge } from './tables.js';
import { field, checkField, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner } from './forms.js';
import {
  SCHEMES, KINDS, labelOf, canUseLists, canEditList, idFromQuery, kindBadge, enabledBadge,
} from './hashlists-common.js';
import { initEntries, initAddEntry } from './hashlist-entries.js';
import { initUpload } from './hashlist-upload.js';
import { initExport } from './hashlist-export.js';
import { initShares } from './hashlist-shares.js';
import { initReportHits } from './hashlist-hits.js';

const banner = document.getElementById('error-banner');
const loading = document.getElementById('loading');
const pageStatus = document.getElementById('page-status');

// The page context the sections share.
const ctx = {
  id: idFromQuery(),
  me: null,
  list: null,
  editable: false,
  banner,
  listeners: [],
  entries: null, // the entries section ({reload(toFirstPage)}), set at start
  // Registers fn(list), called whenever the list has been (re)loaded.
  onList(fn) { this.listeners.push(fn); },
  // Announces a page-level success message in the polite status line.
  announce(text) { pageStatus.textContent = text; },
  // Reloads the list (after imports and entry changes) and tells every section.
  async refresh() {
    try {
      setList(await api('GET', `/hash-lists/${this.id}`));
    } catch (err) {
      handleError(banner, err, 'Could not reload the list');
    }
  },
};

// Keeps a freshly loaded list and re-renders everything that shows it.
function setList(list) {
  ctx.list = list;
  renderTitle(list);
  renderDetails(list);
  for (const fn of ctx.listeners) fn(list);
}

// The page title, heading and the badges beside it.
function renderTitle(l) {
  document.title = `${l.name} — Hash lists — cport`;
  document.getElementById('list-title').textContent = l.name;
  const badges = document.getElementById('list-badges');
  clear(badges);
  badges.append(
    kindBadge(l.kind) || '',
    l.enabled ? '' : enabledBadge(false, 'list-disabled'),
    l.owned ? badge('your organisation\'s', 'badge-current') : badge(`shared by ${l.org || 'another organisation'}`));
}

// The details card: owner, kind, scheme, state, counts, description, dates.
function renderDetails(l) {
  const body = document.getElementById('details-body');
  const dl = el('dl', { class: 'kv', 'data-testid': 'details-fields' });
  const rows = [
    ['Owner', orDash(l.org)],
    ['Kind', labelOf(KINDS, l.kind)],
    ['Category scheme', labelOf(SCHEMES, l.scheme)],
    ['State', enabledBadge(l.enabled, 'list-state')],
    ['Entries', el('span', { 'data-testid': 'list-entries' }, Number(l.entries || 0).toLocaleString('en'))],
    ['Version', el('span', { 'data-testid': 'list-version' }, String(l.version ?? 0))],
    ['Description', l.description ? el('span', { class: 'prewrap' }, l.description) : '—'],
    ['Created', formatDate(l.created_at)],
    ['Last changed', formatDate(l.updated_at)],
  ];
  for (const [term, value] of rows) dl.append(el('dt', { text: term }), el('dd', null, value));
  clear(body);
  body.append(dl);
  if (!l.enabled) {
    body.append(el('p', { class: 'note', text: 'This list is disabled: none of its entries match until it is enabled again.' }));
  }
}

// Builds the owner's change form (name, description, scheme, kind, enabled); sends only
// what changed.
function buildEditForm(container) {
  const name = field({ label: 'Name', name: 'name', required: true, testid: 'edit-name', attrs: { maxlength: '200', autocomplete: 'off' } });
  const description = field({ label: 'Description', name: 'description', type: 'textarea', rows: 2, testid: 'edit-description', attrs: { maxlength: '2000' } });
  const scheme = field({ label: 'Category scheme', name: 'scheme', type: 'select', options: SCHEMES, testid: 'edit-scheme' });
  const kind = field({ label: 'Kind', name: 'kind', type: 'select', options: KINDS, testid: 'edit-kind', hint: 'Hits on a warning list are shown apart from matches.' });
  const enabled = checkField({ label: 'Enabled (its entries match)', name: 'enabled', testid: 'edit-enabled', hint: 'Disabling stops every match of this list at once; nothing is deleted.' });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'edit-submit' }, 'Save changes');
  const form = el('form', { novalidate: true, 'data-testid': 'edit-form', 'aria-labelledby': 'edit-title' },
    name.wrap, description.wrap, scheme.wrap, kind.wrap, enabled.wrap, el('div', { class: 'form-actions' }, submit));
  formBanner(form);

  // Copies the list's current values into the form.
  function fill(l) {
    name.control.value = l.name || '';
    description.control.value = l.description || '';
    scheme.control.value = l.scheme || 'none';
    kind.control.value = l.kind || 'normal';
    enabled.control.checked = !!l.enabled;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const l = ctx.list;
    const n = name.control.value.trim();
    const d = description.control.value.trim();
    if (reportInvalid(form, [
      [name.control, !n ? 'The list needs a name.' : n.length > 200 ? 'Use at most 200 characters.' : ''],
      [description.control, d.length > 2000 ? 'Use at most 2000 characters.' : ''],
    ])) return;
    const body = {};
    if (n !== l.name) body.name = n;
    if (d !== (l.description || '')) body.description = d;
    if (scheme.control.value !== l.scheme) body.scheme = scheme.control.value;
    if (kind.control.value !== l.kind) body.kind = kind.control.value;
    if (enabled.control.checked !== !!l.enabled) body.enabled = enabled.control.checked;
    if (!Object.keys(body).length) { ctx.announce('Nothing to save: no field was changed.'); return; }
    setBusy(submit, true, 'Saving…');
    try {
      setList(await api('PATCH', `/hash-lists/${ctx.id}`, { body }));
      ctx.announce('Changes saved.');
    } catch (err) {
      showFormError(form, err, 'The list was not changed');
    }
    setBusy(submit, false);
  });
  clear(container);
  container.append(form);
  ctx.onList(fill);
}

// Page start: session, the list, then the sections this person may use.
async function init() {
  const me = await initSession(banner);
  if (!me) { loading.hidden = true; return; }
  ctx.me = me;
  if (!canUseLists(me)) {
    loading.hidden = true;
    document.getElementById('no-lists').hidden = false;
    return;
  }
  if (!ctx.id) {
    loading.hidden = true;
    showError(banner, { problem: { title: 'No list selected', detail: 'The link has no valid list id. Choose a list from all hash lists.' } });
    return;
  }
  let list;
  try {
    list = await api('GET', `/hash-lists/${ctx.id}`);
  } catch (err) {
    loading.hidden = true;
    if (err && err.status === 404) {
      showError(banner, { problem: { title: 'List not found', detail: 'There is no such list, or it is not shared with your organisation (any more).' } });
    } else {
      handleError(banner, err, 'Could not load the list');
    }
    return;
  }
  ctx.editable = canEditList(me, list);
  // Reveals a section of the page by its id.
  const show = (id) => { document.getElementById(id).hidden = false; };
  ctx.entries = initEntries(document.getElementById('entries-body'), ctx);
  if (ctx.editable) {
    buildEditForm(document.getElementById('edit-body'));
    initAddEntry(document.getElementById('add-body'), ctx);
    initUpload(document.getElementById('upload-body'), ctx);
    ['edit-section', 'add-section', 'upload-section'].forEach(show);
  }
  // Everyone of the owning organisation sees the shares; only its analysts change them.
  if (list.owned) {
    initShares(document.getElementById('shares-body'), ctx);
    show('shares-section');
  }
  initExport(document.getElementById('export-body'), ctx);
  setList(list);
  initReportHits(document.getElementById('hits-body'), ctx);
  loading.hidden = true;
  show('list-sections');
  show('match-link');
  const params = new URLSearchParams(location.search);
  if (params.get('created') === '1') {
    ctx.announce(ctx.editable ? 'List created. Import a file or add entries below.' : 'List created.');
    history.replaceState(history.state, '', `hashlist.html?id=${ctx.id}`);
  }
}

init();
