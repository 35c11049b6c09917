// Packages page: the compose form (title, case reference, notes, media content where the
// agreement shares it, encryption for transport with a passphrase), prefilled with the
// package basket chosen on the reports page; the organisation's packages as they are built
// (packages-list.js) and the public key with the offline verification commands
// (packages-verify.js). #compose in the address moves focus to the form.

import { api } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import { initSession, showError, FILTER_KEYS } from './ui.js';
import { canSeeReports } from './nav.js';
import {
  field, checkField, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner, statusLine,
} from './forms.js';
import {
  loadBasket, emptyBasket, onBasketChange, basketIsEmpty, describeBasket, basketSelection,
  filterQuery, canComposePackages,
} from './basket.js';
import { packageList } from './packages-list.js';
import { renderVerify } from './packages-verify.js';

const banner = document.getElementById('error-banner');
const MIN_PASSPHRASE = 12;
// Links to ticked reports shown in the selection box, at most.
const SHOW_IDS = 100;
// API members that name the selection rather than a field of the form.
const SELECTION_FIELDS = new Set(['report_ids', 'filter', ...FILTER_KEYS]);

// True when /me's scope says an agreement shares media content (scope.media_content of
// an LEA; hotlines and INTERPOL get none, content stays with ICCAM). Without a scope in
// /me the box is shown and the API's 400 explains.
function contentShared(me) {
  const s = me && me.scope;
  if (!s) return true;
  if (s.kind !== 'lea') return false;
  const g = s.media_content;
  return !!g && ((Array.isArray(g.hosting_countries) && g.hosting_countries.length > 0) || !!g.reported_from_own_country);
}

// Fills the selection box with what the basket holds and links to review or change it.
function renderSelection(box) {
  const b = loadBasket();
  clear(box.body);
  if (basketIsEmpty(b)) {
    box.body.append(el('p', { class: 'muted', 'data-testid': 'selection-empty' },
      'Nothing selected yet. On the ',
      el('a', { href: 'reports.html' }, 'Reports page'),
      ', tick reports or use "Add all results" on a search, then come back here.'));
    box.empty.hidden = true;
    return;
  }
  box.body.append(el('p', { class: 'basket-description', 'data-testid': 'selection-summary', text: describeBasket(b) }));
  if (b.filter) {
    const qs = filterQuery(b.filter);
    box.body.append(el('p', { class: 'small' },
      el('a', { href: `reports.html${qs ? `?${qs}` : ''}`, 'data-testid': 'selection-link' }, 'Show these reports'),
      ' — the package takes every report of this search that your organisation may see when it is built.'));
  } else {
    const shown = b.ids.slice(0, SHOW_IDS);
    const more = b.ids.length - shown.length;
    box.body.append(el('details', { class: 'small' },
      el('summary', { text: 'Selected reports' }),
      el('ul', { class: 'id-list' }, shown.map((id) => el('li', null, el('a', { href: `report.html?id=${id}` }, `#${id}`)))),
      more > 0 ? el('p', { class: 'muted', text: `and ${more.toLocaleString('en')} more` }) : null));
  }
  box.empty.hidden = false;
}

// Builds the selection box of the compose form: the basket, an Empty button, an error slot.
function selectionBox() {
  const id = uniqueId('selection');
  const body = el('div', { id: `${id}-body` });
  const empty = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'selection-empty-basket' }, 'Empty the basket');
  const error = el('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite', 'data-testid': 'selection-error' });
  const wrap = el('div', { class: 'selection-box span-all', role: 'group', 'aria-labelledby': `${id}-label`, tabindex: '-1', 'data-testid': 'compose-selection' },
    el('div', { class: 'selection-head' }, el('strong', { id: `${id}-label`, text: 'Reports' }), empty), body, error);
  empty.addEventListener('click', () => emptyBasket());
  return { wrap, body, empty, error };
}

