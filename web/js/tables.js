// Data tables for the account and admin pages, built from plain values and nodes.

import { el } from './dom.js';

// Builds a table in a scrolling wrapper. columns: [{label, num?}] (or strings); rows:
// [{cells: [string|Node], attrs?}]; empty: text shown instead when there are no rows.
export function dataTable({ caption, columns, rows, testid, empty }) {
  if (!rows.length && empty) return el('p', { class: 'empty-state', 'data-testid': testid ? `${testid}-empty` : null, text: empty });
  const cols = columns.map((c) => (typeof c === 'string' ? { label: c } : c));
  const head = el('tr', null, cols.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null, text: c.label })));
  const body = el('tbody', null, rows.map((r) => el('tr', r.attrs || null,
    r.cells.map((cell, i) => el('td', { class: cols[i] && cols[i].num ? 'num' : null }, cell)))));
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'data-table compact', 'data-testid': testid },
      caption ? el('caption', { class: 'visually-hidden', text: caption }) : null,
      el('thead', null, head), body));
}

// "yes"/"no" for a boolean, a dash for null.
export function yesNo(v) {
  if (v === null || v === undefined) return '—';
  return v ? 'yes' : 'no';
}

// A small label ("badge") with an optional extra class.
export function badge(text, cls) {
  return el('span', { class: `badge${cls ? ` ${cls}` : ''}`, text });
}
