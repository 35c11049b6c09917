// The step forms of one access request: what the signed-in person may do at its status
// (demo held, hotline approval with the agreement terms, INTERPOL endorsement,
// activation, rejection), mirroring the API's rules. Approval and activation need a
// fresh password confirmation: the shared re-authentication dialog handles that.

import { api } from './api.js';
import { el } from './dom.js';
import { field, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner } from './forms.js';
import { termsFields } from './admin-terms.js';
import { isOperator } from './admin-common.js';

// Who acts next at each status, for people who cannot act themselves.
const WAITING = {
  requested: 'Waiting for the operator to hold a demonstration with the agency.',
  demo_held: 'Waiting for the national hotline\'s administrator to approve the scope.',
  hotline_approved: 'Waiting for INTERPOL to endorse the request.',
  interpol_endorsed: 'Waiting for the operator to activate the agency\'s access.',
  active: 'Access is active: the procedure is complete.',
  rejected: 'The request was rejected: the procedure is closed.',
};

// The steps the person may take now (the API's rules, so no button answers 403).
export function allowedSteps(me, req) {
  const op = isOperator(me);
  const kind = me.org.kind;
  const role = me.user.role;
  const s = req.status;
  const steps = [];
  if (op && s === 'requested') steps.push('demo');
  if (kind === 'hotline' && role === 'org_admin' && s === 'demo_held') steps.push('approve');
  if (kind === 'interpol' && role !== 'viewer' && s === 'hotline_approved') steps.push('endorse');
  if (op && s === 'interpol_endorsed') steps.push('activate');
  const open = s !== 'active' && s !== 'rejected';
  if (open && (op || (s === 'demo_held' && kind === 'hotline' && role === 'org_admin')
      || (s === 'hotline_approved' && kind === 'interpol' && role !== 'viewer'))) steps.push('reject');
  return steps;
}

// A step form: heading, explanation, fields, submit; run(form) posts and returns the answer.
function stepForm({ title, text, fields, button, testid, danger, read, run, done }) {
  const submit = el('button', { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, 'data-testid': `${testid}-submit` }, button);
  const form = el('form', { class: 'step-form', novalidate: true, 'data-testid': testid },
    el('h4', { text: title }), text ? el('p', { class: 'muted', text }) : null, ...fields,
    el('div', { class: 'form-actions' }, submit));
  formBanner(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const { body, problems } = read();
    if (reportInvalid(form, problems || [])) return;
    setBusy(submit, true, 'Saving…');
    try {
      done(await run(body));
      return;
    } catch (err) {
      showFormError(form, err, `${title}: not done`);
    }
    setBusy(submit, false);
  });
  return form;
}

// An optional note field (at most 2000 characters).
function noteField(testid) {
  return field({ label: 'Note (optional)', name: 'note', type: 'textarea', rows: 2, testid, attrs: { maxlength: '2000' },
    hint: 'Kept in the request\'s history.' });
}

// Reads an optional note into body.
function withNote(body, note) {
  const v = note.control.value.trim();
  if (v) body.note = v;
  return body;
}

// Renders the actions for req into container. hooks: changed(req), activated(result).
export function renderActions(container, me, req, hooks) {
  const steps = allowedSteps(me, req);
  const base = `/access-requests/${req.id}`;
  container.append(el('p', { class: 'muted', 'data-testid': 'request-waiting', text: WAITING[req.status] || '' }));
  if (steps.includes('demo')) {
    const note = noteField('demo-note');
    container.append(stepForm({ title: 'Demonstration held', testid: 'action-demo', button: 'Mark demo held', fields: [note.wrap],
      text: 'Record that the demonstration with the agency took place; the national hotline is asked to approve next.',
      read: () => ({ body: withNote({}, note) }), run: (body) => api('POST', `${base}/demo`, { body }), done: hooks.changed }));
  }
  if (steps.includes('approve')) {
    const terms = termsFields({ jurisdiction: [req.country], media_metadata: false }, 'approve');
    const note = noteField('approve-note');
    container.append(stepForm({ title: 'Approve as the national hotline', testid: 'action-approve', button: 'Approve', fields: [terms.wrap, note.wrap],
      text: 'Set the scope the agency\'s agreement will have. You will be asked to confirm your password.',
      read: () => { const r = terms.read(false); return { body: withNote(r.body, note), problems: r.problems }; },
      run: (body) => api('POST', `${base}/approve`, { body }), done: hooks.changed }));
  }
  if (steps.includes('endorse')) {
    const note = noteField('endorse-note');
    container.append(stepForm({ title: 'Endorse for INTERPOL', testid: 'action-endorse', button: 'Endorse', fields: [note.wrap],
      text: 'Endorse the request with the scope the hotline approved; the operator activates it next.',
      read: () => ({ body: withNote({}, note) }), run: (body) => api('POST', `${base}/endorse`, { body }), done: hooks.changed }));
  }
  if (steps.includes('activate')) {
    const name = field({ label: 'Organisation name', name: 'org_name', value: req.agency, testid: 'activate-org-name', attrs: { maxlength: '200' },
      hint: 'The name of the new LEA organisation in cport (the agency\'s name unless you change it).' });
    container.append(stepForm({ title: 'Activate access', testid: 'action-activate', button: 'Activate', fields: [name.wrap],
      text: `Creates the organisation, its agreement with the approved scope and its first administrator (${req.email}), who receives a one-time enrolment link. You will be asked to confirm your password.`,
      read: () => {
        const v = name.control.value.trim();
        return { body: v && v !== req.agency ? { org_name: v } : {}, problems: [[name.control, v.length > 200 ? 'At most 200 characters.' : '']] };
      },
      run: (body) => api('POST', `${base}/activate`, { body }), done: hooks.activated }));
  }
  if (steps.includes('reject')) {
    const reason = field({ label: 'Reason', name: 'reason', type: 'textarea', rows: 2, required: true, testid: 'reject-reason', attrs: { maxlength: '2000' },
      hint: 'Kept in the request\'s history for everyone who takes part.' });
    container.append(stepForm({ title: 'Reject the request', testid: 'action-reject', button: 'Reject', danger: true, fields: [reason.wrap],
      read: () => {
        const v = reason.control.value.trim();
        return { body: { reason: v }, problems: [[reason.control, !v ? 'Give a reason.' : '']] };
      },
      run: (body) => api('POST', `${base}/reject`, { body }), done: hooks.changed }));
  }
}
