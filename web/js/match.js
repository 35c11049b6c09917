// Match page: paste hashes (one a line), check them against every hash list the caller
// may read (POST /match) and see, per hash, the matching entries of ordinary lists and,
// in their own column, hits on warning lists. The algorithm of a line is told by its
// length as the server's text format does (32 MD5, 40 SHA-1, 288 PhotoDNA); 64 digits
// are SHA-256 or PDQ, which the person chooses. A line may name its algorithm
// ("pdq:<hex>") and a PDQ line may end with its quality (under 50 is not matched).

import { api } from './api.js';
import { el, clear, uniqueId } from './dom.js';
import { initSession, handleError } from './ui.js';
import { dataTable, badge } from './tables.js';
import { field, checkField, clearFormErrors, reportInvalid, showFormError, setBusy, formBanner } from './forms.js';
import { ALGORITHMS, HEX_DIGITS, labelOf, canUseLists, listHref, hashText } from './hashlists-common.js';

const MAX_HASHES = 1000;
const LINE_RE = /^(?:(md5|sha1|sha256|pdq|photodna)\s*:\s*)?([0-9a-f]+)(?:[\s,;]+(\d{1,3}))?$/i;
const BY_LENGTH = { 32: 'md5', 40: 'sha1', 288: 'photodna' };

const banner = document.getElementById('error-banner');
const loading = document.getElementById('loading');

// Reads the textarea into inputs [{line, algorithm, value, quality?}] and problems
// ["line N: why"]; sixtyFour is the algorithm chosen for bare 64-digit values.
function parseHashes(text, sixtyFour) {
  const inputs = [];
  const problems = [];
  let bare64 = 0;
  String(text || '').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = LINE_RE.exec(line);
    if (!m) { problems.push(`line ${i + 1}: not a hexadecimal hash`); return; }
    const value = m[2].toLowerCase();
    let algorithm = m[1] ? m[1].toLowerCase() : BY_LENGTH[value.length];
    if (!m[1] && value.length === 64) { algorithm = sixtyFour; bare64 += 1; }
    if (!algorithm) {
      problems.push(`line ${i + 1}: ${value.length} hex digits is no known hash (32 MD5, 40 SHA-1, 64 SHA-256 or PDQ, 288 PhotoDNA)`);
      return;
    }
    if (value.length !== HEX_DIGITS[algorithm]) {
      problems.push(`line ${i + 1}: a ${labelOf(ALGORITHMS, algorithm)} hash has ${HEX_DIGITS[algorithm]} hex digits, not ${value.length}`);
      return;
    }
    const input = { line: i + 1, algorithm, value };
    if (m[3] !== undefined) {
      const q = Number(m[3]);
      if (algorithm !== 'pdq') { problems.push(`line ${i + 1}: only PDQ hashes carry a quality`); return; }
      if (q > 100) { problems.push(`line ${i + 1}: a PDQ quality is 0 to 100`); return; }
      input.quality = q;
    }
    inputs.push(input);
  });
  return { inputs, problems, bare64 };
}

// One hit (a list entry) as a list item: the list's name (a link), category, series, distance.
function hitItem(h, algorithm) {
  const facts = [];
  if (h.category) facts.push(`category ${h.category}`);
  if (h.series) facts.push(`series ${h.series}`);
  if (algorithm === 'pdq' || h.distance) facts.push(`distance ${h.distance}`);
  return el('li', { 'data-testid': 'match-hit' },
    el('a', { href: listHref(h.list_id), 'data-testid': 'match-list-link' }, h.list || `List ${h.list_id}`),
    facts.length ? el('span', { class: 'muted' }, ` — ${facts.join(', ')}`) : null);
}

// The cell content of a result's hits of one kind (matches or warnings).
function hitsCell(hits, algorithm, testid, emptyText) {
  if (!Array.isArray(hits) || !hits.length) return el('span', { class: 'muted', 'data-testid': `${testid}-none` }, emptyText);
  return el('ul', { class: 'hit-list', 'data-testid': testid }, hits.map((h) => hitItem(h, algorithm)));
}

// Renders the answer: a summary, a "only hashes with hits" filter and the results table.
function renderResults(container, res, inputs) {
  const results = Array.isArray(res.results) ? res.results : [];
  // Whether a result has ordinary matches, or warning-list hits.
  const hasMatch = (r) => Array.isArray(r.matches) && r.matches.length > 0;
  const hasWarning = (r) => Array.isArray(r.warnings) && r.warnings.length > 0;
  const matched = results.filter(hasMatch).length;
  const warned = results.filter(hasWarning).length;
  const skipped = results.filter((r) => r.skipped).length;
  const summary = el('p', { class: 'result-count', 'data-testid': 'match-summary' },
    `${results.length} ${results.length === 1 ? 'hash' : 'hashes'} checked (PDQ within distance ${res.pdq_max_distance}): `
    + `${matched} with matches, ${warned} with warning-list hits${skipped ? `, ${skipped} skipped` : ''}.`);
  const only = checkField({ label: 'Show only hashes with hits', name: 'only_hits', testid: 'match-only-hits' });
  const rows = results.map((r) => {
    const input = inputs[r.index] || {};
    let matches;
    if (r.skipped) {
      matches = el('span', { 'data-testid': 'match-skipped' }, badge('skipped', 'badge-off'), ` ${r.skipped}`);
    } else {
      matches = [hitsCell(r.matches, r.algorithm, 'match-hits', 'no match'),
        r.truncated ? el('p', { class: 'muted small', text: 'More entries are near this hash than are shown; lower the PDQ distance to see the closest.' }) : null];
    }
    const hit = hasMatch(r) || hasWarning(r);
    return {
      attrs: { 'data-testid': 'match-row', 'data-hit': hit ? 'true' : 'false', class: hit ? 'has-hit' : null },
      cells: [
        String(input.line ?? r.index + 1),
        labelOf(ALGORITHMS, r.algorithm),
        hashText(r.value),
        matches,
        r.skipped ? '—' : hitsCell(r.warnings, r.algorithm, 'match-warnings', 'none'),
      ],
    };
  });
  const table = dataTable({
    caption: 'Each hash checked, with the list entries it matches and its warning-list hits',
    testid: 'match-table', rows,
    columns: [{ label: 'Line', num: true }, 'Algorithm', 'Hash', 'Matches', 'Warning-list hits'],
  });
  only.control.addEventListener('change', () => {
    for (const tr of table.querySelectorAll('tr[data-hit="false"]')) tr.hidden = only.control.checked;
  });
  clear(container);
  container.append(summary,
    el('p', { class: 'muted small', text: 'Hits on warning lists are kept apart from matches, in their own column. Only enabled entries of enabled lists you can read are matched.' }),
    only.wrap, table);
}

