// The owner's file import of one hash list: pick a file (VICS, ICSE, CSV or text), format,
// text algorithm and merge/replace; the file goes up as the raw request body with a
// progress bar, then a "processing" state until the server answers with what it added,
// changed, left alone, removed and rejected (the first invalid lines with their numbers).

import { getMe } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import { formatBytes } from './ui.js';
import { dataTable } from './tables.js';
import { field, checkField, clearFormErrors, reportInvalid, showFormError, setFieldError, setBusy, formBanner } from './forms.js';
import { ALGORITHMS } from './hashlists-common.js';
import { uploadFile } from './upload.js';

const FORMATS = [['', 'Detect from the file'], ['vics', 'VICS JSON (Project VIC 1.3 / 2.0)'], ['icse', 'ICSE CSV (semicolons)'], ['csv', 'CSV with a header'], ['text', 'Text: one hash a line']];

// A file name the API accepts as the import's source (printable, at most 200 characters).
function cleanName(name) {
  const s = String(name || '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return s.slice(0, 200) || 'upload';
}

// The merge/replace radio group. Returns {wrap, value()}.
function modeGroup() {
  const name = uniqueId('mode');
  // One radio with its label.
  const radio = (value, label, checked) => {
    const id = uniqueId('mode-opt');
    const input = el('input', { type: 'radio', id, name, value, 'data-testid': `upload-mode-${value}` });
    input.checked = checked;
    return { input, row: el('div', { class: 'check-row' }, input, el('label', { for: id, text: label })) };
  };
  const merge = radio('merge', 'Merge: add new hashes and update changed ones; keep entries the file lacks', true);
  const replace = radio('replace', 'Replace: the list becomes the file; entries the file lacks are removed', false);
  const wrap = el('fieldset', { class: 'terms field-check' }, el('legend', { text: 'Entries not in the file' }), merge.row, replace.row);
  return { wrap, radios: [merge.input, replace.input], value: () => (replace.input.checked ? 'replace' : 'merge') };
}

// The result card of a finished import: the counts and the invalid lines the server named.
function resultCard(r, fileName) {
  const counts = [
    ['Added', r.added, 'import-added'],
    ['Changed', r.changed, 'import-changed'],
    ['Unchanged', r.unchanged, 'import-unchanged'],
    ['Removed', r.removed, 'import-removed'],
    ['Invalid lines', r.invalid, 'import-invalid'],
    ['List version now', r.version, 'import-version'],
  ];
  const dl = el('dl', { class: 'kv counts', 'data-testid': 'import-counts' });
  for (const [term, n, testid] of counts) {
    dl.append(el('dt', { text: term }), el('dd', { class: 'num', 'data-testid': testid }, Number(n || 0).toLocaleString('en')));
  }
  const card = el('div', { class: 'card success-card', tabindex: '-1', 'data-testid': 'import-result' },
    el('h3', { text: `Imported ${fileName}` }), dl);
  const lines = Array.isArray(r.invalid_lines) ? r.invalid_lines : [];
  if (lines.length) {
    card.append(
      el('h4', { text: 'Invalid lines (skipped)' }),
      dataTable({
        caption: 'Invalid lines of the file', testid: 'invalid-lines',
        columns: [{ label: 'Line', num: true }, 'Reason'],
        rows: lines.map((l) => ({ attrs: { 'data-testid': 'invalid-line' }, cells: [String(l.line), l.reason || '—'] })),
      }));
    if (r.invalid > lines.length) {
      card.append(el('p', { class: 'muted small', text: `Only the first ${lines.length} of ${Number(r.invalid).toLocaleString('en')} invalid lines are listed.` }));
    }
  }
  return card;
}

// Builds the import form with its progress area and result slot.
export function initUpload(container, ctx) {
  const file = field({ label: 'File', name: 'body', type: 'file', required: true, testid: 'upload-file',
    hint: 'VICS JSON, ICSE CSV, CSV with a header naming its columns (md5, sha1, sha256, pdq, photodna, category, series, media_id) or plain text with one hash a line.' });
  const format = field({ label: 'Format', name: 'format', type: 'select', options: FORMATS, testid: 'upload-format' });
  const algorithm = field({ label: 'Algorithm of text lines', name: 'algorithm', type: 'select', testid: 'upload-algorithm',
    options: [['', 'By length'], ...ALGORITHMS],
    hint: 'Text files only. By length: 32 hex digits are MD5, 40 SHA-1, 64 SHA-256, 288 PhotoDNA; choose PDQ when 64-digit lines are PDQ hashes.' });
  const mode = modeGroup();
  const confirmReplace = checkField({ label: 'I understand that entries not in the file will be removed from this list.', name: 'confirm_replace', testid: 'upload-confirm-replace' });
  confirmReplace.wrap.hidden = true;
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'upload-submit' }, 'Import file');
  const cancel = el('button', { type: 'button', class: 'btn', 'data-testid': 'upload-cancel', hidden: true }, 'Cancel upload');
  const form = el('form', { class: 'grid-form', novalidate: true, 'data-testid': 'upload-form', 'aria-labelledby': 'upload-title' },
    el('div', { class: 'span-all' }, file.wrap), format.wrap, algorithm.wrap,
    el('div', { class: 'span-all' }, mode.wrap, confirmReplace.wrap),
    el('div', { class: 'form-actions span-all' }, submit, cancel));
  formBanner(form);

  const barLabelId = uniqueId('upload-progress');
  const bar = el('progress', { class: 'upload-bar', max: '100', value: '0', 'aria-labelledby': barLabelId, 'data-testid': 'upload-progress' });
  const barText = el('span', { id: barLabelId, class: 'upload-text', 'data-testid': 'upload-progress-text' });
  const phase = el('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-testid': 'upload-phase' });
  const progress = el('div', { class: 'upload-progress', hidden: true, 'data-testid': 'upload-progress-area' }, barText, bar);
  const result = el('div', { class: 'result-area', 'data-testid': 'upload-result' });
  let current = null; // the running upload ({promise, abort})

  // Shows the replace confirmation only when "replace" is chosen.
  const syncMode = () => {
    confirmReplace.wrap.hidden = mode.value() !== 'replace';
    if (confirmReplace.wrap.hidden) { confirmReplace.control.checked = false; setFieldError(confirmReplace.control, ''); }
  };
  for (const r of mode.radios) r.addEventListener('change', syncMode);

  // Shows the sending state: percentage and bytes of the file.
  function showSending(loaded, total) {
    const pct = total ? Math.min(100, Math.floor((loaded / total) * 100)) : 0;
    bar.value = pct;
    barText.textContent = `Sending: ${pct} % (${formatBytes(loaded)} of ${formatBytes(total)})`;
  }

  // Switches to the processing state: an indeterminate bar until the server answers.
  function showProcessing() {
    bar.removeAttribute('value');
    barText.textContent = 'Processing on the server…';
    phase.textContent = 'The file is sent; the server is reading it. Large files take a while.';
    cancel.hidden = true;
  }

  cancel.addEventListener('click', () => { if (current) current.abort(); });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (current) return;
    clearFormErrors(form);
    clear(result);
    const f = file.control.files && file.control.files[0];
    if (reportInvalid(form, [
      [file.control, !f ? 'Choose the file to import.' : ''],
      [confirmReplace.control, mode.value() === 'replace' && !confirmReplace.control.checked ? 'Confirm that entries not in the file are to be removed, or choose merge.' : ''],
    ])) return;
    const name = cleanName(f.name);
    setBusy(submit, true, 'Importing…');
    cancel.hidden = false;
    progress.hidden = false;
    showSending(0, f.size);
    phase.textContent = `Uploading ${name} (${formatBytes(f.size)})…`;
    try {
      // A fresh session check: gives the current CSRF token and fails fast, before a
      // large file is sent, when the session has ended.
      const me = await getMe();
      current = uploadFile({
        path: `/hash-lists/${ctx.id}/import`,
        query: { format: format.control.value, algorithm: algorithm.control.value, mode: mode.value(), name },
        file: f,
        csrfToken: me.csrf_token,
        onProgress: showSending,
        onSent: showProcessing,
      });
      const r = await current.promise;
      phase.textContent = `Import finished: ${r.added} added, ${r.changed} changed, ${r.removed} removed, ${r.invalid} invalid.`;
      const card = resultCard(r, name);
      result.append(card);
      card.focus();
      file.control.value = '';
      ctx.refresh();
      if (ctx.entries) ctx.entries.reload(true);
    } catch (err) {
      if (err && err.name === 'AbortError') {
        phase.textContent = 'Upload cancelled; the list is unchanged.';
      } else {
        phase.textContent = 'The import failed; the list is unchanged.';
        // The file's content and its name are the file control's business.
        if (err && err.problem && (err.problem.field === 'name' || err.problem.field === 'body')) err.problem.field = 'body';
        showFormError(form, err, 'The file was not imported');
      }
    }
    current = null;
    progress.hidden = true;
    cancel.hidden = true;
    setBusy(submit, false);
  });
  clear(container);
  container.append(
    el('p', { class: 'muted small', text: 'An import is all or nothing: one new list version, however many entries it touches. Importing the same file again changes nothing.' }),
    form, progress, phase, result);
}
