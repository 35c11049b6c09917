// The "Suggest a domain" tab of iwol.html (LEA analysts and org_admins): domain,
// justification, the three IWOL criteria each affirmed, and the evidence reports (typed,
// pasted, prefilled from iwol.html?report=ID&domain=D, or filled in from the reports the
// caller sees on that domain). A new domain opens a suggestion (201); a domain that already
// has a live one turns the request into the organisation's confirmation (200, merged).

import { api } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import {
  field, checkField, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner, statusLine,
} from './forms.js';
import {
  CRITERIA, MAX_EVIDENCE, canSuggest, cleanDomain, parseReportIds, suggestionHref, reportHref, stateLabel,
  COUNTRIES_NEEDED,
} from './iwol-common.js';

const MAX_JUSTIFICATION = 4000;
// Reports fetched by "Fill in my reports of this domain", at most.
const FILL_LIMIT = MAX_EVIDENCE;

// The success card shown after a suggestion was made or merged into an existing one.
function resultCard(res, domain) {
  const title = res.merged ? 'Recorded as a confirmation' : 'Suggestion opened';
  const text = res.merged
    ? `${domain} already has a suggestion (#${res.id}, ${stateLabel(res.status).toLowerCase()}). Your request was recorded as your organisation's confirmation of it, with your evidence.`
    : `Suggestion #${res.id} for ${domain} is open. Analysts of other countries who see this domain's reports can now confirm or dispute it; submit it to INTERPOL once ${COUNTRIES_NEEDED} countries (yours counts) confirm.`;
  const heading = el('h3', { tabindex: '-1', text: title });
  const card = el('div', { class: 'card success-card', role: 'status', 'data-testid': 'suggest-result', 'data-id': String(res.id), 'data-merged': res.merged ? 'true' : 'false' },
    heading,
    el('p', { 'data-testid': 'suggest-result-text', text }),
    el('p', null, el('a', { class: 'btn', href: suggestionHref(res.id), 'data-testid': 'suggest-result-link' }, `Open suggestion #${res.id}`)));
  return { card, heading };
}

// Fills the evidence box with the reports the caller sees on the domain (keeping ids typed).
async function fillFromDomain(domainControl, evidenceControl, status, form) {
  const { domain, problem } = cleanDomain(domainControl.value);
  if (problem) { reportInvalid(form, [[domainControl, problem]]); return; }
  status.textContent = `Looking up your reports on ${domain}…`;
  let data;
  try {
    data = await api('GET', '/reports', { query: { domain, limit: FILL_LIMIT } });
  } catch (err) {
    status.textContent = '';
    showFormError(form, err, 'Could not look up the reports');
    return;
  }
  const found = (data && Array.isArray(data.items) ? data.items : []).map((r) => r.id);
  const { ids } = parseReportIds(evidenceControl.value);
  const added = found.filter((id) => !ids.includes(id));
  evidenceControl.value = [...ids, ...added].join('\n');
  const total = data && typeof data.total === 'number' ? data.total : found.length;
  if (!found.length) status.textContent = `You see no reports on ${domain}.`;
  else {
    status.textContent = `Added ${added.length} of the ${total.toLocaleString('en')} ${total === 1 ? 'report' : 'reports'} you see on ${domain}`
      + `${total > found.length ? ` (the newest ${found.length})` : ''}.`;
  }
}

