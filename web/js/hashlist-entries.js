// The entries of one hash list: a table paged with the API's keyset cursor (a stack of
// the cursors seen gives "previous"), an algorithm filter and page size; for the owner's
// analysts each entry can be disabled, enabled or removed, and a form adds one entry.

import { api } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import { formatDate, orDash, handleError } from './ui.js';
import { dataTable, badge } from './tables.js';
import { field, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner, statusLine } from './forms.js';
import { ALGORITHMS, HEX_DIGITS, labelOf, hashText, enabledBadge, confirmButton } from './hashlists-common.js';

const PAGE_SIZES = [50, 100, 200, 500];

// A labelled inline select for the filter bar. Returns the select.
function barSelect(label, options, testid) {
  const id = uniqueId('entries');
  const select = el('select', { id, 'data-testid': testid });
  for (const [value, text] of options) select.append(el('option', { value, text }));
  return { select, wrap: [el('label', { for: id, class: 'inline-label', text: label }), select] };
}

// Badges for an entry's known facts (victim, offender, distributed), or a dash.
function entryFlags(e) {
  const flags = [];
  if (e.victim_identified) flags.push(badge('victim identified', 'badge-ok'));
  if (e.offender_identified) flags.push(badge('offender identified', 'badge-ok'));
  if (e.is_distributed) flags.push(badge('distributed', 'badge-warn'));
  return flags.length ? el('span', { class: 'badges' }, flags) : '—';
}

// The version that added an entry, and the one that last changed it when different.
function entryVersion(e) {
  if (e.version === e.added_version || e.version === null || e.version === undefined) return String(e.added_version ?? '—');
  return el('span', { title: `added in version ${e.added_version}, last changed in version ${e.version}` }, `${e.added_version} → ${e.version}`);
}

// The first and last digits of a hash, to name an entry in button labels.
function shortHash(value) {
  const v = String(value || '');
  return v.length > 16 ? `${v.slice(0, 8)}…${v.slice(-4)}` : v;
}

