// The organisation's packages on packages.html: one table row a package with its status,
// a progress bar while it is queued or being built, the error of a failed one, expiry, and
// a download link once ready. While any package is pending the list is fetched again every
// 2 s (and no more once none is); rows whose data did not change are left in place, so
// focus and text selection survive the refresh.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, formatBytes, orDash, handleError, showError } from './ui.js';
import { badge } from './tables.js';

const POLL_MS = 2000;
// After a failed refresh while packages are pending, wait longer before the next one.
const RETRY_MS = 10000;
const PENDING = new Set(['queued', 'building']);
const STATUS_CLASS = { queued: 'badge-current', building: 'badge-warn', ready: 'badge-ok', failed: 'badge-off', expired: '' };

// The address that downloads a package's file (the session cookie goes with a plain link).
export function downloadHref(id) {
  return `/api/v1/packages/${encodeURIComponent(id)}/download`;
}

// "120 of 312 reports" for a progress object (or "Waiting for the builder" when unknown).
function progressText(p) {
  const pr = p.progress || {};
  const total = Number(pr.total) || 0;
  const done = Number(pr.done) || 0;
  if (!total) return p.status === 'queued' ? 'Waiting for the builder' : 'Starting';
  return `${done.toLocaleString('en')} of ${total.toLocaleString('en')} reports`;
}

// The status cell: a badge, and the progress bar, the error or the expiry note.
function statusCell(p) {
  const parts = [el('span', { 'data-testid': 'package-status' }, badge(p.status, STATUS_CLASS[p.status]))];
  if (PENDING.has(p.status)) {
    const pr = p.progress || {};
    const total = Number(pr.total) || 0;
    // No value until the builder knows the total: an indeterminate bar.
    const bar = el('progress', {
      class: 'package-bar', max: total || null, value: total ? Math.min(Number(pr.done) || 0, total) : null,
      'aria-label': `Progress of package ${p.id}`, 'data-testid': 'package-progress',
    });
    parts.push(el('div', { class: 'package-progress' }, bar, el('span', { class: 'upload-text small', 'data-testid': 'package-progress-text', text: progressText(p) })));
  } else if (p.status === 'failed') {
    parts.push(el('p', { class: 'package-error', 'data-testid': 'package-error', text: p.error || 'The build failed.' }));
  }
  return parts;
}

// The file cell: download link with size and checksum, or why there is none.
function fileCell(p) {
  if (p.status === 'ready') {
    return [
      el('a', { class: 'btn btn-small', href: downloadHref(p.id), download: '', 'data-testid': 'package-download' },
        p.encrypted ? 'Download (encrypted)' : 'Download'),
      el('div', { class: 'small muted', 'data-testid': 'package-size', text: formatBytes(p.bytes) }),
      p.sha256 ? el('div', { class: 'small' }, 'SHA-256 ', el('code', { class: 'break hash-value', title: p.sha256, 'data-testid': 'package-sha256', text: p.sha256 })) : null,
    ];
  }
  if (p.status === 'expired') return el('span', { class: 'muted', text: 'File deleted' });
  if (p.status === 'failed') return el('span', { class: 'muted', text: 'No file' });
  return el('span', { class: 'muted', text: 'Not built yet' });
}

// One package's table row.
function packageRow(p) {
  const title = [el('strong', { 'data-testid': 'package-title', text: p.title || '(untitled)' }), ' ', el('span', { class: 'muted', text: `#${p.id}` })];
  if (p.encrypted) title.push(' ', badge('encrypted', 'badge-current'));
  if (p.case_ref) title.push(el('div', { class: 'small', 'data-testid': 'package-case-ref' }, 'Case ', el('span', { text: p.case_ref })));
  const count = typeof p.report_count === 'number' ? p.report_count
    : (p.progress && Number(p.progress.total)) || null;
  let expires = formatDate(p.expires_at);
  if (p.status === 'expired') expires = `Expired ${formatDate(p.expires_at)}`;
  return el('tr', { 'data-testid': 'package-row', 'data-id': String(p.id), 'data-status': p.status },
    el('td', null, title),
    el('td', { class: 'num', 'data-testid': 'package-count' }, count === null ? '—' : count.toLocaleString('en')),
    el('td', { class: 'package-status-cell' }, statusCell(p)),
    el('td', null, el('span', { class: 'nowrap', text: formatDate(p.created_at) }), el('div', { class: 'small muted', text: orDash(p.created_by) })),
    el('td', { 'data-testid': 'package-expires' }, expires),
    el('td', null, fileCell(p)));
}

