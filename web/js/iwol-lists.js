// The list tabs of iwol.html: the organisation's own suggestions (LEAs, any state), the
// open suggestions of other organisations the caller can confirm or dispute (LEA and
// hotline analysts; each checked against the detail's can.verify), INTERPOL's review
// queue (submitted suggestions, with accept/reject and a reason in the row for INTERPOL
// analysts), and the IWOL itself (accepted domains, or the delisted ones) with its CSV and
// text exports. Each tab reloads its list whenever it is shown.

import { api } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import { formatDate, handleError } from './ui.js';
import { dataTable } from './tables.js';
import {
  formBanner, clearFormErrors, reportInvalid, showFormError, setBusy, statusLine,
} from './forms.js';
import {
  STATES, COUNTRIES_NEEDED, canUseIwol, canVerifyAny, isInterpol, canDecide, isOwn, suggestionHref,
  statusBadge, verdictBadge, countryChips, stateNote, exportHref, MAX_NOTE,
} from './iwol-common.js';

// Details fetched to learn which live suggestions the caller may verify, at most.
const VERIFY_CHECK_LIMIT = 60;
// Detail requests run at once while checking.
const VERIFY_PARALLEL = 6;

// GET /iwol?status=S for each state given ('' for every state); the merged items, most
// recently changed first.
async function fetchItems(statuses) {
  const lists = await Promise.all(statuses.map((status) => api('GET', '/iwol', { query: { status } })));
  const seen = new Set();
  const items = [];
  for (const data of lists) {
    for (const s of (data && Array.isArray(data.items) ? data.items : [])) {
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      items.push(s);
    }
  }
  items.sort((a, b) => String(b.updated_at || '').localeCompare(String(a.updated_at || '')) || b.id - a.id);
  return items;
}

// The domain cell: a link to the suggestion's page, with its id.
function domainCell(s) {
  return [el('a', { href: suggestionHref(s.id), class: 'iwol-domain', 'data-testid': 'iwol-domain-link' }, String(s.domain)),
    ' ', el('span', { class: 'muted small', text: `#${s.id}` })];
}

// "NL Police (NL)" for the suggesting organisation.
function orgText(s) {
  return s.country ? `${s.org || '—'} (${s.country})` : (s.org || '—');
}

// The confirmations cell: the confirming countries and how many more are needed.
function confirmCell(s) {
  const codes = Array.isArray(s.countries_confirming) ? s.countries_confirming : [];
  const more = Math.max(0, COUNTRIES_NEEDED - codes.length);
  return [countryChips(codes, 'iwol-countries'),
    s.status === 'open' && more ? el('div', { class: 'small muted', text: `${more} more needed` }) : null];
}

// The disputes cell: "1 open of 2", or a dash when there are none.
function disputeCell(s) {
  const n = Number(s.disputes) || 0;
  const open = Number(s.open_disputes) || 0;
  if (!n) return '—';
  return el('span', { class: open ? 'iwol-dispute-open' : null, 'data-testid': 'iwol-disputes' },
    open ? `${open} unanswered of ${n}` : `${n} answered`);
}

// What the suggesting organisation should do next with one of its suggestions.
function nextStep(s) {
  if (s.status !== 'open') return stateNote(s.status);
  const codes = Array.isArray(s.countries_confirming) ? s.countries_confirming.length : 0;
  if (Number(s.open_disputes) > 0) return 'Answer the disputes';
  if (codes >= COUNTRIES_NEEDED) return 'Ready to submit to INTERPOL';
  return 'Waiting for another country to confirm';
}

// Row attributes shared by every IWOL table.
function rowAttrs(s) {
  return { 'data-testid': 'iwol-row', 'data-id': String(s.id), 'data-domain': String(s.domain), 'data-status': String(s.status) };
}

// A tab's skeleton: heading, explanation, optional controls, status line and body.
function skeleton(panel, title, note, controls) {
  const id = uniqueId('iwol-h');
  const status = statusLine(`${panel.id}-status`);
  const body = el('div', { class: 'iwol-list-body', 'aria-live': 'off' });
  panel.append(...[el('h2', { id, text: title }), note ? el('p', { class: 'muted small', text: note }) : null, controls, status, body].filter(Boolean));
  return { status, body };
}

// Runs loader() for the latest call only: an older answer arriving late is dropped.
function latest(loader) {
  let seq = 0;
  // The wrapped loader: numbers the call and hands it a "still the latest?" check.
  return async (...args) => {
    const mine = ++seq;
    return loader(() => mine === seq, ...args);
  };
}