// Builds the suggestion form in container, prefilled from the page's ?report= and ?domain=.
function buildForm(container, ctx) {
  const { params } = ctx;
  const pre = cleanDomain(params.get('domain') || '');
  const preReport = parseReportIds(params.get('report') || '').ids;
  const domain = field({ label: 'Domain', name: 'domain', required: true, testid: 'suggest-domain', value: params.get('domain') ? pre.domain : '',
    hint: 'The registrable domain, such as example.test — not a URL. IWOL lists whole domains; IDNs as punycode (xn--…).',
    attrs: { maxlength: '253', autocomplete: 'off', spellcheck: 'false', class: 'mono' } });
  const justification = field({ label: 'Justification', name: 'justification', type: 'textarea', rows: 5, required: true, testid: 'suggest-justification',
    hint: `Up to ${MAX_JUSTIFICATION.toLocaleString('en')} characters: why this domain belongs on the list — what the site is, how it serves the material, what your evidence shows.`,
    attrs: { maxlength: String(MAX_JUSTIFICATION) } });
  const checks = CRITERIA.map(([key, label, hint]) => checkField({ label, hint, id: uniqueId(`f-criteria-${key}`), name: `criteria.${key}`, testid: `suggest-criteria-${key}` }));
  const criteria = el('fieldset', { class: 'terms iwol-criteria span-all', 'data-testid': 'suggest-criteria' },
    el('legend', { text: 'Criteria — affirm each one' }),
    el('p', { class: 'hint', text: 'IWOL lists only domains that meet all three, as seen in the evidence below.' }),
    el('div', { class: 'checks' }, checks.map((c) => c.wrap)));
  const evidence = field({ label: 'Evidence reports', id: uniqueId('f-evidence'), name: 'evidence.report_ids', type: 'textarea', rows: 4, required: true, testid: 'suggest-evidence',
    value: preReport.join('\n'),
    hint: `cport report ids (as on each report's page), separated by spaces, commas or new lines; at most ${MAX_EVIDENCE.toLocaleString('en')}. A report's page can link here with its domain and id filled in: iwol.html?report=ID&domain=DOMAIN.`,
    attrs: { class: 'mono', spellcheck: 'false', autocomplete: 'off' } });
  const fill = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'suggest-fill' }, 'Fill in my reports of this domain');
  const fillStatus = statusLine('suggest-fill-status');
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'suggest-submit' }, 'Suggest domain');
  const result = el('div', { class: 'result-area', 'data-testid': 'suggest-result-area' });
  const prefilled = preReport.length
    ? el('p', { class: 'note-ok small span-all', 'data-testid': 'suggest-prefilled' }, 'Filled in from ',
      el('a', { href: reportHref(preReport[0]) }, `report #${preReport[0]}`), '. Add the other reports that show the domain meets the criteria.')
    : null;
  const form = el('form', { class: 'grid-form', novalidate: true, 'data-testid': 'suggest-form', 'aria-labelledby': 'suggest-title' },
    prefilled, domain.wrap,
    el('div', { class: 'span-all' }, justification.wrap),
    criteria,
    el('div', { class: 'span-all' }, evidence.wrap, el('div', { class: 'row-actions' }, fill), fillStatus),
    el('div', { class: 'form-actions span-all' }, submit));
  formBanner(form);
  fill.addEventListener('click', async () => {
    clearFormErrors(form);
    setBusy(fill, true, 'Looking up…');
    await fillFromDomain(domain.control, evidence.control, fillStatus, form);
    setBusy(fill, false);
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    clear(result);
    fillStatus.textContent = '';
    const d = cleanDomain(domain.control.value);
    const j = justification.control.value.trim();
    const ev = parseReportIds(evidence.control.value);
    const problems = [
      [domain.control, d.problem],
      [justification.control, !j ? 'Say why this domain belongs on the list.'
        : j.length > MAX_JUSTIFICATION ? `Use at most ${MAX_JUSTIFICATION.toLocaleString('en')} characters (now ${j.length.toLocaleString('en')}).` : ''],
      ...checks.map((c) => [c.control, c.control.checked ? '' : 'Affirm this criterion: IWOL lists only domains that meet all three.']),
      [evidence.control, ev.bad.length ? `Not report ids: ${ev.bad.slice(0, 5).join(', ')}${ev.bad.length > 5 ? ', …' : ''}.`
        : !ev.ids.length ? 'Give at least one report that shows the material.'
          : ev.ids.length > MAX_EVIDENCE ? `Give at most ${MAX_EVIDENCE.toLocaleString('en')} reports (now ${ev.ids.length.toLocaleString('en')}).` : ''],
    ];
    if (reportInvalid(form, problems)) return;
    const body = {
      domain: d.domain,
      justification: j,
      criteria: Object.fromEntries(CRITERIA.map(([key], i) => [key, checks[i].control.checked])),
      evidence: { report_ids: ev.ids },
    };
    setBusy(submit, true, 'Suggesting…');
    try {
      const res = await api('POST', '/iwol', { body });
      form.reset();
      if (prefilled) prefilled.remove();
      const { card, heading } = resultCard(res, d.domain);
      result.append(card);
      heading.focus();
    } catch (err) {
      showFormError(form, err, 'The domain was not suggested');
    }
    setBusy(submit, false);
  });
  clear(container);
  container.append(form, result);
  return form;
}

export default {
  id: 'suggest',
  label: 'Suggest a domain',
  allowed: canSuggest,
  // Builds the tab: a short explanation and the form.
  init(panel, ctx) {
    const body = el('div');
    panel.append(
      el('h2', { id: 'suggest-title', text: 'Suggest a domain' }),
      el('p', { class: 'muted small', text: 'Your suggestion is visible to INTERPOL and to analysts of other countries and hotlines who see this domain\'s reports in their own scope; they see your justification, the criteria and the evidence they can see themselves.' }),
      body);
    const form = buildForm(body, ctx);
    if (ctx.params.get('domain') || ctx.params.get('report')) {
      const first = [...form.elements].find((c) => c.name === 'justification');
      if (first) first.focus();
    }
  },
};
