// The owner's sharing panel of one hash list: who may read it (one organisation, or every
// organisation of a kind), revoking a share (the list disappears for them at once), and a
// modal <dialog> to share it. There is no public directory of organisations, so a single
// organisation is named by its id number (the recipient's administrator can tell it).

import { api } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import { formatDate, orDash, handleError } from './ui.js';
import { dataTable } from './tables.js';
import { field, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner, statusLine } from './forms.js';
import { SHARE_KINDS, labelOf, confirmButton } from './hashlists-common.js';

// Who a share is for, in words.
function shareTarget(s) {
  if (s.org_id) return `${s.org || 'Organisation'} (organisation ${s.org_id})`;
  return `Every organisation of kind: ${labelOf(SHARE_KINDS, s.org_kind)}`;
}

// Builds the share dialog once; onShared(text) runs after a successful share. Returns open(opener).
function buildDialog(ctx, onShared) {
  const titleId = uniqueId('share-title');
  const group = uniqueId('share-target');
  // One radio of the "share with" choice.
  const radio = (value, label) => {
    const id = uniqueId('share-opt');
    const input = el('input', { type: 'radio', id, name: group, value, 'data-testid': `share-target-${value}` });
    return { input, row: el('div', { class: 'check-row' }, input, el('label', { for: id, text: label })) };
  };
  const byKind = radio('kind', 'Every organisation of a kind');
  const byOrg = radio('org', 'One organisation, by its id number');
  byKind.input.checked = true;
  const kind = field({ label: 'Kind of organisation', name: 'org_kind', type: 'select', options: SHARE_KINDS, testid: 'share-kind' });
  const org = field({ label: 'Organisation id', name: 'org_id', type: 'number', testid: 'share-org-id',
    hint: 'The number of the organisation in cport; its administrator can tell you.', attrs: { min: '1', step: '1', inputmode: 'numeric' } });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'share-submit' }, 'Share');
  const cancel = el('button', { type: 'button', class: 'btn', 'data-testid': 'share-cancel' }, 'Cancel');
  const choice = el('fieldset', { class: 'terms field-check' }, el('legend', { text: 'Share with' }), byKind.row, byOrg.row);
  const form = el('form', { novalidate: true, 'data-testid': 'share-form' },
    el('h2', { id: titleId, text: 'Share this list' }),
    el('p', { class: 'muted small', text: 'Those you share with can read, export and match against the list; only your organisation changes it.' }),
    choice, kind.wrap, org.wrap,
    el('div', { class: 'form-actions' }, submit, cancel));
  form.insertBefore(formBanner(form), choice); // the alert below the dialog's title
  const dialog = el('dialog', { class: 'modal', 'aria-labelledby': titleId, 'data-testid': 'share-dialog' }, form);
  document.body.append(dialog);

  // Enables the control of the chosen target and disables the other.
  const sync = () => {
    kind.control.disabled = !byKind.input.checked;
    org.control.disabled = !byOrg.input.checked;
    kind.wrap.classList.toggle('is-off', kind.control.disabled);
    org.wrap.classList.toggle('is-off', org.control.disabled);
  };
  byKind.input.addEventListener('change', sync);
  byOrg.input.addEventListener('change', sync);
  cancel.addEventListener('click', () => dialog.close());

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    let body;
    if (byOrg.input.checked) {
      const n = Number(org.control.value);
      if (reportInvalid(form, [[org.control, !Number.isInteger(n) || n < 1 ? 'Enter the organisation\'s id number (1 or more).' : '']])) return;
      body = { org_id: n };
    } else {
      body = { org_kind: kind.control.value };
    }
    setBusy(submit, true, 'Sharing…');
    try {
      await api('POST', `/hash-lists/${ctx.id}/shares`, { body });
      dialog.close();
      onShared(body.org_kind ? `Shared with every organisation of kind: ${labelOf(SHARE_KINDS, body.org_kind)}.` : `Shared with organisation ${body.org_id}.`);
    } catch (err) {
      if (err && err.status === 409) {
        showFormError(form, { problem: { title: 'Already shared', detail: 'The list is already shared this way.' } });
      } else {
        showFormError(form, err, 'The list was not shared');
      }
    }
    setBusy(submit, false);
  });

  // Opens the dialog with a fresh form; focus goes back to the opener when it closes.
  return function open(opener) {
    form.reset();
    clearFormErrors(form);
    byKind.input.checked = true;
    sync();
    dialog.addEventListener('close', () => { if (opener && opener.isConnected) opener.focus(); }, { once: true });
    dialog.showModal();
    byKind.input.focus();
  };
}

// Builds the shares panel: the table and, for those who may change the list (ctx.editable),
// revoke buttons and the "Share…" button with its dialog.
export function initShares(container, ctx) {
  const status = statusLine('shares-status');
  status.tabIndex = -1;
  const list = el('div', { 'data-testid': 'shares-list' });
  let opener = null;
  if (ctx.editable) {
    opener = el('button', { type: 'button', class: 'btn btn-primary', 'aria-haspopup': 'dialog', 'data-testid': 'share-open' }, 'Share…');
    const open = buildDialog(ctx, async (text) => {
      status.textContent = text;
      await load();
    });
    opener.addEventListener('click', () => open(opener));
  }

  // Revokes one share; false keeps its button usable after a failure.
  async function revoke(s) {
    try {
      await api('DELETE', `/hash-list-shares/${s.id}`);
    } catch (err) {
      handleError(ctx.banner, err, 'The share was not revoked');
      return false;
    }
    status.textContent = `No longer shared with: ${shareTarget(s)}.`;
    await load();
    status.focus();
    return true;
  }

  // Loads and renders the shares table.
  async function load() {
    let items;
    try {
      items = (await api('GET', `/hash-lists/${ctx.id}/shares`)).items || [];
    } catch (err) {
      handleError(ctx.banner, err, 'Could not load the shares');
      return;
    }
    clear(list);
    list.append(dataTable({
      caption: 'Organisations this list is shared with', testid: 'shares-table',
      empty: 'Not shared: only your organisation can read this list.',
      columns: ctx.editable ? ['Shared with', 'Since', 'By', 'Action'] : ['Shared with', 'Since', 'By'],
      rows: items.map((s) => ({
        attrs: { 'data-testid': 'share-row', 'data-id': String(s.id) },
        cells: [
          el('span', { 'data-testid': 'share-target' }, shareTarget(s)),
          formatDate(s.granted_at),
          orDash(s.granted_by),
          ctx.editable ? confirmButton({ label: 'Revoke', confirmLabel: 'Confirm revoke', testid: 'share-revoke', ariaLabel: `Revoke the share with ${shareTarget(s)}`, onConfirm: () => revoke(s) }) : null,
        ].filter((c) => c !== null),
      })),
    }));
  }

  clear(container);
  if (opener) container.append(el('div', { class: 'form-actions' }, opener));
  container.append(status, list);
  load();
}