// "My organisation's suggestions": every state, or one, filtered to the caller's organisation.
export const mine = {
  id: 'mine',
  label: 'My organisation\'s suggestions',
  allowed: (me) => !!(me && me.org && me.org.kind === 'lea'),
  // Builds the tab with its state filter and loads the list.
  init(panel, ctx) {
    const filterId = uniqueId('iwol-mine-status');
    const select = el('select', { id: filterId, 'data-testid': 'mine-status' },
      el('option', { value: '', text: 'All states' }), STATES.map(([v, label]) => el('option', { value: v, text: label })));
    const controls = el('div', { class: 'filter-bar' }, el('label', { for: filterId, text: 'Show' }), select);
    const { status, body } = skeleton(panel, 'My organisation\'s suggestions',
      'Suggestions your organisation made, with the countries that confirmed them and what to do next. Open one to answer disputes or submit it to INTERPOL.', controls);
    // Loads the list and renders it (only the latest call renders).
    this.load = latest(async (current) => {
      let items;
      try {
        items = await fetchItems([select.value]);
      } catch (err) {
        if (current()) handleError(ctx.banner, err, 'Could not load your suggestions');
        return;
      }
      if (!current()) return;
      const own = items.filter((s) => isOwn(ctx.me, s));
      clear(body);
      body.append(dataTable({
        caption: 'Your organisation\'s IWOL suggestions', testid: 'mine-table',
        empty: select.value ? 'Your organisation has no suggestions in this state.' : 'Your organisation has not suggested any domain yet.',
        columns: ['Domain', 'State', 'Confirmed by', 'Disputes', { label: 'Evidence', num: true }, 'Updated', 'Next step'],
        rows: own.map((s) => ({
          attrs: rowAttrs(s),
          cells: [domainCell(s), statusBadge(s.status, 'iwol-status'), confirmCell(s), disputeCell(s),
            Number(s.evidence_reports || 0).toLocaleString('en'), el('span', { class: 'nowrap', text: formatDate(s.updated_at) }),
            el('span', { 'data-testid': 'iwol-next-step', text: nextStep(s) })],
        })),
      }));
      status.textContent = own.length ? `${own.length} ${own.length === 1 ? 'suggestion' : 'suggestions'}.` : '';
    });
    select.addEventListener('change', () => this.load());
    this.load();
  },
  // Reloads the list when the tab is shown again.
  show() { this.load(); },
};

// Fetches the details of items, a few at a time; failed ones (e.g. 404) come back null.
async function fetchDetails(items) {
  const out = new Array(items.length).fill(null);
  let next = 0;
  // One worker: takes the next item until none is left.
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try { out[i] = await api('GET', `/iwol/${encodeURIComponent(items[i].id)}`); } catch (err) {
        if (err && err.status === 401) throw err;
        out[i] = null;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(VERIFY_PARALLEL, items.length) }, worker));
  return out;
}

// The caller's organisation's verdict in a detail, or null.
function ownVerdict(me, d) {
  const v = (d && Array.isArray(d.verifications) ? d.verifications : []).find((x) => x.org === me.org.name);
  return v || null;
}

