// Export links of one hash list: the whole list as VICS JSON, CSV or text, and what
// changed after a given version (entries marked added, changed or removed) for someone
// keeping a copy in step. Plain download links: the browser saves the server's file.

import { el, clear } from './dom.js';
import { field, setFieldError } from './forms.js';

const FORMATS = [['vics', 'VICS JSON'], ['csv', 'CSV'], ['text', 'Text']];

// The export address of a list in a format, optionally only the changes after `since`.
function exportHref(id, format, since) {
  const sp = new URLSearchParams({ format });
  if (since !== null && since !== undefined) sp.set('since', String(since));
  return `/api/v1/hash-lists/${encodeURIComponent(id)}/export?${sp}`;
}

// One download link styled as a button.
function downloadLink(text, testid) {
  return el('a', { class: 'btn', download: '', 'data-testid': testid }, text);
}

// Builds the export section; the "since" links follow the version field and the list.
export function initExport(container, ctx) {
  const full = FORMATS.map(([format, label]) => {
    const a = downloadLink(label, `export-${format}`);
    a.href = exportHref(ctx.id, format);
    a.setAttribute('aria-label', `Download the whole list as ${label}`);
    return a;
  });
  const since = field({ label: 'Changes since version', name: 'since', type: 'number', testid: 'export-since', value: 0,
    hint: 'Entries added, changed or removed after this version of the list.', attrs: { min: '0', step: '1', inputmode: 'numeric' } });
  const changes = FORMATS.map(([format, label]) => ({ format, label, a: downloadLink(label, `export-since-${format}`) }));
  const changesRow = el('div', { class: 'form-actions', 'data-testid': 'export-since-links' }, changes.map((c) => c.a));

  // Points the change links at the version typed in, or takes them away while it is not valid.
  function syncSince() {
    const raw = since.control.value.trim();
    const n = Number(raw);
    const max = ctx.list ? Number(ctx.list.version || 0) : Infinity;
    let problem = '';
    if (raw === '' || !Number.isInteger(n) || n < 0) problem = 'Enter a version: a whole number, 0 or more.';
    else if (n > max) problem = `The list is at version ${max}; nothing changed after version ${n}.`;
    setFieldError(since.control, problem);
    for (const c of changes) {
      if (problem) {
        c.a.removeAttribute('href');
        c.a.setAttribute('aria-disabled', 'true');
      } else {
        c.a.href = exportHref(ctx.id, c.format, n);
        c.a.removeAttribute('aria-disabled');
        c.a.setAttribute('aria-label', `Download the changes after version ${n} as ${c.label}`);
      }
    }
  }

  since.control.addEventListener('input', syncSince);
  ctx.onList(syncSince);
  clear(container);
  container.append(
    el('h3', { text: 'The whole list' }),
    el('div', { class: 'form-actions', 'data-testid': 'export-links' }, full),
    el('h3', { text: 'Only the changes' }),
    el('div', { class: 'export-since' }, since.wrap),
    changesRow,
    el('p', { class: 'muted small', text: 'Exports are recorded in the audit trail.' }));
  syncSince();
}
