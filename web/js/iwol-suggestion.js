// One IWOL suggestion (iwol-suggestion.html?id=N): the domain and its state, who
// suggested it and when, the justification and the criteria affirmed, the evidence (the
// summary over all of it and the reports the caller sees in their own scope, linked), the
// verifications of other countries, the history, and the actions the detail's `can`
// object allows (iwol-actions.js). After an action the page reloads the suggestion.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, humanize, orDash, initSession, handleError, showError } from './ui.js';
import { dataTable, yesNo } from './tables.js';
import { countryLabel } from './countries.js';
import {
  CRITERIA, COUNTRIES_NEEDED, canUseIwol, idFromQuery, statusBadge, verdictBadge, countryChips,
  confirmationText, stateNote, reportHref,
} from './iwol-common.js';
import { renderActions } from './iwol-actions.js';

const banner = document.getElementById('error-banner');
const loading = document.getElementById('loading');
const pageStatus = document.getElementById('page-status');
const titleEl = document.getElementById('suggestion-title');
let me = null;
let id = 0;

// A definition list from [term, value, testid?] rows (value: string or Node).
function defList(rows, testid) {
  const dl = el('dl', { class: 'kv', 'data-testid': testid });
  for (const [term, value, tid] of rows) {
    dl.append(el('dt', { text: term }), el('dd', { 'data-testid': tid || null }, value instanceof Node ? value : orDash(value)));
  }
  return dl;
}

// Fills one section body with nodes.
function fill(bodyId, ...nodes) {
  const body = document.getElementById(bodyId);
  clear(body);
  body.append(...nodes.filter(Boolean));
}

// The title row: the domain and the state badge (and a delisting request, if any).
function renderTitle(s) {
  titleEl.textContent = '';
  titleEl.append(el('span', { class: 'muted', text: 'IWOL: ' }), el('code', { class: 'plain', 'data-testid': 'suggestion-domain', text: s.domain }));
  document.title = `${s.domain} — IWOL — cport`;
  const badges = document.getElementById('suggestion-badges');
  clear(badges);
  badges.append(statusBadge(s.status, 'suggestion-status'));
  if (s.delisting_requested) badges.append(el('span', { class: 'badge badge-warn', 'data-testid': 'delisting-requested', text: 'delisting requested' }));
  document.getElementById('state-note').textContent = `#${s.id} · ${stateNote(s.status)}`;
}

// The suggestion card: who, when, and INTERPOL's decision.
function renderDetails(s) {
  const rows = [
    ['Suggested by', s.org, 'suggestion-org'],
    ['Country', countryLabel(s.country)],
    ['Suggested', formatDate(s.created_at)],
    ['Last change', formatDate(s.updated_at)],
  ];
  if (s.decision_reason) rows.push(['INTERPOL\'s reason', el('span', { class: 'prewrap', text: s.decision_reason }), 'decision-reason']);
  if (['accepted', 'delisted'].includes(s.status)) rows.push(['Delisting requested', yesNo(!!s.delisting_requested)]);
  fill('details-body', defList(rows, 'details-fields'));
}

// The verification card: the confirming countries against the two needed, and disputes.
function renderConfirmations(s) {
  const codes = Array.isArray(s.countries_confirming) ? s.countries_confirming : [];
  const disputes = (Array.isArray(s.verifications) ? s.verifications : []).filter((v) => v.verdict === 'dispute');
  const open = disputes.filter((v) => !v.replied).length;
  const ready = codes.length >= COUNTRIES_NEEDED;
  const meter = el('meter', { class: 'iwol-meter', min: '0', max: String(COUNTRIES_NEEDED), value: String(Math.min(codes.length, COUNTRIES_NEEDED)),
    'aria-label': 'Countries confirming' });
  fill('confirm-body',
    el('p', { class: 'iwol-progress' }, meter, ' ', el('strong', { 'data-testid': 'confirmation-text', text: confirmationText(codes) })),
    defList([
      ['Countries', countryChips(codes, 'countries-confirming')],
      ['Disputes', disputes.length ? `${open} unanswered of ${disputes.length}` : 'none', 'dispute-count'],
    ]),
    s.status === 'open'
      ? el('p', { class: 'small muted', text: ready && !open
        ? 'Confirmed by enough countries: the suggesting agency can submit it to INTERPOL.'
        : `It can go to INTERPOL once ${COUNTRIES_NEEDED} countries confirm (the suggesting one counts) and every dispute is answered.` })
      : null);
}

// The justification as written, and the criteria the suggesting agency affirmed.
function renderJustification(s) {
  const affirmed = s.criteria && typeof s.criteria === 'object' ? s.criteria : null;
  fill('justification-body',
    el('p', { class: 'prewrap iwol-justification', 'data-testid': 'suggestion-justification', text: s.justification || '—' }),
    el('h3', { text: 'Criteria affirmed by the suggesting agency' }),
    el('ul', { class: 'iwol-criteria-list', 'data-testid': 'suggestion-criteria' }, CRITERIA.map(([key, label]) => {
      const yes = affirmed ? affirmed[key] !== false : true;
      return el('li', { class: yes ? 'is-yes' : 'is-no', 'data-criterion': key },
        el('span', { class: 'iwol-tick', 'aria-hidden': 'true', text: yes ? '✓' : '✗' }), ' ', label,
        yes ? null : el('span', { class: 'visually-hidden', text: ' (not affirmed)' }));
    })));
}

