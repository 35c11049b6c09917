// The one re-authentication mechanism of the portal: when a sensitive call answers 403
// reauth-required, api.js asks this module, which opens a modal <dialog> for the
// password (and authenticator code), posts /me/reauth and lets api.js retry the call
// once. Cancelling rejects with the original error. Concurrent calls share one dialog.

import { api, problemSlug, setReauthHandler } from './api.js';
import { el, uniqueId } from './dom.js';

let codeExpected = false; // the account has TOTP on, so the code field is shown at once
let pending = null; // the open dialog's promise, shared by concurrent calls
let parts = null; // the dialog's elements, built on first use

// Tells the dialog whether the signed-in person has a second factor (from GET /me).
export function setReauthCodeExpected(on) {
  codeExpected = !!on;
}

// Builds a labelled input with its error slot for the dialog.
function dialogField(label, input) {
  const id = uniqueId('reauth');
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), input);
}

// Builds the dialog once and appends it to the body.
function build() {
  const titleId = uniqueId('reauth-title');
  const descId = uniqueId('reauth-desc');
  const error = el('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'reauth-error', hidden: true });
  const password = el('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'reauth-password' });
  const totp = el('input', { type: 'text', name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '32', 'data-testid': 'reauth-totp' });
  const totpField = dialogField('Authenticator code (or a recovery code)', totp);
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'reauth-submit' }, 'Confirm');
  const cancel = el('button', { type: 'button', class: 'btn', 'data-testid': 'reauth-cancel' }, 'Cancel');
  const form = el('form', { novalidate: true },
    el('h2', { id: titleId, text: 'Confirm it is you' }),
    el('p', { id: descId, class: 'muted', text: 'This action needs your password again (and your authenticator code, if you use one). The confirmation lasts a few minutes.' }),
    error,
    dialogField('Password', password),
    totpField,
    el('div', { class: 'form-actions' }, submit, cancel));
  const dialog = el('dialog', { class: 'modal', 'aria-labelledby': titleId, 'aria-describedby': descId, 'data-testid': 'reauth-dialog' }, form);
  document.body.append(dialog);
  return { dialog, form, error, password, totp, totpField, submit, cancel };
}

// Shows a message in the dialog's alert area; null hides it.
function showDialogError(title, detail) {
  parts.error.textContent = '';
  if (!title) { parts.error.hidden = true; return; }
  parts.error.append(el('strong', { text: title }), detail ? ` ${detail}` : '');
  parts.error.hidden = false;
}

// Opens the dialog; resolves after a successful /me/reauth, rejects with original on cancel.
function openDialog(original) {
  if (!parts) parts = build();
  const { dialog, form, password, totp, totpField, submit, cancel } = parts;
  const returnFocus = document.activeElement;
  form.reset();
  showDialogError(null);
  totpField.hidden = !codeExpected;
  submit.disabled = false;
  return new Promise((resolve, reject) => {
    // Closes the dialog, unhooks the listeners and puts focus back where it was.
    const finish = (ok, err) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (returnFocus && typeof returnFocus.focus === 'function' && returnFocus.isConnected) returnFocus.focus();
      if (ok) resolve(); else reject(err);
    };
    // Escape or the Cancel button: the original call fails with its own error.
    function onCancel(event) {
      event.preventDefault();
      finish(false, original);
    }
    // Posts the password (and code) and closes on success; explains failures in place.
    async function onSubmit(event) {
      event.preventDefault();
      showDialogError(null);
      if (!password.value) {
        showDialogError('Password needed.', 'Enter your password.');
        password.focus();
        return;
      }
      const body = { password: password.value };
      if (!totpField.hidden && totp.value.trim()) body.totp = totp.value.trim();
      submit.disabled = true;
      try {
        await api('POST', '/me/reauth', { body, noReauth: true });
        finish(true);
        return;
      } catch (err) {
        const slug = problemSlug(err);
        if (slug === 'totp-required') {
          totpField.hidden = false;
          codeExpected = true;
          showDialogError('Authenticator code needed.', 'Enter the 6-digit code from your authenticator app, or a recovery code.');
          totp.focus();
        } else if (slug === 'bad-credentials') {
          showDialogError('Not confirmed.', 'The password or code is wrong.');
          password.value = '';
          totp.value = '';
          password.focus();
        } else if (err && err.status === 401) {
          finish(false, err); // the session itself has ended: the page sends the person to sign-in
          return;
        } else {
          const p = (err && err.problem) || {};
          const wait = p.retryAfter ? ` Try again in ${p.retryAfter} s.` : '';
          showDialogError(`${p.title || 'Error'}.`, `${p.detail || (err && err.message) || ''}${wait}`);
        }
      }
      submit.disabled = false;
    }
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    password.focus();
  });
}

// The handler api.js calls: one dialog at a time, shared by every waiting call; on
// cancel each call fails with its own original error.
function askReauth(original) {
  if (!pending) pending = openDialog(original).finally(() => { pending = null; });
  return pending.catch((err) => {
    throw (err && err.status === 401) ? err : original;
  });
}

setReauthHandler(askReauth);
