// The report page's "Hash-list hits" section: GET /reports/{id}/hash-hits checks the
// report's media hashes against every list the caller may read right now (so a list
// imported a minute ago already counts) and this renders, per media item with hits, the
// matching entries and, apart, the warning-list hits. Text only; lists are links.

import { api, isUnauthorized } from './api.js';
import { el, clear } from './dom.js';
import { redirectToSignIn } from './ui.js';
import { dataTable, badge } from './tables.js';

// One hit as a list item: list name (link to the list), category, series, distance.
function hitItem(h) {
  const facts = [];
  if (h.category) facts.push(`category ${h.category}`);
  if (h.series) facts.push(`series ${h.series}`);
  facts.push(h.distance ? `${String(h.algorithm || '').toUpperCase()} distance ${h.distance}` : `${String(h.algorithm || '').toUpperCase()} exact`);
  return el('li', { 'data-testid': 'hash-hit' },
    el('a', { href: `hashlist.html?id=${encodeURIComponent(h.list_id)}`, 'data-testid': 'hash-hit-list' }, h.list || `List ${h.list_id}`),
    el('span', { class: 'muted' }, ` — ${facts.join(', ')}`));
}

// The hits of one kind for a cell, or a dash.
function hitsCell(hits, testid) {
  if (!Array.isArray(hits) || !hits.length) return '—';
  return el('ul', { class: 'hit-list', 'data-testid': testid }, hits.map(hitItem));
}

// Fills container with the section for report reportId. opts.media (the report's media
// array from GET /reports/{id}) labels items with their ICCAM media ids and links them to
// the media details (#media-<id>). Resolves with {items, withHits} (null on failure).
export async function renderHashHits(container, reportId, opts = {}) {
  const labels = new Map((Array.isArray(opts.media) ? opts.media : []).map((m) => [m.id, m.iccam_media_id]));
  const titleId = `hash-hits-title-${reportId}`;
  const body = el('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, el('p', { class: 'loading', text: 'Checking the media hashes against your hash lists…' }));
  clear(container);
  container.append(el('section', { class: 'card section', 'aria-labelledby': titleId, 'data-testid': 'report-hash-hits' },
    el('h2', { id: titleId, text: 'Hash-list hits' }), body));
  let items;
  try {
    items = (await api('GET', `/reports/${encodeURIComponent(reportId)}/hash-hits`)).items || [];
  } catch (err) {
    body.setAttribute('aria-busy', 'false');
    clear(body);
    if (isUnauthorized(err)) { redirectToSignIn(); return null; }
    const text = err && err.status === 403
      ? 'Your agreement does not include media hashes, so they cannot be checked against hash lists.'
      : `The hashes could not be checked: ${(err && err.problem && (err.problem.detail || err.problem.title)) || (err && err.message) || 'unknown error'}`;
    body.append(el('p', { class: err && err.status === 403 ? 'note' : 'banner banner-error', role: err && err.status === 403 ? null : 'alert', 'data-testid': 'hash-hits-error', text }));
    return null;
  }
  const withHits = items.filter((i) => (i.matches && i.matches.length) || (i.warnings && i.warnings.length));
  body.setAttribute('aria-busy', 'false');
  clear(body);
  body.append(el('p', { class: 'muted small', 'data-testid': 'hash-hits-summary' },
    withHits.length
      ? `${withHits.length} of ${items.length} media ${items.length === 1 ? 'item is' : 'items are'} on hash lists you can read (checked now).`
      : `None of the ${items.length} media ${items.length === 1 ? 'item is' : 'items are'} on a hash list you can read (checked now).`));
  if (withHits.length) {
    body.append(dataTable({
      caption: 'Media items of this report on hash lists; warning-list hits apart',
      testid: 'hash-hits-table',
      columns: ['Media', 'Matches', 'Warning-list hits'],
      rows: withHits.map((i) => ({
        attrs: { 'data-testid': 'hash-hits-row', 'data-media-id': String(i.media_id) },
        cells: [
          el('a', { href: `#media-${i.media_id}` }, labels.get(i.media_id) || `Media ${i.media_id}`),
          hitsCell(i.matches, 'hash-hits-matches'),
          i.warnings && i.warnings.length ? [badge('warning', 'badge-warn'), hitsCell(i.warnings, 'hash-hits-warnings')] : '—',
        ],
      })),
    }));
  }
  return { items, withHits };
}