// Builds the entries section; returns {reload(toFirstPage)} for the other sections.
export function initEntries(container, ctx) {
  const alg = barSelect('Algorithm', [['', 'All'], ...ALGORITHMS], 'entries-algorithm');
  const size = barSelect('Rows per page', PAGE_SIZES.map((n) => [String(n), String(n)]), 'entries-page-size');
  const count = el('p', { class: 'result-count', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', 'data-testid': 'entries-count' });
  const status = statusLine('entries-status');
  status.tabIndex = -1;
  const tableArea = el('div', { class: 'entries-area', 'aria-busy': 'false', 'data-testid': 'entries-area' });
  const prev = el('button', { type: 'button', class: 'btn', 'data-testid': 'entries-prev', disabled: true }, '← Previous');
  const next = el('button', { type: 'button', class: 'btn', 'data-testid': 'entries-next', disabled: true }, 'Next →');
  const pageLabel = el('span', { class: 'page-label', 'data-testid': 'entries-page' });
  clear(container);
  container.append(
    el('div', { class: 'filter-bar' }, alg.wrap, size.wrap, el('span', { class: 'spacer' }), count),
    status,
    tableArea,
    el('nav', { class: 'pager', 'aria-label': 'Entry pages' }, prev, pageLabel, next));

  // Paging state: the cursor of this page, the cursors of the pages before it, the next one.
  let cursor = '';
  let stack = [];
  let nextCursor = null;
  let controller = null;

  // One row of the table, with the owner's actions.
  function entryRow(e) {
    const cells = [
      labelOf(ALGORITHMS, e.algorithm),
      el('span', { 'data-testid': 'entry-value' }, hashText(e.value)),
      orDash(e.category),
      orDash(e.series),
      orDash(e.media_id),
      entryFlags(e),
      orDash(e.source),
      formatDate(e.added_at),
      entryVersion(e),
      enabledBadge(e.enabled, 'entry-state'),
    ];
    if (ctx.editable) {
      const verb = e.enabled ? 'Disable' : 'Enable';
      const toggle = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'entry-toggle', 'aria-label': `${verb} entry ${shortHash(e.value)}` }, verb);
      toggle.addEventListener('click', () => setEnabled(e, !e.enabled, toggle));
      const remove = confirmButton({
        label: 'Remove', confirmLabel: 'Confirm removal', testid: 'entry-remove',
        ariaLabel: `Remove entry ${shortHash(e.value)}`,
        onConfirm: () => removeEntry(e),
      });
      cells.push(el('span', { class: 'row-actions' }, toggle, remove));
    }
    return { attrs: { 'data-testid': 'entry-row', 'data-id': String(e.id) }, cells };
  }

  // Loads the current page and renders it; resolves with the number of rows shown.
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    const limit = Number(size.select.value);
    tableArea.setAttribute('aria-busy', 'true');
    let data;
    try {
      data = await api('GET', `/hash-lists/${ctx.id}/entries`, { query: { algorithm: alg.select.value, limit, cursor }, signal });
    } catch (err) {
      if (signal.aborted || (err && err.name === 'AbortError')) return -1;
      tableArea.setAttribute('aria-busy', 'false');
      handleError(ctx.banner, err, 'Could not load the entries');
      return -1;
    }
    const items = Array.isArray(data.items) ? data.items : [];
    nextCursor = data.next_cursor || null;
    const columns = ['Algorithm', 'Hash', 'Category', 'Series', 'Media ID', 'Known', 'Source', 'Added', { label: 'Version', num: true }, 'State'];
    if (ctx.editable) columns.push('Actions');
    clear(tableArea);
    tableArea.append(dataTable({
      caption: 'Entries of this list', testid: 'entries-table', columns, rows: items.map(entryRow),
      empty: alg.select.value ? 'No entries with this algorithm on this page.' : 'This list has no entries yet.',
    }));
    tableArea.setAttribute('aria-busy', 'false');
    const page = stack.length + 1;
    const first = stack.length * limit + 1;
    count.textContent = items.length ? `Entries ${first.toLocaleString('en')}–${(first + items.length - 1).toLocaleString('en')}` : '';
    pageLabel.textContent = items.length || page > 1 ? `Page ${page}` : '';
    prev.disabled = !stack.length;
    next.disabled = !nextCursor;
    return items.length;
  }

  // Reloads: the current page, or the first one (after an import, a filter change).
  async function reload(toFirstPage) {
    if (toFirstPage) { cursor = ''; stack = []; }
    const n = await load();
    // A page emptied by removals: step back to the one before it.
    if (n === 0 && stack.length) {
      cursor = stack.pop();
      await load();
    }
  }

  // Puts focus back on a row's control after the table was rebuilt (or on the status).
  function refocus(id, testid) {
    const target = tableArea.querySelector(`tr[data-id="${id}"] [data-testid="${testid}"]`);
    (target || status).focus();
  }

  // Disables or enables one entry (PATCH), then reloads the page and the list.
  async function setEnabled(e, enabled, button) {
    button.disabled = true;
    try {
      await api('PATCH', `/hash-entries/${e.id}`, { body: { enabled } });
      status.textContent = enabled ? `Entry ${shortHash(e.value)} enabled: it matches again.` : `Entry ${shortHash(e.value)} disabled: it no longer matches.`;
    } catch (err) {
      handleError(ctx.banner, err, 'The entry was not changed');
      button.disabled = false;
      return;
    }
    await reload(false);
    refocus(e.id, 'entry-toggle');
    ctx.refresh();
  }

  // Removes one entry (DELETE), then reloads; false keeps the row's buttons usable.
  async function removeEntry(e) {
    try {
      await api('DELETE', `/hash-entries/${e.id}`);
    } catch (err) {
      handleError(ctx.banner, err, 'The entry was not removed');
      return false;
    }
    status.textContent = `Entry ${shortHash(e.value)} removed.`;
    await reload(false);
    status.focus();
    ctx.refresh();
    return true;
  }

  alg.select.addEventListener('change', () => reload(true));
  size.select.addEventListener('change', () => reload(true));
  next.addEventListener('click', async () => {
    if (!nextCursor) return;
    stack.push(cursor);
    cursor = nextCursor;
    await load();
    (next.disabled ? prev : next).focus();
  });
  prev.addEventListener('click', async () => {
    if (!stack.length) return;
    cursor = stack.pop();
    await load();
    (prev.disabled ? next : prev).focus();
  });
  load();
  return { reload };
}

