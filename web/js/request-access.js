// Public access-request page: checks the fields with the server's rules before sending
// (so most mistakes are explained at once, beside the field), posts /access-requests
// and shows the request number. Server-side 400s are shown beside the field they name.

import { api } from './api.js';
import { showError } from './ui.js';
import { countryOptions, COUNTRY_CODES } from './countries.js';
import { el } from './dom.js';
import { setFieldError, clearFormErrors, reportInvalid, showFormError, setBusy } from './forms.js';

const form = document.getElementById('request-form');
const banner = document.getElementById('request-error');
const done = document.getElementById('request-done');
const countSpan = document.getElementById('justification-count');
const f = form.elements;

// Printable text of 1..max UTF-8 bytes without control characters (the server's rule).
function cleanText(value, max, multiline) {
  if (!value) return false;
  if (new TextEncoder().encode(value).length > max) return false;
  const ctrl = multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
  return !ctrl.test(value);
}

// The server's email rule (lib/orgs.c orgs_valid_email), so the hint matches its answer.
function validEmail(email) {
  const at = email.indexOf('@');
  if (at <= 0 || email.indexOf('@', at + 1) !== -1) return false;
  const domain = email.slice(at + 1);
  return domain.includes('.') && !domain.startsWith('.') && !email.endsWith('.') && !/[ <>,;"']/.test(email);
}

// The server's telephone rule: 5..40 of digits and + ( ) - . / space, at least one digit.
function validPhone(phone) {
  return phone.length >= 5 && phone.length <= 40 && /^[0-9+()\-./ ]+$/.test(phone) && /[0-9]/.test(phone);
}

// One message per field, or '' when it is fine.
function check() {
  // A field's trimmed value.
  const v = (name) => f[name].value.trim();
  return [
    [f.agency, !v('agency') ? 'Enter the agency\'s name.' : !cleanText(v('agency'), 200) ? 'Use at most 200 characters of plain text.' : ''],
    [f.country, !COUNTRY_CODES.includes(f.country.value) ? 'Choose the agency\'s country.' : ''],
    [f.officer, !v('officer') ? 'Enter the responsible officer\'s name.' : !cleanText(v('officer'), 200) ? 'Use at most 200 characters of plain text.' : ''],
    [f.email, !v('email') ? 'Enter the officer\'s work email.' : !validEmail(v('email')) ? 'Enter an email address such as name@police.example.' : ''],
    [f.phone, !v('phone') ? 'Enter a telephone number.' : !validPhone(v('phone')) ? 'Use 5 to 40 digits and + ( ) - . / or spaces, for example +31 70 000 0000.' : ''],
    [f.justification, v('justification').length < 20 ? 'Explain in at least 20 characters why the agency needs access.' : !cleanText(v('justification'), 4000, true) ? 'Use at most 4000 characters of plain text.' : ''],
  ];
}

// Keeps the justification's character count up to date.
function updateCount() {
  const n = f.justification.value.trim().length;
  countSpan.textContent = n >= 20 ? `${n} characters.` : `${n} of at least 20 characters.`;
}

// Sends the request and shows its number.
async function onSubmit(event) {
  event.preventDefault();
  clearFormErrors(form);
  if (reportInvalid(form, check())) return;
  const submit = form.querySelector('button[type="submit"]');
  setBusy(submit, true, 'Sending…');
  const body = {};
  for (const name of ['agency', 'country', 'officer', 'email', 'phone', 'justification']) body[name] = f[name].value.trim();
  try {
    const res = await api('POST', '/access-requests', { body });
    document.getElementById('request-id').textContent = `#${res.id}`;
    form.hidden = true;
    done.hidden = false;
    done.focus();
  } catch (err) {
    showFormError(form, err, 'The request was not sent');
  }
  setBusy(submit, false);
}

// Clears a field's message once the person edits it.
function onInput(event) {
  if (event.target.getAttribute('aria-invalid') === 'true') setFieldError(event.target, '');
  if (event.target === f.justification) updateCount();
}

// Page start: country list, listeners.
function init() {
  for (const [value, label] of countryOptions('Choose a country…')) f.country.append(el('option', { value, text: label }));
  form.addEventListener('submit', onSubmit);
  form.addEventListener('input', onInput);
  form.addEventListener('change', onInput);
  showError(banner, null);
  updateCount();
}

init();
