// Report detail page: loads /reports/{id} and renders the report, hosting, timeline,
// hotlines and the media table with hashes and classification history when the
// caller's agreement shares them. Content URLs are shown as text only; media content
// only as blurred greyscale previews, and originals only on request (media-view.js).

import { api } from './api.js';
import {
  el, clear, formatDate, formatBytes, humanize, orDash, initSession, handleError, showError,
  cleanViewQuery,
} from './ui.js';
import { canSeeReports } from './nav.js';
import { renderHashHits } from './hashhits.js';
import { mediaGallery, setMediaPrefs } from './media-view.js';

const banner = document.getElementById('error-banner');
const container = document.getElementById('report');
const loadingEl = document.getElementById('loading');
const iccamIdEl = document.getElementById('report-iccam-id');
const params = new URLSearchParams(location.search);

// Points the back link at the search view the user came from (known parameters only).
function setBackLink() {
  const qs = cleanViewQuery(params.get('back') || '').toString();
  document.getElementById('back-link').href = `reports.html${qs ? `?${qs}` : ''}`;
}

// A definition list from [term, value] pairs (value: string or Node).
function defList(pairs, testid) {
  const dl = el('dl', { class: 'kv', 'data-testid': testid });
  for (const [term, value] of pairs) {
    dl.append(el('dt', { text: term }), el('dd', {}, value instanceof Node ? value : orDash(value)));
  }
  return dl;
}

// A titled card section.
function section(title, testid, ...children) {
  const id = `h-${testid}`;
  return el('section', { class: 'card', 'aria-labelledby': id, 'data-testid': testid },
    el('h2', { id, text: title }), ...children);
}

// Text shown as code (URLs, hashes, IPs), never as a link.
function codeText(value, cls) {
  if (value === null || value === undefined || value === '') return '—';
  return el('code', { class: cls || 'break' }, String(value));
}