// Checks a hash value against the algorithm (hex of the right length; PhotoDNA also base64).
function valueProblem(algorithm, value) {
  if (!value) return 'Enter the hash value.';
  const digits = HEX_DIGITS[algorithm];
  if (/^[0-9a-fA-F]+$/.test(value) && value.length === digits) return '';
  if (algorithm === 'photodna' && /^[A-Za-z0-9+/]{190,192}={0,2}$/.test(value)) return '';
  return `A ${labelOf(ALGORITHMS, algorithm)} hash is ${digits} hex digits${algorithm === 'photodna' ? ' (or 192 base64 characters)' : ''}; this is ${value.length} characters.`;
}

// A yes/no/unknown select for an optional boolean fact about an entry.
function triState(label, name, testid) {
  return field({ label, name, type: 'select', testid, options: [['', 'Unknown'], ['true', 'Yes'], ['false', 'No']] });
}

// Builds the owner's add-entry form (adding a value already there updates that entry).
export function initAddEntry(container, ctx) {
  const algorithm = field({ label: 'Algorithm', name: 'algorithm', type: 'select', required: true, options: ALGORITHMS, value: 'md5', testid: 'add-algorithm' });
  const value = field({ label: 'Hash value', name: 'value', required: true, testid: 'add-value', hint: 'Hexadecimal (PhotoDNA also as base64). A value already on the list updates that entry.', attrs: { maxlength: '400', autocomplete: 'off', spellcheck: 'false', class: 'mono' } });
  const category = field({ label: 'Category', name: 'category', testid: 'add-category', hint: 'In the list\'s category scheme, e.g. 1 or A.', attrs: { maxlength: '32', autocomplete: 'off' } });
  const series = field({ label: 'Series', name: 'series', testid: 'add-series', attrs: { maxlength: '200', autocomplete: 'off' } });
  const mediaId = field({ label: 'Media ID', name: 'media_id', testid: 'add-media-id', hint: 'The source\'s own identifier, if any.', attrs: { maxlength: '64', autocomplete: 'off' } });
  const victim = triState('Victim identified', 'victim_identified', 'add-victim');
  const offender = triState('Offender identified', 'offender_identified', 'add-offender');
  const distributed = triState('Distributed', 'is_distributed', 'add-distributed');
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'add-submit' }, 'Add entry');
  const status = statusLine('add-status');
  const form = el('form', { class: 'grid-form', novalidate: true, 'data-testid': 'add-form', 'aria-labelledby': 'add-title' },
    algorithm.wrap, el('div', { class: 'span-all' }, value.wrap), category.wrap, series.wrap, mediaId.wrap,
    victim.wrap, offender.wrap, distributed.wrap,
    el('div', { class: 'form-actions span-all' }, submit));
  formBanner(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    status.textContent = '';
    const a = algorithm.control.value;
    const v = value.control.value.trim();
    if (reportInvalid(form, [[value.control, valueProblem(a, v)]])) return;
    const body = { algorithm: a, value: v };
    for (const f of [category, series, mediaId]) {
      const t = f.control.value.trim();
      if (t) body[f.control.name] = t;
    }
    for (const f of [victim, offender, distributed]) {
      if (f.control.value) body[f.control.name] = f.control.value === 'true';
    }
    setBusy(submit, true, 'Adding…');
    try {
      const res = await api('POST', `/hash-lists/${ctx.id}/entries`, { body });
      const what = { added: 'added', changed: 'updated (it was already on the list)', unchanged: 'already on the list with these details' }[res.result] || 'saved';
      status.textContent = `Entry ${what}; the list is at version ${res.version}.`;
      value.control.value = '';
      value.control.focus();
      ctx.refresh();
      if (ctx.entries) ctx.entries.reload(false);
    } catch (err) {
      showFormError(form, err, 'The entry was not added');
    }
    setBusy(submit, false);
  });
  clear(container);
  container.append(form, status);
}
