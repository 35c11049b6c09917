// Access requests tab: the queue the person sees (hotline: its country's; INTERPOL and
// operator: all) with a status filter, and one request's detail with its history and the
// step forms the person may use. An activation's one-time enrolment link is shown once.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash, handleError } from './ui.js';
import { dataTable, yesNo } from './tables.js';
import { statusLine } from './forms.js';
import { countryLabel } from './countries.js';
import { REQUEST_STATUSES, statusLabel, statusBadge, isOperator, enrolmentResult } from './admin-common.js';
import { renderActions } from './admin-request-actions.js';

let ctx = null;
let parts = null;
let currentId = null;

// Who sees which requests, in a sentence.
function scopeText(me) {
  if (me.org.kind === 'hotline') return `Requests from agencies in your country (${me.org.country}). Your organisation's administrator approves them after the demonstration.`;
  if (me.org.kind === 'interpol') return 'All requests. INTERPOL endorses those the national hotline has approved.';
  return 'All requests. The operator holds the demonstration and activates endorsed requests.';
}

// Builds the tab's fixed parts.
function build(panel) {
  const filter = el('select', { id: 'request-status-filter', 'data-testid': 'request-status-filter' },
    el('option', { value: '', text: 'Any status' }), REQUEST_STATUSES.map((s) => el('option', { value: s, text: statusLabel(s) })));
  const list = el('div', { 'data-testid': 'requests-list' });
  const result = el('div', { class: 'result-area', 'data-testid': 'request-result' });
  const detail = el('div', { 'data-testid': 'request-detail-area' });
  const status = statusLine('requests-status');
  const refresh = el('button', { type: 'button', class: 'btn', 'data-testid': 'requests-refresh' }, 'Refresh');
  panel.append(el('h2', { text: 'Access requests' }), el('p', { class: 'muted', text: scopeText(ctx.me) }),
    el('div', { class: 'filter-bar' }, el('label', { for: 'request-status-filter', text: 'Status' }), filter, refresh),
    status, list, result, detail);
  filter.addEventListener('change', loadList);
  // Others take the next steps: reload the queue and the open request on demand.
  refresh.addEventListener('click', () => {
    loadList();
    if (currentId) openRequest(String(currentId), true);
  });
  return { filter, list, result, detail, status };
}

// Loads and renders the list for the chosen status.
async function loadList() {
  let items = [];
  try {
    items = (await api('GET', '/access-requests', { query: { status: parts.filter.value } })).items || [];
  } catch (err) {
    handleError(ctx.banner, err, 'Could not load the access requests');
    return;
  }
  const rows = items.map((r) => {
    const open = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'request-open', 'aria-label': `Open request ${r.id} from ${r.agency}` }, 'Open');
    open.addEventListener('click', () => ctx.go('requests', String(r.id)));
    return {
      attrs: { 'data-testid': 'request-row', 'data-id': r.id, 'data-status': r.status, class: r.id === currentId ? 'current' : null },
      cells: [`#${r.id}`, r.agency, r.country, r.officer, statusBadge(r.status), formatDate(r.created_at), formatDate(r.updated_at), open],
    };
  });
  clear(parts.list);
  parts.list.append(dataTable({ caption: 'Access requests, newest first', testid: 'requests-table', rows,
    empty: parts.filter.value ? `No requests are ${statusLabel(parts.filter.value).toLowerCase()}.` : 'No access requests.',
    columns: ['No.', 'Agency', 'Country', 'Officer', 'Status', 'Received', 'Last change', 'Details'] }));
}