// Formats a duration in seconds as h:mm:ss or m:ss.
function formatDuration(s) {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '—';
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

// "yes"/"no" for booleans.
function yesNo(v) {
  if (v === true) return 'yes';
  if (v === false) return 'no';
  return '—';
}

// Summary fields of the report.
function renderSummary(r) {
  return section('Report', 'report-summary', defList([
    ['ICCAM ID', codeText(r.iccam_id, 'plain')],
    ['cport ID', String(r.id)],
    ['URL', codeText(r.url)],
    ['Domain', codeText(r.domain, 'plain')],
    ['Site type', humanize(r.site_type)],
    ['Status', el('span', { class: `status status-${r.status}` }, humanize(r.status))],
    ['Commercial', yesNo(r.commercial)],
    ['Reporting hotline', r.reporting_hotline],
    ['Assessing hotline', r.assessing_hotline],
    ['Media items', r.media_count ?? (Array.isArray(r.media) ? r.media.length : null)],
  ], 'summary-fields'));
}

// Hosting fields.
function renderHosting(r) {
  const h = r.hosting || {};
  const asn = h.asn === null || h.asn === undefined || h.asn === '' ? null : `AS${h.asn}`;
  return section('Hosting', 'report-hosting', defList([
    ['Country', h.country],
    ['IP address', codeText(h.ip, 'plain')],
    ['ASN', asn],
    ['Provider', h.provider],
  ], 'hosting-fields'));
}

// Timeline of the report's processing dates.
function renderTimeline(r) {
  const t = r.timeline || {};
  return section('Timeline (UTC)', 'report-timeline', defList([
    ['Reported', formatDate(r.reported_at)],
    ['Assessed', formatDate(t.assessed_at)],
    ['Forwarded', formatDate(t.forwarded_at)],
    ['LEA notified', formatDate(t.lea_notified_at)],
    ['NTD sent', formatDate(t.ntd_sent_at)],
    ['Content removed', formatDate(t.removed_at)],
    ['Last updated', formatDate(r.updated_at)],
  ], 'timeline-fields'));
}

// One hotline's details (website and email as text).
function hotlineBlock(title, h, code, testid) {
  const block = el('div', { class: 'hotline', 'data-testid': testid }, el('h3', { text: title }));
  if (!h) {
    block.append(el('p', { class: 'muted', text: code ? `${code} (no details available)` : 'None' }));
    return block;
  }
  block.append(defList([
    ['Code', h.code],
    ['Name', h.name],
    ['Country', h.country],
    ['Website', codeText(h.website, 'plain')],
    ['Email', codeText(h.email, 'plain')],
  ]));
  return block;
}

// Reporting and assessing hotlines.
function renderHotlines(r) {
  const hl = r.hotlines || {};
  return section('Hotlines', 'report-hotlines', el('div', { class: 'hotlines' },
    hotlineBlock('Reporting', hl.reporting, r.reporting_hotline, 'hotline-reporting'),
    hotlineBlock('Assessing', hl.assessing, r.assessing_hotline, 'hotline-assessing')));
}

// Flags of a media item as short badges.
function mediaFlags(m) {
  const flags = [];
  if (m.is_new) flags.push(el('span', { class: 'badge badge-new' }, 'new'));
  if (m.known_to_police) flags.push(el('span', { class: 'badge badge-known' }, 'known to police'));
  return flags.length ? flags : '—';
}

// The media overview table.
function mediaTable(media, withClass) {
  const head = ['Media ID', 'Type', 'MIME', 'Size', 'Dimensions', 'Duration', 'First seen', 'Flags'];
  if (withClass) head.push('International', 'National');
  const tbody = el('tbody');
  for (const m of media) {
    const cells = [
      el('th', { scope: 'row' }, codeText(m.iccam_media_id, 'plain')),
      el('td', {}, humanize(m.media_type)),
      el('td', {}, orDash(m.mime)),
      el('td', { class: 'num', title: typeof m.bytes === 'number' ? `${m.bytes} bytes` : null }, formatBytes(m.bytes)),
      el('td', { class: 'nowrap' }, m.width && m.height ? `${m.width} × ${m.height}` : '—'),
      el('td', { class: 'num' }, formatDuration(m.duration_s)),
      el('td', { class: 'nowrap' }, formatDate(m.first_seen_at)),
      el('td', {}, mediaFlags(m)),
    ];
    if (withClass) {
      const c = m.classification || {};
      cells.push(el('td', {}, humanize(c.international)), el('td', {}, humanize(c.national)));
    }
    tbody.append(el('tr', { 'data-testid': 'media-row' }, cells));
  }
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'data-table', 'data-testid': 'media-table' },
      el('caption', { class: 'visually-hidden', text: 'Media items of this report' }),
      el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col', text: h })))),
      tbody));
}

// Classification history table (newest first).
function classificationTable(list) {
  const head = ['Assessed', 'By', 'International', 'National', 'Age group', 'Gender'];
  return el('table', { class: 'data-table compact', 'data-testid': 'classification-history' },
    el('caption', { text: 'Classification history (newest first)' }),
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, list.map((c, i) => el('tr', { class: i === 0 ? 'current' : null },
      el('td', { class: 'nowrap' }, formatDate(c.assessed_at), i === 0 ? el('span', { class: 'badge' }, 'current') : null),
      el('td', {}, orDash(c.assessed_by)),
      el('td', {}, humanize(c.international)),
      el('td', {}, humanize(c.national)),
      el('td', {}, humanize(c.age_group)),
      el('td', {}, humanize(c.gender))))));
}

