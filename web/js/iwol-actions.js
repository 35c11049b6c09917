// The actions on one IWOL suggestion, as its detail's `can` object allows them: confirm
// or dispute with a note (other countries' analysts who see its evidence), answer open
// disputes and submit it to INTERPOL (the suggesting agency), accept, reject or delist
// with a reason (INTERPOL analysts), and ask INTERPOL to delist an accepted domain. The
// API decides (a 409 explains an illegal step and is shown beside the action).

import { api } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import { formatDate, showError } from './ui.js';
import {
  field, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner,
} from './forms.js';
import { COUNTRIES_NEEDED, MAX_NOTE, verdictBadge } from './iwol-common.js';

// The length problem of a note or reason, or ''. required: the message when empty.
function textProblem(value, required) {
  if (!value) return required || '';
  return value.length > MAX_NOTE ? `Use at most ${MAX_NOTE.toLocaleString('en')} characters (now ${value.length.toLocaleString('en')}).` : '';
}

// One action block: a heading, an explanation and the form (with its banner).
function block(testid, title, note, form, attrs) {
  formBanner(form);
  return el('div', { class: 'iwol-action', 'data-testid': testid, ...(attrs || {}) },
    el('h3', { text: title }), note ? el('p', { class: 'small muted', text: note }) : null, form);
}

// Runs an action's POST with the button busy; calls done(message) on success.
async function run(form, button, busyLabel, path, body, failPrefix, done, message) {
  setBusy(button, true, busyLabel);
  try {
    await api('POST', path, { body });
    done(message);
    return;
  } catch (err) {
    showFormError(form, err, failPrefix);
  }
  setBusy(button, false);
}

// Confirm or dispute, with a note (a dispute must say why). Replaces an earlier verdict.
function verifyBlock(s, me, done) {
  const own = (Array.isArray(s.verifications) ? s.verifications : []).find((v) => me && me.org && v.org === me.org.name);
  const groupId = uniqueId('verdict');
  // One verdict choice: a radio with its label and explanation, checked when it is the current verdict.
  const radio = (value, label, hint) => {
    const rid = uniqueId(`verdict-${value}`);
    const input = el('input', { type: 'radio', id: rid, name: 'verdict', value, 'data-testid': `verify-${value}` });
    if (own && own.verdict === value) input.checked = true;
    return el('div', { class: 'check-row' }, input, el('label', { for: rid }, el('strong', { text: label }), el('span', { class: 'hint', text: ` — ${hint}` })));
  };
  const verdictError = el('p', { class: 'field-error', id: `${groupId}-error`, 'aria-live': 'polite', 'data-testid': 'verify-verdict-error' });
  const group = el('fieldset', { class: 'terms field-check', 'aria-describedby': `${groupId}-error` },
    el('legend', { text: 'Your verdict' }),
    radio('confirm', 'Confirm', 'the reports you see show the domain meets all three criteria'),
    radio('dispute', 'Dispute', 'the evidence you see does not support listing it'),
    verdictError);
  const note = field({ label: 'Note', name: 'note', type: 'textarea', rows: 3, testid: 'verify-note', value: own ? own.note || '' : '',
    hint: 'Optional when confirming; say why when disputing — the suggesting agency answers it.', attrs: { maxlength: String(MAX_NOTE) } });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'verify-submit' }, own ? 'Change your verdict' : 'Record your verdict');
  const form = el('form', { novalidate: true, 'data-testid': 'verify-form' }, group, note.wrap, el('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFormErrors(form);
    verdictError.textContent = '';
    const picked = form.querySelector('input[name="verdict"]:checked');
    const n = note.control.value.trim();
    if (!picked) {
      verdictError.textContent = 'Choose confirm or dispute.';
      showError(formBanner(form), { problem: { title: 'Choose a verdict', detail: 'See the message below the choices.' } });
      form.querySelector('input[name="verdict"]').focus();
      return;
    }
    const verdict = picked.value;
    if (reportInvalid(form, [[note.control, textProblem(n, verdict === 'dispute' ? 'Say why you dispute it, so the suggesting agency can answer.' : '')]])) return;
    const body = { verdict };
    if (n) body.note = n;
    run(form, submit, 'Recording…', `/iwol/${encodeURIComponent(s.id)}/verifications`, body, 'Your verdict was not recorded', done,
      verdict === 'confirm' ? `Your organisation confirmed ${s.domain}.` : `Your organisation disputed ${s.domain}; the suggesting agency is asked to answer.`);
  });
  const status = own
    ? el('p', { class: 'small', 'data-testid': 'verify-own' }, 'Your organisation ', verdictBadge(own.verdict), ` on ${formatDate(own.created_at)}. Recording again replaces it.`)
    : null;
  return block('action-verify', 'Confirm or dispute', 'Judge on the reports of this domain that you can see (the evidence below and the link to all of them): does it show real children, under 13, in severe abuse?',
    el('div', null, status, form), { id: 'verify', tabindex: '-1' });
}

// The suggesting agency's answer to the open disputes.
function replyBlock(s, done) {
  const open = (Array.isArray(s.verifications) ? s.verifications : []).filter((v) => v.verdict === 'dispute' && !v.replied);
  const note = field({ label: 'Your answer', name: 'note', type: 'textarea', rows: 3, required: true, testid: 'reply-note',
    hint: 'Shown to the disputing organisations and to INTERPOL.', attrs: { maxlength: String(MAX_NOTE) } });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'reply-submit' }, 'Send answer');
  const form = el('form', { novalidate: true, 'data-testid': 'reply-form' }, note.wrap, el('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const n = note.control.value.trim();
    if (reportInvalid(form, [[note.control, textProblem(n, 'Write your answer to the dispute.')]])) return;
    run(form, submit, 'Sending…', `/iwol/${encodeURIComponent(s.id)}/reply`, { note: n }, 'The answer was not sent', done, 'Your answer was recorded.');
  });
  const list = open.length
    ? el('ul', { class: 'iwol-disputes', 'data-testid': 'open-disputes' }, open.map((v) => el('li', null,
      el('strong', { text: `${v.org || '—'} (${v.country || '—'})` }), ': ', el('span', { class: 'prewrap', text: v.note || 'no note' }))))
    : el('p', { class: 'small muted', text: 'No dispute waits for an answer.' });
  return block('action-reply', 'Answer disputes', 'Disputes must be answered before the suggestion can be submitted.', el('div', null, list, form));
}

