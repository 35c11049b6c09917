// Agreements tab: the agreements the person administers (an LEA admin reads its own; a
// hotline admin those under its code; operators all). Hotline admins and operators add
// agreements, change their terms and end them ("end now" sets the end to this moment).
// Changes need a fresh password confirmation (the shared dialog).

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, handleError } from './ui.js';
import { dataTable, yesNo, badge } from './tables.js';
import { field, clearFormErrors, reportInvalid, showFormError, setBusy, statusLine, formBanner } from './forms.js';
import { termsFields } from './admin-terms.js';
import { isAdmin, isOperator, canEditAgreements, loadOrgs, orgLabel } from './admin-common.js';

let ctx = null;
let parts = null;

// A form for new terms (create) or changed ones (edit: agreement given).
function termsForm(agreement, leas) {
  const editing = !!agreement;
  const terms = termsFields(agreement || { jurisdiction: [] }, editing ? 'edit' : 'new');
  const lea = editing ? null : field({ label: 'LEA organisation', name: 'lea_org_id', type: 'select', required: true, testid: 'agreement-lea',
    options: [['', 'Choose…'], ...leas.map((o) => [String(o.id), orgLabel(o)])] });
  const code = !editing && isOperator(ctx.me)
    ? field({ label: 'Hotline code', name: 'hotline_code', required: true, testid: 'agreement-hotline', hint: 'The national hotline that shares, e.g. NL-EOKM.', attrs: { maxlength: '32', spellcheck: 'false' } })
    : null;
  // New agreements default to the LEA's own country as jurisdiction.
  if (lea) {
    lea.control.addEventListener('change', () => {
      const o = leas.find((x) => String(x.id) === lea.control.value);
      if (o && !terms.controls.jurisdiction.value) terms.controls.jurisdiction.value = o.country;
    });
  }
  const title = editing ? `Change agreement #${agreement.id} (${agreement.lea})` : 'Add an agreement';
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': editing ? 'agreement-save' : 'agreement-create' }, editing ? 'Save changes' : 'Add agreement');
  const cancel = editing ? el('button', { type: 'button', class: 'btn', 'data-testid': 'agreement-cancel' }, 'Cancel') : null;
  const titleId = editing ? 'agreement-edit-title' : 'agreement-new-title';
  const form = el('form', { class: 'grid-form card', novalidate: true, 'data-testid': editing ? 'agreement-edit-form' : 'agreement-form', 'aria-labelledby': titleId },
    el('h3', { id: titleId, class: 'span-all', tabindex: '-1', text: title }),
    lea && lea.wrap, code && code.wrap, terms.wrap, el('div', { class: 'form-actions span-all' }, submit, cancel));
  formBanner(form);
  if (cancel) cancel.addEventListener('click', () => clear(parts.edit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const { body, problems } = terms.read(editing);
    if (lea) {
      body.lea_org_id = Number(lea.control.value);
      problems.unshift([lea.control, !lea.control.value ? 'Choose the LEA.' : '']);
    }
    if (code) {
      body.hotline_code = code.control.value.trim();
      problems.push([code.control, !body.hotline_code ? 'Enter the hotline\'s code.' : '']);
    }
    if (reportInvalid(form, problems)) return;
    setBusy(submit, true, 'Saving…');
    try {
      const res = editing
        ? await api('PATCH', `/admin/agreements/${agreement.id}`, { body })
        : await api('POST', '/admin/agreements', { body });
      parts.status.textContent = editing ? `Agreement #${res.id} changed.` : `Agreement #${res.id} added for ${res.lea}.`;
      await load();
      if (editing) clear(parts.edit); else form.reset();
      return;
    } catch (err) {
      showFormError(form, err, editing ? 'Not changed' : 'Not added');
    }
    setBusy(submit, false);
  });
  return form;
}

// Ends an agreement now (after a confirmation: the LEA loses access at once).
async function endNow(a, button) {
  if (!window.confirm(`End agreement #${a.id} for ${a.lea} now? Its users lose access at once.`)) return;
  button.disabled = true;
  try {
    await api('PATCH', `/admin/agreements/${a.id}`, { body: { valid_to: new Date().toISOString() } });
    parts.status.textContent = `Agreement #${a.id} ended.`;
  } catch (err) {
    handleError(ctx.banner, err, `Could not end agreement #${a.id}`);
  }
  await load();
}

// The edit and end buttons of a row (for those who may change agreements).
function rowActions(a) {
  if (!canEditAgreements(ctx.me)) return '—';
  const edit = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'agreement-edit', 'aria-label': `Change agreement ${a.id} of ${a.lea}` }, 'Change');
  edit.addEventListener('click', () => {
    clear(parts.edit);
    const form = termsForm(a, []);
    parts.edit.append(form);
    form.querySelector('h3').focus();
  });
  const end = el('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'agreement-end', 'aria-label': `End agreement ${a.id} of ${a.lea} now` }, 'End now');
  end.addEventListener('click', () => endNow(a, end));
  return el('div', { class: 'row-actions' }, edit, a.valid_now ? end : null);
}

// Loads and renders the agreements.
async function load() {
  let items = [];
  try {
    items = (await api('GET', '/admin/agreements')).items || [];
  } catch (err) {
    handleError(ctx.banner, err, 'Could not load the agreements');
    return;
  }
  const rows = items.map((a) => ({
    attrs: { 'data-testid': 'agreement-row', 'data-id': a.id, 'data-lea': a.lea },
    cells: [`#${a.id}`, a.lea, a.hotline_code, (a.jurisdiction || []).join(', '), yesNo(a.media_metadata), yesNo(a.media_content),
      yesNo(a.include_reported_from), formatDate(a.valid_from), formatDate(a.valid_to),
      a.valid_now ? badge('in force', 'badge-ok') : badge('not in force', 'badge-off'), rowActions(a)],
  }));
  clear(parts.list);
  parts.list.append(dataTable({ caption: 'Agreements', testid: 'agreements-table', rows, empty: 'No agreements.',
    columns: ['No.', 'LEA', 'Hotline', 'Jurisdiction', 'Metadata', 'Content', 'Reported from', 'Valid from', 'Valid until', 'Now', 'Actions'] }));
}

// Builds the tab (the create form needs the LEA list).
async function build(panel) {
  const list = el('div', { 'data-testid': 'agreements-list' });
  const edit = el('div', { 'data-testid': 'agreement-edit-area' });
  const status = statusLine('agreements-status');
  panel.append(el('h2', { text: 'Agreements' }),
    el('p', { class: 'muted', text: 'An agreement says which countries\' reports an LEA sees and whether media metadata and content are shared. Without one in force the LEA sees nothing.' }));
  parts = { list, edit, status };
  if (canEditAgreements(ctx.me)) {
    let leas = [];
    try {
      leas = (await loadOrgs(false)).filter((o) => o.kind === 'lea');
    } catch (err) {
      handleError(ctx.banner, err, 'Could not load the organisations');
    }
    panel.append(termsForm(null, leas));
  }
  panel.append(status, edit, list);
}

export default {
  id: 'agreements',
  label: 'Agreements',
  // Organisation administrators (LEA admins read theirs) and operators.
  allowed: isAdmin,
  // Builds the tab and loads the list.
  init(panel, c) {
    ctx = c;
    build(panel).then(load);
  },
};