// Per-media details: content URL as text, hashes and classifications when shared.
function mediaDetails(m) {
  const parts = [defList([['Content URL (text only)', codeText(m.content_url)]])];
  if (m.hashes) {
    const h = m.hashes;
    parts.push(el('h4', { text: 'Hashes' }), defList([
      ['MD5', codeText(h.md5)],
      ['SHA-1', codeText(h.sha1)],
      ['SHA-256', codeText(h.sha256)],
      ['PDQ', codeText(h.pdq)],
      ['PDQ quality', h.pdq_quality],
      ['PhotoDNA', codeText(h.photodna)],
    ], 'media-hashes'));
  }
  let history = Array.isArray(m.classifications) ? m.classifications : [];
  if (!history.length && m.classification) history = [m.classification];
  if (history.length) parts.push(classificationTable(history));
  const id = `media-${m.id}`;
  return el('section', { class: 'media-detail', 'aria-labelledby': id, 'data-testid': 'media-detail' },
    el('h3', { id }, 'Media ', codeText(m.iccam_media_id, 'plain')), ...parts);
}

// Media section: table, metadata note, per-item details.
function renderMedia(r) {
  const media = Array.isArray(r.media) ? r.media : [];
  const shared = r.media_metadata === true;
  const children = [];
  if (!shared) {
    children.push(el('p', { class: 'note', 'data-testid': 'media-metadata-note' },
      'Hashes and classifications are not shared under your agreement.'));
  }
  if (r.media_content === true) {
    children.push(el('p', { class: 'muted small' },
      'Previews are blurred and greyscale. An original is loaded only when you reveal it, and each reveal is audited.'));
  } else {
    children.push(el('p', { class: 'muted small' }, 'Media content is not shared under your agreement; URLs are shown as text only.'));
  }
  if (!media.length) {
    children.push(el('p', { class: 'empty-state', 'data-testid': 'media-empty' }, 'This report has no media items.'));
  } else {
    const gallery = r.media_content === true
      ? mediaGallery(media, (err) => handleError(banner, err, 'Could not load the original')) : null;
    if (gallery) children.push(gallery);
    children.push(mediaTable(media, shared));
    children.push(...media.map(mediaDetails));
  }
  return section(`Media (${media.length})`, 'report-media', ...children);
}

// Renders the whole report.
function render(r) {
  iccamIdEl.textContent = r.iccam_id || `#${r.id}`;
  document.title = `${r.iccam_id || 'Report'} — cport`;
  clear(container);
  container.append(
    el('div', { class: 'card-grid' }, renderSummary(r), renderHosting(r), renderTimeline(r), renderHotlines(r)),
    renderMedia(r));
  // Which hash lists the media hit, when the agreement shares media hashes.
  if (r.media_metadata === true && Array.isArray(r.media) && r.media.length) {
    const slot = el('div');
    container.append(slot);
    renderHashHits(slot, r.id, { media: r.media });
  }
  container.hidden = false;
}

// For LEA analysts: suggest the report's domain for INTERPOL's Worst-of List,
// with this report as evidence (the IWOL page checks the rules).
function offerIwol(me, r) {
  const lea = me && me.org && me.org.kind === 'lea' && me.user && me.user.role !== 'viewer';
  if (!lea || !r.domain) return;
  const q = new URLSearchParams({ report: String(r.id), domain: r.domain });
  container.append(el('p', { class: 'iwol-offer' },
    el('a', { href: `iwol.html?${q}`, 'data-testid': 'suggest-iwol' }, `Suggest ${r.domain} for the IWOL`)));
}

// Page start: session, then the report.
async function init() {
  setBackLink();
  const id = params.get('id') || '';
  const me = await initSession(banner, { allow: canSeeReports });
  if (!me) { loadingEl.hidden = true; return; }
  if (!/^\d+$/.test(id)) {
    loadingEl.hidden = true;
    showError(banner, { problem: { title: 'No report selected', detail: 'The link has no valid report id.' } });
    return;
  }
  try {
    setMediaPrefs(me.media);
    const report = await api('GET', `/reports/${id}`);
    render(report);
    offerIwol(me, report);
  } catch (err) {
    handleError(banner, err, 'Could not load the report');
  }
  loadingEl.hidden = true;
}

init();
