// Accessible form helpers: labelled fields built with a hint and an error slot (a polite
// live region next to the control), a form-level alert banner, and one way to show an
// API problem: beside the field it names (problem.field) or in the banner.

import { problemSlug, isUnauthorized } from './api.js';
import { el, uniqueId } from './dom.js';
import { showError, redirectToSignIn } from './ui.js';

// Wires a control to a hint and an error slot (ids in aria-describedby).
function describe(control, hint, error) {
  const ids = [hint && hint.id, error.id].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', ids);
}

// The error slot of a field: always rendered (empty when fine) so screen readers hear changes.
function errorSlot(id) {
  return el('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
}

// Builds a labelled field. opts: label, name, type (text, email, number, date, select,
// textarea, ...), value, required, hint, options ([value, label] pairs for selects),
// attrs (extra control attributes), testid. Returns {wrap, control}.
export function field(opts) {
  const id = opts.id || uniqueId(`f-${opts.name}`);
  let control;
  if (opts.type === 'select') {
    control = el('select', { id, name: opts.name, required: !!opts.required, ...(opts.attrs || {}) });
    for (const [value, label] of opts.options || []) control.append(el('option', { value, text: label }));
  } else if (opts.type === 'textarea') {
    control = el('textarea', { id, name: opts.name, required: !!opts.required, rows: opts.rows || 3, ...(opts.attrs || {}) });
  } else {
    control = el('input', { id, name: opts.name, type: opts.type || 'text', required: !!opts.required, ...(opts.attrs || {}) });
  }
  if (opts.value !== undefined && opts.value !== null) control.value = String(opts.value);
  if (opts.testid) control.setAttribute('data-testid', opts.testid);
  const label = el('label', { for: id }, opts.label, opts.required ? el('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null);
  const hint = opts.hint ? el('p', { class: 'hint', id: `${id}-hint`, text: opts.hint }) : null;
  const error = errorSlot(id);
  describe(control, hint, error);
  return { wrap: el('div', { class: `field${opts.wide ? ' field-wide' : ''}` }, label, control, hint, error), control };
}

// Builds a checkbox with its label to the right. Returns {wrap, control}.
export function checkField(opts) {
  const id = opts.id || uniqueId(`f-${opts.name}`);
  const control = el('input', { id, name: opts.name, type: 'checkbox', 'data-testid': opts.testid });
  control.checked = !!opts.checked;
  const hint = opts.hint ? el('p', { class: 'hint', id: `${id}-hint`, text: opts.hint }) : null;
  const error = errorSlot(id);
  describe(control, hint, error);
  return { wrap: el('div', { class: 'field field-check' }, el('div', { class: 'check-row' }, control, el('label', { for: id, text: opts.label })), hint, error), control };
}

// The form's alert banner (first child), created when the form has none.
export function formBanner(form) {
  let banner = form.querySelector(':scope > .form-banner');
  if (!banner) {
    banner = el('div', { class: 'banner banner-error form-banner', role: 'alert', hidden: true, 'data-testid': 'form-error' });
    form.prepend(banner);
  }
  return banner;
}

// Shows (or with an empty message clears) the error beside one control.
export function setFieldError(control, message) {
  const slot = control && document.getElementById(`${control.id}-error`);
  if (!slot) return;
  slot.textContent = message || '';
  if (message) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

// Clears every field error and the banner of a form.
export function clearFormErrors(form) {
  for (const control of form.querySelectorAll('[aria-invalid="true"]')) setFieldError(control, '');
  showError(formBanner(form), null);
}

// The control of a form named like an API member, or null.
function namedControl(form, name) {
  if (!name) return null;
  const c = form.elements.namedItem(name);
  return c && !(c instanceof RadioNodeList) ? c : null;
}

// Shows an API error on a form: beside the named field when the problem has one, else in
// the banner; a lost session goes to sign-in, a pending enrolment to the account page.
export function showFormError(form, err, prefix) {
  if (!err || err.name === 'AbortError') return;
  if (isUnauthorized(err)) { redirectToSignIn(); return; }
  const slug = problemSlug(err);
  if (slug === 'mfa-enrolment-required') { location.replace('account.html'); return; }
  const banner = formBanner(form);
  if (slug === 'reauth-required') {
    showError(banner, { problem: { title: 'Not done', detail: 'This action needs you to confirm your password. Submit again and confirm when asked.' } });
    return;
  }
  const control = namedControl(form, err.problem && err.problem.field);
  if (control && err.status === 400) {
    setFieldError(control, err.problem.detail || err.problem.title);
    showError(banner, { problem: { title: prefix || 'Please check the form', detail: `${fieldLabel(control)}: see the message below it.` } });
    control.focus();
    return;
  }
  showError(banner, err, prefix);
}

// The visible label text of a control (for messages), or its name.
export function fieldLabel(control) {
  const label = control.id && document.querySelector(`label[for="${control.id}"]`);
  return label ? label.textContent.replace(/\s*\*\s*$/, '').trim() : control.name;
}

// Marks the first of several client-side problems ([control, message] pairs) and focuses
// it; returns true when there were any.
export function reportInvalid(form, problems) {
  const bad = problems.filter(([, message]) => message);
  for (const [control, message] of bad) setFieldError(control, message);
  if (!bad.length) return false;
  const n = bad.length;
  showError(formBanner(form), { problem: { title: n === 1 ? 'One field needs attention' : `${n} fields need attention`, detail: 'See the messages below the fields.' } });
  bad[0][0].focus();
  return true;
}

// Disables a submit button while a request runs, with a progress label.
export function setBusy(button, busy, busyLabel) {
  if (busy) {
    button.dataset.label = button.textContent;
    button.textContent = busyLabel || 'Working…';
    button.disabled = true;
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    button.disabled = false;
  }
}

// A polite status line for success messages of a section.
export function statusLine(testid) {
  return el('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-testid': testid });
}