// "To verify": open and submitted suggestions of other organisations that the caller may
// confirm or dispute (or already did: the verdict can be changed while they are live).
export const verify = {
  id: 'verify',
  label: 'To verify',
  allowed: canVerifyAny,
  // Builds the tab and loads the list.
  init(panel, ctx) {
    const { status, body } = skeleton(panel, 'Suggestions to verify',
      'Suggestions of other organisations, still open or waiting for INTERPOL, whose domain has reports in your own scope. Look at the evidence you can see and confirm that the domain meets the criteria, or dispute it with a note; a suggestion needs two countries before it can go to INTERPOL.');
    // Loads the list and renders it (only the latest call renders).
    this.load = latest(async (current) => {
      let items;
      let details;
      try {
        items = (await fetchItems(['open', 'submitted'])).filter((s) => !isOwn(ctx.me, s));
        details = await fetchDetails(items.slice(0, VERIFY_CHECK_LIMIT));
      } catch (err) {
        if (current()) handleError(ctx.banner, err, 'Could not load the suggestions to verify');
        return;
      }
      if (!current()) return;
      const rows = [];
      let pending = 0;
      items.slice(0, VERIFY_CHECK_LIMIT).forEach((s, i) => {
        const d = details[i];
        const verdict = ownVerdict(ctx.me, d);
        if (!d || (!(d.can && d.can.verify) && !verdict)) return;
        if (!verdict) pending += 1;
        rows.push({
          attrs: { ...rowAttrs(s), 'data-verdict': verdict ? verdict.verdict : '' },
          cells: [domainCell(s), statusBadge(s.status, 'iwol-status'), orgText(s), confirmCell(s), disputeCell(s),
            d.evidence && Array.isArray(d.evidence.visible) ? d.evidence.visible.length.toLocaleString('en') : '—',
            verdict ? [verdictBadge(verdict.verdict), el('div', { class: 'small muted', text: formatDate(verdict.created_at) })] : el('span', { class: 'muted', text: 'not yet' }),
            d.can && d.can.verify
              ? el('a', { class: 'btn btn-small', href: `${suggestionHref(s.id)}#verify`, 'data-testid': 'iwol-verify-link' }, verdict ? 'Change verdict' : 'Review and verify')
              : el('a', { href: suggestionHref(s.id) }, 'Open')],
        });
      });
      clear(body);
      body.append(dataTable({
        caption: 'Suggestions you can verify', testid: 'verify-table',
        empty: 'There is no live suggestion of another organisation whose domain you see reports of.',
        columns: ['Domain', 'State', 'Suggested by', 'Confirmed by', 'Disputes', { label: 'Evidence you see', num: true }, 'Your verdict', 'Action'],
        rows,
      }));
      if (items.length > VERIFY_CHECK_LIMIT) {
        body.append(el('p', { class: 'small muted', text: `Only the ${VERIFY_CHECK_LIMIT} most recently changed of ${items.length} live suggestions were checked.` }));
      }
      status.textContent = rows.length ? `${pending} waiting for your verdict, ${rows.length - pending} verified by your organisation.` : '';
    });
    this.load();
  },
  // Reloads the list when the tab is shown again.
  show() { this.load(); },
};

// The accept/reject form of one queued suggestion (INTERPOL analysts).
function decisionForm(s, onDone) {
  const id = uniqueId('iwol-reason');
  const reason = el('textarea', { id, name: 'reason', rows: 2, maxlength: String(MAX_NOTE), 'data-testid': 'review-reason',
    'aria-describedby': `${id}-error`, required: true });
  const accept = el('button', { type: 'submit', class: 'btn btn-small btn-primary', value: 'accept', 'data-testid': 'review-accept' }, 'Accept');
  const reject = el('button', { type: 'submit', class: 'btn btn-small btn-danger', value: 'reject', 'data-testid': 'review-reject' }, 'Reject');
  const form = el('form', { class: 'iwol-decision', novalidate: true, 'data-testid': 'review-form', 'aria-label': `Decision on ${s.domain}` },
    el('label', { for: id, text: 'Reason' }), reason,
    el('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' }),
    el('div', { class: 'row-actions' }, accept, reject));
  formBanner(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const decision = event.submitter && event.submitter.value === 'reject' ? 'reject' : 'accept';
    const r = reason.value.trim();
    if (reportInvalid(form, [[reason, !r ? `Give the reason to ${decision} ${s.domain}; the suggesting agency sees it.`
      : r.length > MAX_NOTE ? `Use at most ${MAX_NOTE.toLocaleString('en')} characters.` : '']])) return;
    const button = decision === 'accept' ? accept : reject;
    setBusy(button, true, decision === 'accept' ? 'Accepting…' : 'Rejecting…');
    (decision === 'accept' ? reject : accept).disabled = true;
    try {
      const res = await api('POST', `/iwol/${encodeURIComponent(s.id)}/decision`, { body: { decision, reason: r } });
      onDone(s, (res && res.status) || (decision === 'accept' ? 'accepted' : 'rejected'));
      return;
    } catch (err) {
      showFormError(form, err, 'No decision was recorded');
    }
    setBusy(button, false);
    accept.disabled = false;
    reject.disabled = false;
  });
  return form;
}

