// Sign-in page logic: skips ahead when already signed in, otherwise posts the credentials
// (and a TOTP code when the server asks for one) and shows problem details. After sign-in
// a person who must set up TOTP goes to the account page's enrolment, others to the page
// they came from or their landing page.

import { getMe, signIn, ApiError } from './api.js';
import { showError } from './ui.js';
import { landingPage, mustEnrol } from './nav.js';

const form = document.getElementById('signin-form');
const banner = document.getElementById('signin-error');
const emailInput = document.getElementById('email');
const passwordInput = document.getElementById('password');
const totpField = document.getElementById('totp-field');
const totpInput = document.getElementById('totp');
const submit = form.querySelector('button[type="submit"]');

// Where to go after sign-in: TOTP enrolment when it is required, else a validated ?next=
// (our own signed-in pages only), else the person's landing page.
function nextPage(me) {
  if (mustEnrol(me)) return 'account.html';
  const next = new URLSearchParams(location.search).get('next') || '';
  return /^(reports?|admin|account|hashlists?|match)\.html(\?[^#\\]*)?$/.test(next) ? next : landingPage(me);
}

// True when a 401 problem says a TOTP code is needed or wrong.
function mentionsTotp(err) {
  const p = (err && err.problem) || {};
  return /totp|one-time|authenticator/i.test(`${p.type} ${p.title} ${p.detail}`);
}

// Shows a message in the form's error banner.
function showMessage(title, detail) {
  showError(banner, { problem: { title, detail } });
}

// Handles the form submit.
async function onSubmit(event) {
  event.preventDefault();
  showError(banner, null);
  const email = emailInput.value.trim();
  const password = passwordInput.value;
  if (!email || !password) {
    showMessage('Missing details', 'Enter your email address and password.');
    (email ? passwordInput : emailInput).focus();
    return;
  }
  const totp = totpField.hidden ? '' : totpInput.value.trim();
  submit.disabled = true;
  submit.textContent = 'Signing in…';
  try {
    const me = await signIn(email, password, totp);
    location.replace(nextPage(me));
    return;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && mentionsTotp(err)) {
      const wasHidden = totpField.hidden;
      totpField.hidden = false;
      totpInput.required = true;
      showMessage(wasHidden ? 'Authenticator code needed' : 'Sign-in failed',
        err.problem.detail || 'Enter the code from your authenticator app.');
      totpInput.focus();
    } else if (err instanceof ApiError && err.status === 401) {
      showMessage('Sign-in failed', err.problem.detail || 'Wrong email or password.');
      passwordInput.value = '';
      passwordInput.focus();
    } else {
      showError(banner, err, 'Sign-in failed');
    }
  }
  submit.disabled = false;
  submit.textContent = 'Sign in';
}

// On load: go straight on when a session exists.
async function init() {
  form.addEventListener('submit', onSubmit);
  try {
    const me = await getMe();
    location.replace(nextPage(me));
  } catch {
    emailInput.focus();
  }
}

init();