// A definition list from [label, value] pairs (values: text or nodes; null pairs skipped).
function kv(pairs, testid) {
  return el('dl', { class: 'kv', 'data-testid': testid || null }, pairs.filter(Boolean).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', null, v)]));
}

// The history: the public form, then each step with who took it and their note.
function timeline(req) {
  const items = [el('li', null, el('span', { class: 'when', text: formatDate(req.created_at) }), ' ', el('strong', { text: 'Requested' }), ' on the public form')];
  for (const s of req.steps || []) {
    items.push(el('li', { 'data-testid': 'request-step', 'data-to': s.to },
      el('span', { class: 'when', text: formatDate(s.at) }), ' ',
      el('strong', { text: statusLabel(s.to) }), ` by ${orDash(s.actor)}${s.org ? ` (${s.org})` : ''}`,
      s.note ? el('p', { class: 'step-note prewrap', text: s.note }) : null));
  }
  return el('ol', { class: 'timeline', 'data-testid': 'request-timeline' }, items);
}

// Renders one request's detail with its actions.
function render(req) {
  currentId = req.id;
  const me = ctx.me;
  const a = req.approval;
  const heading = el('h3', { tabindex: '-1', id: 'request-detail-title', text: `Request #${req.id}: ${req.agency}` });
  const actions = el('div', { class: 'actions', 'data-testid': 'request-actions' });
  const section = el('section', { class: 'card request-detail', 'aria-labelledby': 'request-detail-title', 'data-testid': 'request-detail', 'data-status': req.status },
    heading, el('p', null, 'Status: ', statusBadge(req.status, 'request-status')),
    kv([['Country', countryLabel(req.country)], ['Officer', req.officer], ['Email', req.email], ['Telephone', orDash(req.phone)],
      ['Received', formatDate(req.created_at)], ['Last change', formatDate(req.updated_at)],
      isOperator(me) && req.ip ? ['Sent from', req.ip] : null,
      req.org_id ? ['Organisation', `#${req.org_id}`] : null, req.user_id ? ['First administrator', `user #${req.user_id}`] : null,
      req.reason ? ['Rejection reason', el('span', { class: 'prewrap', text: req.reason })] : null], 'request-fields'),
    el('h4', { text: 'Justification' }), el('p', { class: 'prewrap', 'data-testid': 'request-justification', text: req.justification || '—' }),
    a ? el('h4', { text: 'Scope approved by the hotline' }) : null,
    a ? kv([['Hotline', a.hotline_code], ['Jurisdiction', (a.jurisdiction || []).join(', ')], ['Media metadata', yesNo(a.media_metadata)],
      ['Media content', yesNo(a.media_content)], ['Reports sent from the country', yesNo(a.include_reported_from)],
      ['Valid from', formatDate(a.valid_from)], ['Valid until', formatDate(a.valid_to)]], 'request-approval') : null,
    el('h4', { text: 'History' }), timeline(req),
    el('h4', { text: 'Next step' }), actions);
  renderActions(actions, me, req, {
    // A step answered with the request as it now stands.
    changed: (updated) => {
      parts.status.textContent = `Request #${updated.id} is now ${statusLabel(updated.status).toLowerCase()}.`;
      render(updated);
      loadList();
    },
    // Activation answers ids and the enrolment link; show the link, then reload the request.
    activated: async (res) => {
      clear(parts.result);
      parts.result.append(el('div', { class: 'card success-card', 'data-testid': 'activation-result' },
        el('h3', { text: `Access activated for request #${res.id}` }),
        el('p', { text: `Organisation #${res.org_id}, agreement #${res.agreement_id} and administrator user #${res.user_id} were created.` }),
        enrolmentResult(res.enrolment, req.email, 'enrolment-url')));
      parts.status.textContent = `Request #${res.id} is now active.`;
      await openRequest(String(res.id), true);
      loadList();
      parts.result.scrollIntoView({ block: 'nearest' });
    },
  });
  clear(parts.detail);
  parts.detail.append(section);
  return heading;
}

// Loads and shows one request; keepResult leaves an activation's link on screen.
async function openRequest(arg, keepResult) {
  if (!/^\d+$/.test(arg)) return;
  if (!keepResult) clear(parts.result);
  try {
    const heading = render(await api('GET', `/access-requests/${arg}`));
    if (!keepResult) heading.focus();
  } catch (err) {
    handleError(ctx.banner, err, `Could not load request #${arg}`);
  }
}

export default {
  id: 'requests',
  label: 'Access requests',
  // Hotline, INTERPOL and operator staff take part in the access procedure.
  allowed: (me) => ['hotline', 'interpol', 'operator'].includes(me.org.kind),
  // Builds the tab and loads the queue.
  init(panel, c) {
    ctx = c;
    parts = build(panel);
    loadList();
  },
  // Opens a request named in the fragment (#requests/12).
  open(arg) {
    if (parts) openRequest(arg, false);
  },
};
