// The reports whose media hit one hash list, from the last correlation run (the server
// correlates media with lists on a schedule, so a fresh import shows up after the next
// run), limited to the reports the caller may see with media metadata. Links open the
// report's page.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash, handleError } from './ui.js';
import { dataTable } from './tables.js';

// The report page's address for a report id (the same form the search page links to).
export function reportHref(id) {
  return `report.html?id=${encodeURIComponent(id)}`;
}

// Loads the hits and renders the table into container.
export async function initReportHits(container, ctx) {
  clear(container);
  const loading = el('p', { class: 'loading', text: 'Loading…' });
  container.append(
    el('p', { class: 'muted small', text: 'From the last correlation run of media hashes against the lists (it runs on a schedule, so entries imported since then are not counted yet). Distance 0 is an exact match; for PDQ it counts the bits that differ. Only reports you may see with their media hashes are listed; at most the newest 500.' }),
    loading);
  let items;
  try {
    items = (await api('GET', `/hash-lists/${ctx.id}/report-hits`)).items || [];
  } catch (err) {
    loading.remove();
    if (err && err.status === 403) {
      container.append(el('p', { class: 'note', 'data-testid': 'report-hits-denied', text: 'Your agreement does not include media hashes, so report hits cannot be shown.' }));
      return;
    }
    handleError(ctx.banner, err, 'Could not load the report hits');
    return;
  }
  loading.remove();
  container.append(dataTable({
    caption: 'Reports whose media hit this list', testid: 'report-hits-table',
    empty: 'No report you can see has media on this list (as of the last correlation run).',
    columns: ['Report', 'URL', 'Domain', 'Reported', { label: 'Media hits', num: true }, { label: 'Closest distance', num: true }, 'Found'],
    rows: items.map((h) => ({
      attrs: { 'data-testid': 'report-hit-row', 'data-report-id': String(h.report_id) },
      cells: [
        el('a', { href: reportHref(h.report_id), 'data-testid': 'report-hit-link' }, `Report ${h.report_id}`),
        el('span', { class: 'truncate', title: h.url || '' }, orDash(h.url)),
        orDash(h.domain),
        formatDate(h.reported_at),
        String(h.media_hits ?? '—'),
        h.min_distance === null || h.min_distance === undefined ? '—' : String(h.min_distance),
        formatDate(h.found_at),
      ],
    })),
  }));
}