// The evidence: the summary over all evidence reports and the caller's own visible ones.
function renderEvidence(s) {
  const ev = s.evidence || {};
  const visible = Array.isArray(ev.visible) ? ev.visible : [];
  const hosting = Array.isArray(ev.hosting_countries) ? ev.hosting_countries : [];
  const total = Number(ev.reports) || 0;
  fill('evidence-body',
    defList([
      ['Evidence reports', total.toLocaleString('en'), 'evidence-reports'],
      ['Baseline media items', Number(ev.baseline_media || 0).toLocaleString('en'), 'evidence-baseline'],
      ['Hosting countries', countryChips(hosting, 'evidence-hosting')],
      ['First reported', formatDate(ev.first_reported_at)],
      ['Last reported', formatDate(ev.last_reported_at)],
    ], 'evidence-summary'),
    el('h3', { text: 'Evidence reports you can see' }),
    el('p', { class: 'small muted', 'data-testid': 'evidence-visible-note', text: visible.length < total
      ? `${visible.length.toLocaleString('en')} of the ${total.toLocaleString('en')} reports are in your organisation's scope; the others are summarised above only.`
      : 'All evidence reports are in your organisation\'s scope.' }),
    el('p', { class: 'small' }, el('a', { href: `reports.html?domain=${encodeURIComponent(s.domain)}`, 'data-testid': 'domain-reports-link' },
      `All reports on ${s.domain} that you can see`), ' — every report of this domain in your scope, evidence or not.'),
    dataTable({
      caption: 'Evidence reports in your scope', testid: 'evidence-table',
      empty: 'None of the evidence reports is in your organisation\'s scope.',
      columns: ['Report', 'URL', 'Reported', 'Hosting country'],
      rows: visible.map((r) => ({
        attrs: { 'data-testid': 'evidence-row', 'data-id': String(r.id) },
        cells: [el('a', { href: reportHref(r.id), 'data-testid': 'evidence-link' }, `#${r.id}`),
          el('code', { class: 'break', text: orDash(r.url) }),
          el('span', { class: 'nowrap', text: formatDate(r.reported_at) }),
          orDash(r.host_country)],
      })),
    }));
}

// The verifications: one row an organisation, with its verdict and note.
function renderVerifications(s) {
  const list = Array.isArray(s.verifications) ? s.verifications : [];
  fill('verifications-body', dataTable({
    caption: 'Verifications by other organisations', testid: 'verifications-table',
    empty: 'No other organisation has confirmed or disputed this suggestion yet.',
    columns: ['Organisation', 'Country', 'Verdict', 'Note', 'When', 'Answered'],
    rows: list.map((v) => ({
      attrs: { 'data-testid': 'verification-row', 'data-verdict': String(v.verdict), 'data-country': String(v.country || '') },
      cells: [orDash(v.org), orDash(v.country), verdictBadge(v.verdict), el('span', { class: 'prewrap', text: orDash(v.note) }),
        el('span', { class: 'nowrap', text: formatDate(v.created_at) }), v.verdict === 'dispute' ? yesNo(!!v.replied) : '—'],
    })),
  }));
}

// The history: one line an event, oldest first, with the state change and the reason.
function renderEvents(s) {
  const events = Array.isArray(s.events) ? s.events : [];
  if (!events.length) { fill('events-body', el('p', { class: 'muted', text: 'No events.' })); return; }
  fill('events-body', el('ol', { class: 'timeline', 'data-testid': 'events' }, events.map((e) => {
    const change = e.from && e.to && e.from !== e.to ? ` (${humanize(e.from)} → ${humanize(e.to)})` : (!e.from && e.to ? ` (${humanize(e.to)})` : '');
    const who = [e.actor, e.org].filter(Boolean).join(', ');
    return el('li', { 'data-testid': 'event', 'data-action': String(e.action || '') },
      el('span', { class: 'when', text: formatDate(e.at) }), ' ',
      el('strong', { text: `${humanize(e.action)}${change}` }),
      who ? el('span', { class: 'muted', text: ` by ${who}` }) : null,
      e.reason ? el('p', { class: 'step-note prewrap', text: e.reason }) : null);
  })));
}

// Loads the suggestion and renders every part; message (after an action) goes to the status line.
async function load(message) {
  let s;
  try {
    s = await api('GET', `/iwol/${encodeURIComponent(id)}`);
  } catch (err) {
    loading.hidden = true;
    if (err && err.status === 404) {
      showError(banner, { problem: { title: 'Suggestion not found', detail: `There is no IWOL suggestion #${id} that you may see.` } });
      return;
    }
    handleError(banner, err, 'Could not load the suggestion');
    return;
  }
  loading.hidden = true;
  showError(banner, null);
  renderTitle(s);
  renderDetails(s);
  renderConfirmations(s);
  renderJustification(s);
  renderEvidence(s);
  renderVerifications(s);
  renderEvents(s);
  const any = renderActions(document.getElementById('actions-body'), s, me, (msg) => load(msg));
  document.getElementById('actions-section').hidden = !any;
  document.getElementById('suggestion').hidden = false;
  if (message) {
    pageStatus.textContent = message;
    titleEl.focus();
  }
  if (location.hash === '#verify' && !message) {
    const target = document.getElementById('verify');
    if (target) { target.scrollIntoView({ block: 'start' }); target.focus(); }
  }
}

// Page start: session, then the suggestion of ?id=.
async function init() {
  me = await initSession(banner);
  if (!me) { loading.hidden = true; return; }
  if (!canUseIwol(me)) {
    loading.hidden = true;
    showError(banner, { problem: { title: 'No IWOL access', detail: 'The IWOL belongs to law enforcement, hotline and INTERPOL organisations.' } });
    return;
  }
  id = idFromQuery();
  if (!id) {
    loading.hidden = true;
    showError(banner, { problem: { title: 'No suggestion chosen', detail: 'This page needs ?id= with a suggestion number; open one from the IWOL page.' } });
    return;
  }
  await load();
}

init();