// Builds the form and wires it to /match.
function buildForm(container, resultsSection, resultsBody) {
  const hashes = field({ label: 'Hashes, one a line', name: 'hashes', type: 'textarea', rows: 8, required: true, testid: 'match-input',
    hint: `MD5 (32 hex digits), SHA-1 (40), SHA-256 or PDQ (64), PhotoDNA (288); at most ${MAX_HASHES}. A line may start with its algorithm ("pdq:…"); a PDQ line may end with its quality (0–100; under 50 is not matched). Lines starting with # are ignored.`,
    attrs: { spellcheck: 'false', autocomplete: 'off', class: 'mono' } });
  const group = uniqueId('sixtyfour');
  // One radio of the 64-digit choice.
  const radio = (value, label) => {
    const id = uniqueId('sixtyfour-opt');
    const input = el('input', { type: 'radio', id, name: group, value, 'data-testid': `match-64-${value}` });
    return { input, row: el('div', { class: 'check-row' }, input, el('label', { for: id, text: label })) };
  };
  const sha256 = radio('sha256', 'SHA-256');
  const pdq = radio('pdq', 'PDQ');
  sha256.input.checked = true;
  const sixtyFour = el('fieldset', { class: 'terms field-check inline-choice', 'data-testid': 'match-64', hidden: true },
    el('legend', { text: '64-hex values are:' }), sha256.row, pdq.row);
  const distance = field({ label: 'PDQ distance', name: 'pdq_max_distance', type: 'number', value: 31, testid: 'match-distance',
    hint: 'PDQ hashes match when at most this many of their 256 bits differ (0–64; 31 is the usual threshold).', attrs: { min: '0', max: '64', step: '1', inputmode: 'numeric' } });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'match-submit' }, 'Check hashes');
  const form = el('form', { novalidate: true, 'data-testid': 'match-form', 'aria-labelledby': 'match-form-title' },
    hashes.wrap, sixtyFour, el('div', { class: 'field-narrow' }, distance.wrap), el('div', { class: 'form-actions' }, submit));
  formBanner(form);
  let lastInputs = [];

  // The algorithm chosen for bare 64-digit values.
  const chosen64 = () => (pdq.input.checked ? 'pdq' : 'sha256');
  // Shows the 64-digit choice only while the text has such lines without a prefix.
  const syncChoice = () => { sixtyFour.hidden = parseHashes(hashes.control.value, chosen64()).bare64 === 0; };
  hashes.control.addEventListener('input', syncChoice);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const { inputs, problems } = parseHashes(hashes.control.value, chosen64());
    const d = Number(distance.control.value);
    let hashProblem = '';
    if (problems.length) {
      hashProblem = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '') + '.';
    } else if (!inputs.length) {
      hashProblem = 'Enter at least one hash.';
    } else if (inputs.length > MAX_HASHES) {
      hashProblem = `At most ${MAX_HASHES} hashes at a time; this is ${inputs.length}.`;
    }
    if (reportInvalid(form, [
      [hashes.control, hashProblem],
      [distance.control, distance.control.value === '' || !Number.isInteger(d) || d < 0 || d > 64 ? 'Enter a whole number from 0 to 64.' : ''],
    ])) return;
    const body = { hashes: inputs.map(({ algorithm, value, quality }) => (quality === undefined ? { algorithm, value } : { algorithm, value, quality })), pdq_max_distance: d };
    setBusy(submit, true, 'Checking…');
    try {
      const res = await api('POST', '/match', { body });
      lastInputs = inputs;
      resultsSection.hidden = false;
      renderResults(resultsBody, res, lastInputs);
      document.getElementById('results-title').focus();
    } catch (err) {
      // "hashes[3]" names one input: say which line, beside the text area.
      const f = err && err.problem && err.problem.field;
      const m = f && /^hashes\[(\d+)\]$/.exec(f);
      if (m && inputs[Number(m[1])]) {
        err.problem.field = 'hashes';
        err.problem.detail = `line ${inputs[Number(m[1])].line}: ${err.problem.detail}`;
      }
      showFormError(form, err, 'The hashes were not checked');
    }
    setBusy(submit, false);
  });
  clear(container);
  container.append(form);
}

// Page start: session, then the form (operators have no lists to match against).
async function init() {
  const me = await initSession(banner);
  loading.hidden = true;
  if (!me) return;
  if (!canUseLists(me)) {
    document.getElementById('no-lists').hidden = false;
    return;
  }
  buildForm(document.getElementById('match-body'), document.getElementById('results-section'), document.getElementById('results-body'));
  document.getElementById('match-section').hidden = false;
}

init().catch((err) => handleError(banner, err, 'The page could not start'));
