// The account page's second-factor section: start TOTP enrolment (QR code and the secret
// as text), confirm with a first code, then show the ten recovery codes once with a
// download and an "I have stored them" check before going on.

import { api, problemSlug } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, handleError } from './ui.js';
import { field, checkField, clearFormErrors, showFormError, reportInvalid, setBusy, formBanner } from './forms.js';

// Groups a base32 secret in fours for reading aloud or typing.
function groupSecret(secret) {
  return secret.replace(/\s+/g, '').replace(/(.{4})/g, '$1 ').trim();
}

// A random cache-busting value for the QR image address.
function nonce() {
  const a = new Uint32Array(2);
  crypto.getRandomValues(a);
  return `${a[0].toString(36)}${a[1].toString(36)}`;
}

// A heading that takes focus when a step changes, so screen readers follow along.
function stepHeading(text, testid) {
  return el('h3', { tabindex: '-1', 'data-testid': testid, text });
}

// Shows the section for this person; opts: forced, setup, skipTo, onFinished.
export function renderTotp(container, me, opts) {
  if (me.mfa && me.mfa.enabled) showOn(container);
  else showIntro(container, me, opts);
}

// The "on" state.
function showOn(container) {
  clear(container);
  container.append(
    el('p', { class: 'state-on', 'data-testid': 'totp-on' }, el('strong', { text: 'On.' }),
      ' Signing in and sensitive actions ask for a code from your authenticator app.'),
    el('p', { class: 'muted', text: 'Lost your phone or moving to a new one? Use a recovery code to sign in, and ask your organisation\'s administrator for a reset link to set up the new phone.' }));
}

// Explanation and the start button.
function showIntro(container, me, opts) {
  clear(container);
  const why = opts.forced
    ? 'Your organisation requires a second factor. Before you can use cport, set up an authenticator app on your phone: it shows a new 6-digit code every 30 seconds, which you enter when you sign in and before sensitive actions.'
    : opts.setup
      ? 'Your password is set. Now protect your account with an authenticator app on your phone: it shows a new 6-digit code every 30 seconds, which you enter when you sign in and before sensitive actions.'
      : 'Not set up. An authenticator app on your phone adds a 6-digit code to your password when you sign in, so a stolen password alone is not enough.';
  const start = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'totp-start' }, 'Set up an authenticator app');
  const actions = el('div', { class: 'form-actions' }, start);
  if (opts.setup && !opts.forced) actions.append(el('a', { class: 'btn-link', href: opts.skipTo, 'data-testid': 'totp-skip' }, 'Not now'));
  const banner = el('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  container.append(el('p', { 'data-testid': 'totp-intro', text: why }), banner, actions);
  start.addEventListener('click', async () => {
    setBusy(start, true, 'Starting…');
    try {
      const res = await api('POST', '/me/totp');
      showPending(container, me, opts, res.secret);
    } catch (err) {
      if (err.status === 409) { showOn(container); return; }
      handleError(banner, err, 'Could not start');
      setBusy(start, false);
    }
  });
}

// The QR code, the secret as text and the confirm form.
function showPending(container, me, opts, secret) {
  clear(container);
  const code = field({ label: 'Code shown by the app', name: 'code', required: true, testid: 'totp-code',
    hint: 'The 6 digits the app shows now for cport.',
    attrs: { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '8', pattern: '[0-9]{6}', class: 'input-code' } });
  const confirm = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'totp-confirm' }, 'Turn on');
  const restart = el('button', { type: 'button', class: 'btn', 'data-testid': 'totp-restart' }, 'Start again with a new secret');
  const form = el('form', { novalidate: true, 'data-testid': 'totp-confirm-form' }, code.wrap, el('div', { class: 'form-actions' }, confirm, restart));
  formBanner(form);
  const heading = stepHeading('Connect your authenticator app', 'totp-pending');
  container.append(heading, el('ol', { class: 'steps' },
    el('li', null, el('p', { text: 'Scan this QR code with the authenticator app (for example Aegis, FreeOTP, Google Authenticator or Microsoft Authenticator):' }),
      el('img', { class: 'qr', src: `/api/v1/me/totp/qr.svg?x=${nonce()}`, width: '200', height: '200', alt: 'QR code of your new authenticator secret (the same secret is written out below)', 'data-testid': 'totp-qr' })),
    el('li', null, el('p', { text: 'Or, if you cannot scan, type this secret into the app (time-based, 6 digits, every 30 seconds):' }),
      el('code', { class: 'secret', 'data-testid': 'totp-secret', text: groupSecret(secret) })),
    el('li', null, el('p', { text: 'Enter the code the app now shows, to prove it works:' }), form)));
  heading.focus();
  restart.addEventListener('click', () => showIntro(container, me, { ...opts, setup: true }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const value = code.control.value.replace(/\s+/g, '');
    if (reportInvalid(form, [[code.control, /^[0-9]{6,8}$/.test(value) ? '' : 'Enter the 6 digits the app shows.']])) return;
    setBusy(confirm, true, 'Checking…');
    try {
      const res = await api('POST', '/me/totp/confirm', { body: { code: value } });
      showCodes(container, me, opts, res.recovery_codes || []);
      return;
    } catch (err) {
      if (problemSlug(err) === 'conflict') {
        showFormError(form, { problem: { title: 'This secret is no longer pending', detail: 'Start again with a new secret.' } });
      } else {
        showFormError(form, err, 'Not turned on');
      }
    }
    setBusy(confirm, false);
  });
  code.control.focus();
}

// The recovery codes, shown once: list, download, "stored" check and Continue.
function showCodes(container, me, opts, codes) {
  clear(container);
  const text = [`cport recovery codes for ${me.user.email}`, `Created ${formatDate(new Date().toISOString())}`,
    'Each code signs you in once in place of an authenticator code.', '', ...codes, ''].join('\n');
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const stored = checkField({ name: 'stored', label: 'I have stored these recovery codes somewhere safe', testid: 'recovery-stored' });
  const next = el('button', { type: 'button', class: 'btn btn-primary', disabled: true, 'data-testid': 'recovery-continue' }, 'Continue');
  const heading = stepHeading('The authenticator app is on: store your recovery codes', 'recovery-title');
  container.append(heading,
    el('p', { text: 'If you lose your phone, each of these codes signs you in once instead of an authenticator code. They are shown only now: download them or write them down, and keep them apart from your password.' }),
    el('ol', { class: 'recovery-codes', 'data-testid': 'recovery-codes' }, codes.map((c) => el('li', null, el('code', { text: c })))),
    el('p', null, el('a', { href: url, download: 'cport-recovery-codes.txt', class: 'btn', 'data-testid': 'recovery-download' }, 'Download as a text file')),
    stored.wrap,
    el('div', { class: 'form-actions' }, next));
  heading.focus();
  stored.control.addEventListener('change', () => { next.disabled = !stored.control.checked; });
  next.addEventListener('click', () => {
    URL.revokeObjectURL(url);
    showOn(container);
    opts.onFinished();
  });
}