// Builds the list in container with statusEl for announcements. Returns {reload(newId)}:
// fetches the list now (and keeps polling while something is pending); newId, when given,
// is the package just composed, whose row gets focus.
export function packageList(container, statusEl, banner) {
  const rows = new Map(); // id -> {key, tr}
  let tbody = null;
  let timer = 0;
  let seq = 0; // the latest request: older answers are dropped
  const previous = new Map(); // id -> status at the last refresh, to announce changes

  // Creates the table (once there is something to show) and returns its body.
  function ensureTable() {
    if (tbody) return tbody;
    clear(container);
    tbody = el('tbody');
    const head = ['Package', 'Reports', 'Status', 'Composed', 'Expires', 'File'];
    container.append(el('div', { class: 'table-wrap' },
      el('table', { class: 'data-table compact packages-table', 'data-testid': 'packages-table' },
        el('caption', { class: 'visually-hidden', text: 'Your organisation\'s packages, newest first' }),
        el('thead', null, el('tr', null, head.map((h, i) => el('th', { scope: 'col', class: i === 1 ? 'num' : null, text: h })))),
        tbody)));
    return tbody;
  }

  // Replaces the rows with the list's packages, keeping unchanged rows in place.
  function render(items) {
    if (!items.length) {
      clear(container);
      tbody = null;
      rows.clear();
      container.append(el('p', { class: 'empty-state', 'data-testid': 'packages-empty', text: 'Your organisation has no packages yet.' }));
      return;
    }
    const body = ensureTable();
    const ordered = [];
    const refocus = [];
    // Changed rows are swapped in place (focus follows), new ones wait to be inserted.
    for (const p of items) {
      const key = JSON.stringify(p);
      let entry = rows.get(p.id);
      if (!entry || entry.key !== key) {
        const tr = packageRow(p);
        if (entry) {
          if (entry.tr.contains(document.activeElement)) refocus.push(tr);
          entry.tr.replaceWith(tr);
        }
        entry = { key, tr };
        rows.set(p.id, entry);
      }
      ordered.push(entry.tr);
    }
    const keep = new Set(ordered);
    for (const [id, entry] of rows) if (!keep.has(entry.tr)) { entry.tr.remove(); rows.delete(id); }
    // Rows already in the right place are not moved (moving a node takes its focus away).
    let cursor = body.firstChild;
    for (const tr of ordered) {
      if (tr === cursor) cursor = cursor.nextSibling;
      else body.insertBefore(tr, cursor);
    }
    for (const tr of refocus) focusRow(tr);
  }

  // Moves focus into a row: its download link when it has one, else the row itself.
  function focusRow(tr) {
    const link = tr.querySelector('a');
    if (link) { link.focus(); return; }
    tr.setAttribute('tabindex', '-1');
    tr.focus();
  }

  // Sets the status line, announcing a package that just became ready or failed.
  function announce(items) {
    const pending = items.filter((p) => PENDING.has(p.status)).length;
    const changed = items.filter((p) => PENDING.has(previous.get(p.id)) && !PENDING.has(p.status));
    previous.clear();
    for (const p of items) previous.set(p.id, p.status);
    let text = null; // null: the last message stands
    if (changed.length) {
      text = changed.map((p) => (p.status === 'ready' ? `Package #${p.id} is ready to download.` : `Package #${p.id} ${p.status}.`)).join(' ');
    } else if (pending) {
      text = `${pending} ${pending === 1 ? 'package is' : 'packages are'} being prepared; this list follows progress every ${POLL_MS / 1000} seconds.`;
    }
    if (text !== null && statusEl.textContent !== text) statusEl.textContent = text;
    return pending;
  }

  // Fetches the list, renders it and schedules the next refresh while work is pending.
  async function reload(newId) {
    clearTimeout(timer);
    timer = 0;
    const mine = ++seq;
    let items;
    try {
      items = ((await api('GET', '/packages')) || {}).items || [];
    } catch (err) {
      if (mine !== seq) return;
      handleError(banner, err, 'Could not load the packages');
      banner.dataset.source = 'packages';
      if ([...previous.values()].some((s) => PENDING.has(s))) timer = setTimeout(reload, RETRY_MS);
      return;
    }
    if (mine !== seq) return;
    if (!banner.hidden && banner.dataset.source === 'packages') { showError(banner, null); banner.dataset.source = ''; }
    render(items);
    const pending = announce(items);
    if (newId && rows.has(newId)) focusRow(rows.get(newId).tr);
    if (pending) timer = setTimeout(reload, POLL_MS);
  }

  return { reload };
}
