// The fields of an agreement's terms (jurisdiction, the three sharing flags, validity),
// shared by the hotline's approval of an access request and the agreements tab, with the
// server's rules checked before sending.

import { el } from './dom.js';
import { field, checkField } from './forms.js';
import { parseCountryList } from './countries.js';

// The date part (YYYY-MM-DD) of an API time, for date inputs.
function dateOnly(v) {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : '';
}

// Builds the terms fields from initial values; returns {wrap, controls, read(clearEmpty)}.
// read() gives {body, problems}: body has the API members, problems [control, message]
// pairs for reportInvalid. clearEmpty sends null for empty dates (PATCH clears them).
export function termsFields(initial = {}, testPrefix = 'terms') {
  const jur = field({ label: 'Jurisdiction', name: 'jurisdiction', required: true, testid: `${testPrefix}-jurisdiction`,
    value: (initial.jurisdiction || []).join(', '),
    hint: 'Countries whose hosted reports the LEA sees: ISO codes separated by commas, usually the LEA\'s own (e.g. NL).',
    attrs: { autocomplete: 'off', spellcheck: 'false', class: 'input-codes' } });
  const meta = checkField({ name: 'media_metadata', label: 'Media metadata (hashes and classifications)', checked: initial.media_metadata, testid: `${testPrefix}-media_metadata` });
  const content = checkField({ name: 'media_content', label: 'Media content (needs metadata)', checked: initial.media_content, testid: `${testPrefix}-media_content` });
  const reported = checkField({ name: 'include_reported_from', label: 'Also reports sent by the country\'s hotlines', checked: initial.include_reported_from, testid: `${testPrefix}-include_reported_from` });
  const from = field({ label: 'Valid from (UTC date)', name: 'valid_from', type: 'date', value: dateOnly(initial.valid_from), testid: `${testPrefix}-valid_from`, hint: 'Empty: from now.' });
  const to = field({ label: 'Valid until (UTC date, exclusive)', name: 'valid_to', type: 'date', value: dateOnly(initial.valid_to), testid: `${testPrefix}-valid_to`, hint: 'Empty: no end date.' });
  // Content without metadata is refused by the server: keep the boxes consistent.
  content.control.addEventListener('change', () => { if (content.control.checked) meta.control.checked = true; });
  meta.control.addEventListener('change', () => { if (!meta.control.checked) content.control.checked = false; });
  const wrap = el('fieldset', { class: 'terms span-all' }, el('legend', { text: 'Agreement terms' }),
    el('div', { class: 'grid-form' }, jur.wrap, el('div', { class: 'checks' }, meta.wrap, content.wrap, reported.wrap), from.wrap, to.wrap));
  const controls = { jurisdiction: jur.control, media_metadata: meta.control, media_content: content.control,
    include_reported_from: reported.control, valid_from: from.control, valid_to: to.control };

  // Reads and checks the values.
  function read(clearEmpty) {
    const { codes, bad } = parseCountryList(jur.control.value);
    const body = {
      jurisdiction: codes,
      media_metadata: meta.control.checked,
      media_content: content.control.checked,
      include_reported_from: reported.control.checked,
    };
    for (const c of [from.control, to.control]) {
      if (c.value) body[c.name] = c.value;
      else if (clearEmpty) body[c.name] = null;
    }
    const problems = [
      [jur.control, bad.length ? `Not ISO country codes: ${bad.join(', ')}.` : !codes.length ? 'Name at least one country, e.g. NL.' : codes.length > 64 ? 'At most 64 countries.' : ''],
      [content.control, body.media_content && !body.media_metadata ? 'Media content needs media metadata too.' : ''],
      [to.control, from.control.value && to.control.value && to.control.value <= from.control.value ? 'The end must be after the start.' : ''],
    ];
    return { body, problems };
  }
  return { wrap, controls, read };
}
