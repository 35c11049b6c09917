// Imports tab (operators): the ICCAM import runs, newest first, and the quarantined
// records of a run (id, reason and size only: operators see no report content).

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash, formatBytes, handleError } from './ui.js';
import { dataTable, badge } from './tables.js';

let ctx = null;
let parts = null;

// Loads and shows the rejects of one run.
async function showRejects(run) {
  clear(parts.rejects);
  let items = [];
  try {
    items = (await api('GET', '/admin/import-rejects', { query: { run_id: run.id } })).items || [];
  } catch (err) {
    handleError(ctx.banner, err, `Could not load the rejects of run #${run.id}`);
    return;
  }
  const heading = el('h3', { tabindex: '-1', text: `Records quarantined by run #${run.id}` });
  parts.rejects.append(heading, dataTable({ caption: `Rejected records of run ${run.id}`, testid: 'rejects-table', empty: 'This run rejected no records.',
    columns: ['No.', 'ICCAM id', 'Reason', { label: 'Size', num: true }, 'When'],
    rows: items.map((r) => ({ attrs: { 'data-testid': 'reject-row' }, cells: [`#${r.id}`, orDash(r.iccam_id), r.reason, formatBytes(r.bytes), formatDate(r.created_at)] })) }));
  heading.focus();
}

// Loads and renders the runs.
async function load() {
  let items = [];
  try {
    items = (await api('GET', '/admin/import-runs')).items || [];
  } catch (err) {
    handleError(ctx.banner, err, 'Could not load the import runs');
    return;
  }
  const rows = items.map((r) => {
    const button = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'run-rejects', 'aria-label': `Rejected records of run ${r.id}` }, 'Rejects');
    button.addEventListener('click', () => showRejects(r));
    const state = badge(r.status, r.status === 'ok' ? 'badge-ok' : r.status === 'running' ? 'badge-warn' : 'badge-off');
    return {
      attrs: { 'data-testid': 'run-row', 'data-id': r.id },
      cells: [`#${r.id}`, el('span', { class: 'truncate', title: r.feed || '', text: orDash(r.feed) }), formatDate(r.started_at), formatDate(r.ended_at), state,
        String(r.pages), String(r.inserted), String(r.updated), String(r.deleted), String(r.unchanged), String(r.rejected),
        r.error ? el('span', { class: 'prewrap', text: r.error }) : '—', button],
    };
  });
  clear(parts.runs);
  parts.runs.append(dataTable({ caption: 'Import runs, newest first', testid: 'runs-table', rows, empty: 'No import has run yet.',
    columns: ['Run', 'Feed', 'Started', 'Ended', 'Status', { label: 'Pages', num: true }, { label: 'New', num: true }, { label: 'Updated', num: true },
      { label: 'Deleted', num: true }, { label: 'Unchanged', num: true }, { label: 'Rejected', num: true }, 'Error', 'Records'] }));
}

export default {
  id: 'imports',
  label: 'Imports',
  // Operators only.
  allowed: (me) => me.org.kind === 'operator',
  // Builds the tab and loads the runs.
  init(panel, c) {
    ctx = c;
    parts = { runs: el('div', { 'data-testid': 'runs-list' }), rejects: el('div', { 'data-testid': 'rejects-list' }) };
    const refresh = el('button', { type: 'button', class: 'btn', 'data-testid': 'runs-refresh' }, 'Refresh');
    refresh.addEventListener('click', load);
    panel.append(el('h2', { text: 'ICCAM imports' }), el('div', { class: 'filter-bar' }, refresh), parts.runs, parts.rejects);
    load();
  },
};