// Submitting to INTERPOL (the API answers 409 until two countries confirm, disputes answered).
function submitBlock(s, done) {
  const codes = Array.isArray(s.countries_confirming) ? s.countries_confirming.length : 0;
  const openDisputes = (Array.isArray(s.verifications) ? s.verifications : []).filter((v) => v.verdict === 'dispute' && !v.replied).length;
  const ready = codes >= COUNTRIES_NEEDED && !openDisputes;
  const submit = el('button', { type: 'submit', class: `btn${ready ? ' btn-primary' : ''}`, 'data-testid': 'submit-button' }, 'Submit to INTERPOL');
  const form = el('form', { novalidate: true, 'data-testid': 'submit-form' }, el('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFormErrors(form);
    run(form, submit, 'Submitting…', `/iwol/${encodeURIComponent(s.id)}/submit`, {}, 'The suggestion was not submitted', done,
      `${s.domain} was submitted to INTERPOL for a decision.`);
  });
  const note = ready
    ? `Confirmed by ${codes} countries and no dispute is open: INTERPOL can now review it.`
    : `Not ready yet: it needs ${COUNTRIES_NEEDED} confirming countries (now ${codes})${openDisputes ? ` and answers to ${openDisputes} ${openDisputes === 1 ? 'dispute' : 'disputes'}` : ''}.`;
  return block('action-submit', 'Submit to INTERPOL', note, form);
}

// INTERPOL's decision: accept or reject a submitted suggestion, delist an accepted one.
function decideBlock(s, done) {
  const choices = s.status === 'submitted' ? [['accept', 'Accept', 'btn-primary'], ['reject', 'Reject', 'btn-danger']]
    : s.status === 'accepted' ? [['delist', 'Delist', 'btn-danger']] : [];
  if (!choices.length) return null;
  const reason = field({ label: 'Reason', name: 'reason', type: 'textarea', rows: 3, required: true, testid: 'decide-reason',
    hint: 'Recorded in the history and shown to the suggesting agency.', attrs: { maxlength: String(MAX_NOTE) } });
  const buttons = choices.map(([value, label, cls]) => el('button', { type: 'submit', class: `btn ${cls}`, value, 'data-testid': `decide-${value}` }, label));
  const form = el('form', { novalidate: true, 'data-testid': 'decide-form' }, reason.wrap, el('div', { class: 'form-actions' }, buttons));
  const done2 = { accept: `${s.domain} was accepted: it is on the IWOL.`, reject: `${s.domain} was rejected.`, delist: `${s.domain} was delisted.` };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const button = buttons.includes(event.submitter) ? event.submitter : buttons[0];
    const decision = button.value;
    const r = reason.control.value.trim();
    if (reportInvalid(form, [[reason.control, textProblem(r, `Give the reason to ${decision} it.`)]])) return;
    run(form, button, 'Recording…', `/iwol/${encodeURIComponent(s.id)}/decision`, { decision, reason: r }, 'No decision was recorded', done, done2[decision]);
  });
  const note = s.status === 'submitted'
    ? 'Read the justification, the evidence and the verifications first.'
    : `Delist once the domain's material is gone${s.delisting_requested ? ' — a delisting was requested' : ''}.`;
  return block('action-decide', s.status === 'submitted' ? 'Decide' : 'Delist', note, form);
}

// Asking INTERPOL to delist an accepted domain.
function delistingBlock(s, done) {
  const reason = field({ label: 'Reason', name: 'reason', type: 'textarea', rows: 2, required: true, testid: 'delisting-reason',
    hint: 'For example: the material is gone since a date, or the domain changed hands.', attrs: { maxlength: String(MAX_NOTE) } });
  const submit = el('button', { type: 'submit', class: 'btn', 'data-testid': 'delisting-submit' }, 'Ask INTERPOL to delist');
  const form = el('form', { novalidate: true, 'data-testid': 'delisting-form' }, reason.wrap, el('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const r = reason.control.value.trim();
    if (reportInvalid(form, [[reason.control, textProblem(r, 'Say why the domain should come off the list.')]])) return;
    run(form, submit, 'Sending…', `/iwol/${encodeURIComponent(s.id)}/delisting`, { reason: r }, 'The request was not sent', done,
      'INTERPOL was asked to delist the domain.');
  });
  return block('action-delisting', 'Ask for delisting', s.delisting_requested ? 'A delisting has already been requested; you can add your reason.' : 'A domain is delisted once its material is gone.', form);
}

// Renders the allowed actions into container; returns true when there is any.
export function renderActions(container, s, me, done) {
  const can = s.can || {};
  const blocks = [
    can.verify ? verifyBlock(s, me, done) : null,
    can.reply ? replyBlock(s, done) : null,
    can.submit ? submitBlock(s, done) : null,
    can.decide ? decideBlock(s, done) : null,
    // INTERPOL delists directly: asking itself would be a detour.
    can.request_delisting && !(can.decide && s.status === 'accepted') ? delistingBlock(s, done) : null,
  ].filter(Boolean);
  clear(container);
  container.append(...blocks);
  return blocks.length > 0;
}