// Builds the compose form; a queued package empties the basket and appears in the list.
function buildComposeForm(container, me, list) {
  const box = selectionBox();
  const title = field({ label: 'Title', name: 'title', required: true, testid: 'compose-title', hint: 'Shown in the package and its manifest, e.g. the operation\'s name.', attrs: { maxlength: '200', autocomplete: 'off' } });
  const caseRef = field({ label: 'Case reference', name: 'case_ref', testid: 'compose-case-ref', hint: 'Optional: your file or case number.', attrs: { maxlength: '100', autocomplete: 'off', spellcheck: 'false' } });
  const notes = field({ label: 'Notes', name: 'notes', type: 'textarea', rows: 4, testid: 'compose-notes', hint: 'Optional, up to 4,000 characters: included in the package as written.', attrs: { maxlength: '4000' } });
  const media = contentShared(me)
    ? checkField({ label: 'Include media content (the files themselves, where your agreement shares them)', name: 'include_media_content', testid: 'compose-media-content', hint: 'Without it the package holds reports and media metadata only.' })
    : null;
  const encrypt = checkField({ label: 'Encrypt for transport', name: 'encrypt', testid: 'compose-encrypt', hint: 'The file is encrypted with a passphrase you give the recipient by another channel.' });
  const pass = field({ label: 'Passphrase', name: 'passphrase', type: 'password', testid: 'compose-passphrase', hint: `At least ${MIN_PASSPHRASE} characters. cport does not keep it: without it the file cannot be opened.`, attrs: { autocomplete: 'new-password', minlength: String(MIN_PASSPHRASE) } });
  const confirm = field({ label: 'Passphrase again', name: 'passphrase_confirm', type: 'password', testid: 'compose-passphrase-confirm', attrs: { autocomplete: 'new-password' } });
  const passGroup = el('div', { class: 'grid-form span-all', 'data-testid': 'compose-passphrase-group', hidden: true }, pass.wrap, confirm.wrap);
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'compose-submit' }, 'Compose package');
  const done = statusLine('compose-status');
  const form = el('form', { class: 'grid-form', novalidate: true, 'data-testid': 'compose-form', 'aria-labelledby': 'compose-title' },
    box.wrap, title.wrap, caseRef.wrap,
    el('div', { class: 'span-all' }, notes.wrap),
    media ? el('div', { class: 'span-all' }, media.wrap) : null,
    el('div', { class: 'span-all' }, encrypt.wrap),
    passGroup,
    el('div', { class: 'form-actions span-all' }, submit),
    el('div', { class: 'span-all' }, done));
  formBanner(form);

  // Shows the passphrase fields only while encryption is ticked.
  const syncEncrypt = () => {
    passGroup.hidden = !encrypt.control.checked;
    pass.control.required = encrypt.control.checked;
    confirm.control.required = encrypt.control.checked;
  };
  encrypt.control.addEventListener('change', syncEncrypt);
  syncEncrypt();
  renderSelection(box);
  onBasketChange(() => { box.error.textContent = ''; renderSelection(box); });

  // Shows a problem with the selection in its box, points to it from the banner, focuses it.
  const selectionError = (title, message) => {
    box.error.textContent = message;
    showError(formBanner(form), { problem: { title, detail: 'See the message about the reports.' } });
    box.wrap.focus();
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    box.error.textContent = '';
    done.textContent = '';
    const b = loadBasket();
    if (basketIsEmpty(b)) { selectionError('Nothing to package', 'Choose reports first: tick them on the Reports page or add all results of a search.'); return; }
    const t = title.control.value.trim();
    const c = caseRef.control.value.trim();
    const n = notes.control.value.trim();
    const p = pass.control.value;
    const enc = encrypt.control.checked;
    if (reportInvalid(form, [
      [title.control, !t ? 'Give the package a title.' : t.length > 200 ? 'Use at most 200 characters.' : ''],
      [caseRef.control, c.length > 100 ? 'Use at most 100 characters.' : ''],
      [notes.control, n.length > 4000 ? `Use at most 4,000 characters (now ${n.length.toLocaleString('en')}).` : ''],
      [pass.control, enc && p.length < MIN_PASSPHRASE ? `Use at least ${MIN_PASSPHRASE} characters.` : ''],
      [confirm.control, enc && p.length >= MIN_PASSPHRASE && confirm.control.value !== p ? 'The two passphrases differ.' : ''],
    ])) return;
    const body = { title: t, ...basketSelection(b) };
    if (c) body.case_ref = c;
    if (n) body.notes = n;
    if (media && media.control.checked) body.include_media_content = true;
    if (enc) body.passphrase = p;
    setBusy(submit, true, 'Composing…');
    try {
      const res = await api('POST', '/packages', { body });
      emptyBasket();
      form.reset();
      syncEncrypt();
      done.textContent = `Package #${res.id} "${t}" is queued: it is built in the background; follow it in the list below.`;
      await list.reload(res.id);
    } catch (err) {
      const name = err && err.problem && err.problem.field;
      if (err && err.status === 400 && SELECTION_FIELDS.has(name)) {
        selectionError('The package was not composed', err.problem.detail || err.problem.title);
      } else {
        showFormError(form, err, 'The package was not composed');
      }
    }
    setBusy(submit, false);
  });
  clear(container);
  container.append(form);
  return { focus: () => title.control.focus() };
}

// Page start: session, then the compose form (for composers), the list and the key.
async function init() {
  const me = await initSession(banner, { allow: canSeeReports });
  document.getElementById('loading').hidden = true;
  if (!me) return;
  const listSection = document.getElementById('list-section');
  const list = packageList(document.getElementById('list-body'), document.getElementById('list-status'), banner);
  listSection.hidden = false;
  const section = document.getElementById('compose');
  if (canComposePackages(me)) {
    const form = buildComposeForm(document.getElementById('compose-body'), me, list);
    section.hidden = false;
    if (location.hash === '#compose') { section.scrollIntoView({ block: 'start' }); form.focus(); }
  } else {
    document.getElementById('viewer-note').hidden = false;
  }
  renderVerify(document.getElementById('verify-body'), document.getElementById('verify-section'));
  await list.reload();
}

init();
