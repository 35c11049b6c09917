// Saved searches and exports on the reports page: the current filters can be
// kept under a name; the panel lists the person's saved searches with how many
// reports are new since each was last opened (counted after imports, not on
// page load); opening one resets its count and shows its reports. The export
// links download the whole current search as CSV or NDJSON (streamed, audited).

import { api, toQuery } from './api.js';
import { el, clear } from './dom.js';

// Renders the panel into host. opts: filters() -> the current filter object,
// sort() -> the current sort, open(filters) -> show a saved search's reports,
// report(err, prefix) -> show an error.
export function savedSearches(host, opts) {
  const list = el('ul', { class: 'saved-list', 'data-testid': 'saved-list' });
  const name = el('input', { type: 'text', maxlength: '120', placeholder: 'Name of this search', 'data-testid': 'save-name',
    'aria-label': 'Name of this search' });
  const save = el('button', { type: 'submit', class: 'btn btn-small', 'data-testid': 'save-search' }, 'Save search');
  const form = el('form', { class: 'save-form', novalidate: true }, name, save);
  const csv = el('a', { class: 'btn btn-small', 'data-testid': 'export-csv', download: '' }, 'Export CSV');
  const ndjson = el('a', { class: 'btn btn-small', 'data-testid': 'export-ndjson', download: '' }, 'Export NDJSON');
  host.replaceChildren(
    el('h2', { id: 'saved-heading', text: 'Saved searches' }),
    list,
    form,
    el('div', { class: 'export-links' }, csv, ' ', ndjson));
  host.hidden = false;

  // Points the export links at the current search (every page of it).
  function updateExports() {
    const q = { ...opts.filters(), sort: opts.sort() };
    csv.href = `/api/v1/reports/export${toQuery({ ...q, format: 'csv' })}`;
    ndjson.href = `/api/v1/reports/export${toQuery({ ...q, format: 'ndjson' })}`;
  }

  // One saved search: open (with its new count) and delete.
  function item(s) {
    const open = el('button', { type: 'button', class: 'link-button', 'data-testid': 'saved-open', 'data-id': String(s.id) }, s.name);
    const badge = s.new_count > 0
      ? el('span', { class: 'badge badge-new', 'data-testid': 'saved-new', title: 'reports added or changed since you last opened it' },
        `${s.new_count.toLocaleString('en')} new`)
      : null;
    const del = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'saved-delete', 'aria-label': `Delete ${s.name}` }, '×');
    open.addEventListener('click', async () => {
      try {
        await api('POST', `/searches/${s.id}/open`);
        opts.open(s.filter || {});
        refresh();
      } catch (err) { opts.report(err, 'Could not open the search'); }
    });
    del.addEventListener('click', async () => {
      try {
        await api('DELETE', `/searches/${s.id}`);
        refresh();
      } catch (err) { opts.report(err, 'Could not delete the search'); }
    });
    return el('li', { 'data-testid': 'saved-item' }, open, ' ', badge, ' ', del);
  }

  // Reloads the list.
  async function refresh() {
    try {
      const r = await api('GET', '/searches');
      clear(list);
      if (!r.items.length) list.append(el('li', { class: 'muted small' }, 'None yet.'));
      for (const s of r.items) list.append(item(s));
    } catch (err) { opts.report(err, 'Could not load saved searches'); }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = name.value.trim();
    if (!n) { name.focus(); return; }
    try {
      await api('POST', '/searches', { body: { name: n, filter: opts.filters() } });
      name.value = '';
      refresh();
    } catch (err) { opts.report(err, 'Could not save the search'); }
  });
  refresh();
  return { updateExports, refresh };
}
