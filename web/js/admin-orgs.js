// Organisations tab: the organisations the person administers (operator: all; hotline
// admin: its own and its country's LEAs; others: their own), and for operators a form
// to add one (LEAs normally arrive through the access procedure).

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash, handleError } from './ui.js';
import { dataTable } from './tables.js';
import { field, clearFormErrors, reportInvalid, showFormError, setBusy, statusLine, formBanner } from './forms.js';
import { countryOptions, countryLabel } from './countries.js';
import { isOperator, isAdmin, loadOrgs } from './admin-common.js';

let ctx = null;
let list = null;
let status = null;

// Loads and renders the organisation list.
async function load(force) {
  let items = [];
  try {
    items = await loadOrgs(force);
  } catch (err) {
    handleError(ctx.banner, err, 'Could not load the organisations');
    return;
  }
  const rows = items.map((o) => {
    const show = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'org-users', 'aria-label': `Users of ${o.name}` }, `${o.users} user${o.users === 1 ? '' : 's'}`);
    show.addEventListener('click', () => ctx.go('users', String(o.id)));
    // A hotline admin sees its country's LEAs here but administers only its own users.
    const usersCell = isOperator(ctx.me) || o.id === ctx.me.org.id ? show : String(o.users);
    return { attrs: { 'data-testid': 'org-row', 'data-id': o.id }, cells: [o.name, o.kind, countryLabel(o.country), orDash(o.code), usersCell, formatDate(o.created_at)] };
  });
  clear(list);
  list.append(dataTable({ caption: 'Organisations', testid: 'orgs-table', rows, empty: 'No organisations.',
    columns: ['Name', 'Kind', 'Country', 'Hotline code', 'Users', 'Created'] }));
}

// The operator's form to add an organisation.
function createForm() {
  const kind = field({ label: 'Kind', name: 'kind', type: 'select', required: true, testid: 'org-kind',
    options: [['lea', 'Law-enforcement agency'], ['hotline', 'Hotline'], ['interpol', 'INTERPOL'], ['operator', 'Operator']] });
  const name = field({ label: 'Name', name: 'name', required: true, testid: 'org-name', attrs: { maxlength: '200', autocomplete: 'off' } });
  const country = field({ label: 'Country', name: 'country', type: 'select', required: true, testid: 'org-country', options: countryOptions('Choose…') });
  const code = field({ label: 'Hotline code', name: 'code', testid: 'org-code', hint: 'Hotlines only: their ICCAM code, e.g. NL-EOKM.', attrs: { maxlength: '32', autocomplete: 'off', spellcheck: 'false' } });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'org-create' }, 'Add organisation');
  const form = el('form', { class: 'grid-form card', novalidate: true, 'data-testid': 'org-form', 'aria-labelledby': 'org-form-title' },
    el('h3', { id: 'org-form-title', class: 'span-all', text: 'Add an organisation' }),
    kind.wrap, name.wrap, country.wrap, code.wrap, el('div', { class: 'form-actions span-all' }, submit));
  formBanner(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const body = { kind: kind.control.value, name: name.control.value.trim(), country: country.control.value };
    const c = code.control.value.trim();
    if (c) body.code = c;
    if (reportInvalid(form, [
      [name.control, !body.name ? 'Enter the organisation\'s name.' : ''],
      [country.control, !body.country ? 'Choose a country.' : ''],
      [code.control, body.kind === 'hotline' && !c ? 'A hotline needs its code.' : ''],
    ])) return;
    setBusy(submit, true, 'Adding…');
    try {
      const res = await api('POST', '/admin/orgs', { body });
      status.textContent = `Organisation "${body.name}" added (#${res.id}).`;
      form.reset();
      await load(true);
    } catch (err) {
      showFormError(form, err, 'Not added');
    }
    setBusy(submit, false);
  });
  return form;
}

export default {
  id: 'orgs',
  label: 'Organisations',
  // Organisation administrators and operators.
  allowed: isAdmin,
  // Builds the tab and loads the list.
  init(panel, c) {
    ctx = c;
    list = el('div', { 'data-testid': 'orgs-list' });
    status = statusLine('orgs-status');
    panel.append(el('h2', { text: 'Organisations' }));
    if (isOperator(ctx.me)) panel.append(createForm());
    panel.append(status, list);
    load(false);
  },
};
