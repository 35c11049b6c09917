// Enrolment page: reads the one-time token from the address fragment (and removes it from
// the address bar at once), looks it up to greet the person, sets their password with it
// (which signs them in) and continues to TOTP enrolment on the account page.

import { api, setCsrfToken, problemSlug } from './api.js';
import { showError, formatDate } from './ui.js';
import { clearFormErrors, reportInvalid, showFormError, setFieldError, setBusy } from './forms.js';

const loading = document.getElementById('enrol-loading');
const problem = document.getElementById('enrol-problem');
const greeting = document.getElementById('enrol-greeting');
const form = document.getElementById('enrol-form');
const password = document.getElementById('password');
const confirm = document.getElementById('confirm');

// Why a link came, in the person's terms.
const PURPOSES = {
  activation: 'Your agency\'s access to cport has been approved and you are its first administrator. Choose a password to begin.',
  invite: 'You have been invited to cport. Choose a password to begin.',
  reset: 'An administrator has reset your access. Choose a new password; you will then set up your authenticator app again.',
};

// Takes the token from the fragment and removes it from the address bar and history entry.
function takeToken() {
  const raw = location.hash.replace(/^#/, '');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    return raw.trim(); // a mangled link: the lookup will call it unknown
  }
}

// Shows a link problem (missing, unknown, spent) in place of the form.
function showLinkProblem(kind, title, detail) {
  problem.dataset.kind = kind;
  showError(problem, { problem: { title, detail } });
  greeting.hidden = true;
  form.hidden = true;
}

// Explains a failed lookup or enrolment by the problem type.
function explain(err) {
  const slug = problemSlug(err);
  if (slug === 'enrolment-link-spent') {
    showLinkProblem('spent', 'This link has already been used or has expired.', 'Each link works once and for a limited time. If you have already set your password, sign in; otherwise ask your administrator for a new link.');
  } else if (slug === 'enrolment-link-unknown' || (err && err.status === 400 && err.problem && err.problem.field === 'token')) {
    showLinkProblem('unknown', 'This link is not valid.', 'Check that you opened the whole link from your email. A newer link may have replaced it; ask your administrator.');
  } else {
    showError(problem, err, 'The link could not be checked');
  }
}

// Fills the greeting from the lookup answer.
function greet(info) {
  document.getElementById('enrol-name').textContent = info.name || info.email;
  document.getElementById('enrol-purpose').textContent = PURPOSES[info.purpose] || PURPOSES.invite;
  document.getElementById('enrol-org').textContent = info.org;
  document.getElementById('enrol-email').textContent = info.email;
  document.getElementById('enrol-expires').textContent = formatDate(info.expires_at);
  document.getElementById('enrol-username').value = info.email;
  greeting.hidden = false;
  form.hidden = false;
  password.focus();
}

// Client-side checks matching the server's password rules.
function check(email) {
  const pw = password.value;
  const tooShort = [...pw].length < 12;
  const hasEmail = email && pw.toLowerCase().includes(email.toLowerCase());
  return [
    [password, !pw ? 'Choose a password.' : tooShort ? 'Use at least 12 characters.' : hasEmail ? 'The password must not contain your email address.' : ''],
    [confirm, pw && confirm.value !== pw ? 'The two passwords differ.' : ''],
  ];
}

// Sets the password with the token; the answer signs the person in.
async function onSubmit(event, token, email) {
  event.preventDefault();
  clearFormErrors(form);
  if (reportInvalid(form, check(email))) return;
  const submit = form.querySelector('button[type="submit"]');
  setBusy(submit, true, 'Setting password…');
  try {
    const me = await api('POST', '/enrolment', { body: { token, password: password.value } });
    setCsrfToken(me && me.csrf_token);
    password.value = '';
    confirm.value = '';
    location.replace('account.html?setup=totp');
    return;
  } catch (err) {
    const slug = problemSlug(err);
    if (slug === 'enrolment-link-spent' || slug === 'enrolment-link-unknown') explain(err);
    else showFormError(form, err, 'The password was not set');
  }
  setBusy(submit, false);
}

// Page start: take the token, look it up, show the form or the problem.
async function init() {
  const token = takeToken();
  if (!token) {
    loading.hidden = true;
    showLinkProblem('missing', 'This page needs the link from your email.', 'Open the enrolment link exactly as you received it. For safety the link is removed from the address bar once read, so reloading this page does not work: open the link again.');
    return;
  }
  try {
    const info = await api('POST', '/enrolment/lookup', { body: { token } });
    greet(info);
    form.addEventListener('submit', (e) => onSubmit(e, token, info.email));
    form.addEventListener('input', (e) => { if (e.target.getAttribute('aria-invalid') === 'true') setFieldError(e.target, ''); });
  } catch (err) {
    explain(err);
  }
  loading.hidden = true;
}

init();