// INTERPOL's "Review queue": submitted suggestions, with the decision in the row.
export const review = {
  id: 'review',
  label: 'Review queue',
  allowed: isInterpol,
  // Builds the tab and loads the queue.
  init(panel, ctx) {
    const decide = canDecide(ctx.me);
    const { status, body } = skeleton(panel, 'Review queue',
      decide ? 'Suggestions submitted by their agencies after two countries confirmed them. Open one to read the justification, the evidence and the verifications before deciding; the reason goes to the suggesting agency.'
        : 'Suggestions submitted by their agencies after two countries confirmed them. Analysts of INTERPOL decide on them.');
    // Loads the list and renders it (only the latest call renders).
    this.load = latest(async (current, message) => {
      let items;
      try {
        items = await fetchItems(['submitted']);
      } catch (err) {
        if (current()) handleError(ctx.banner, err, 'Could not load the review queue');
        return;
      }
      if (!current()) return;
      // Shows the outcome and reloads the queue (the decided row leaves it).
      const onDone = (s, to) => this.load(`${s.domain}: ${to === 'accepted' ? 'accepted — it is on the IWOL' : to}.`);
      clear(body);
      const columns = ['Domain', 'Suggested by', 'Confirmed by', 'Disputes', { label: 'Evidence', num: true }, 'Submitted'];
      if (decide) columns.push('Decision');
      body.append(dataTable({
        caption: 'Submitted suggestions waiting for a decision', testid: 'review-table',
        empty: 'No suggestion is waiting for a decision.',
        columns,
        rows: items.map((s) => ({
          attrs: rowAttrs(s),
          cells: [domainCell(s), orgText(s), confirmCell(s), disputeCell(s), Number(s.evidence_reports || 0).toLocaleString('en'),
            el('span', { class: 'nowrap', text: formatDate(s.updated_at) }),
            ...(decide ? [decisionForm(s, onDone)] : [])],
        })),
      }));
      const count = items.length ? `${items.length} ${items.length === 1 ? 'suggestion waits' : 'suggestions wait'} for a decision.` : '';
      status.textContent = [message, count].filter(Boolean).join(' ');
    });
    this.load();
  },
  // Reloads the queue when the tab is shown again.
  show() { this.load(); },
};

// "The IWOL": the accepted domains (or the delisted ones) and the export links.
export const list = {
  id: 'list',
  label: 'The IWOL',
  allowed: canUseIwol,
  // Builds the tab with its exports and state choice, and loads the list.
  init(panel, ctx) {
    const filterId = uniqueId('iwol-list-status');
    const select = el('select', { id: filterId, 'data-testid': 'list-status-filter' },
      el('option', { value: 'accepted', text: 'On the list (accepted)' }), el('option', { value: 'delisted', text: 'Delisted' }));
    const controls = el('div', { class: 'filter-bar iwol-exports' },
      el('label', { for: filterId, text: 'Show' }), select,
      el('span', { class: 'spacer' }),
      el('span', { class: 'small muted', text: 'Download the list:' }),
      el('a', { class: 'btn btn-small', href: exportHref('csv'), download: '', 'data-testid': 'export-csv' }, 'CSV'),
      el('a', { class: 'btn btn-small', href: exportHref('text'), download: '', 'data-testid': 'export-text' }, 'Text (one domain a line)'));
    const { status, body } = skeleton(panel, 'The IWOL',
      'Domains INTERPOL accepted for the Worst-of List. The downloads hold the accepted domains only. Where a listed domain\'s material is gone, open it and ask INTERPOL to delist it.', controls);
    // Loads the list and renders it (only the latest call renders).
    this.load = latest(async (current) => {
      let items;
      try {
        items = await fetchItems([select.value]);
      } catch (err) {
        if (current()) handleError(ctx.banner, err, 'Could not load the IWOL');
        return;
      }
      if (!current()) return;
      items.sort((a, b) => String(a.domain).localeCompare(String(b.domain), 'en'));
      const accepted = select.value === 'accepted';
      clear(body);
      body.append(dataTable({
        caption: accepted ? 'Domains on the IWOL' : 'Domains taken off the IWOL', testid: 'list-table',
        empty: accepted ? 'No domain is on the list yet.' : 'No domain has been delisted.',
        columns: ['Domain', 'Suggested by', 'Confirmed by', { label: 'Evidence', num: true }, accepted ? 'Listed' : 'Delisted'],
        rows: items.map((s) => ({
          attrs: rowAttrs(s),
          cells: [domainCell(s), orgText(s), countryChips(s.countries_confirming, 'iwol-countries'),
            Number(s.evidence_reports || 0).toLocaleString('en'), el('span', { class: 'nowrap', text: formatDate(s.updated_at) })],
        })),
      }));
      status.textContent = items.length ? `${items.length} ${items.length === 1 ? 'domain' : 'domains'}.` : '';
    });
    select.addEventListener('change', () => this.load());
    this.load();
  },
  // Reloads the list when the tab is shown again.
  show() { this.load(); },
};
