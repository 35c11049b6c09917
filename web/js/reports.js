// Report search page: reads the view (filters, sort, page size, cursor) from the URL,
// loads /reports and /stats, renders the results table, facet counts in the filter
// selects and keyset paging. Every change is pushed to history so reload, shared links
// and the back button restore the same view.

import { api } from './api.js';
import {
  el, clear, formatDate, humanize, initSession, handleError, showError, FILTER_KEYS,
} from './ui.js';
import { canSeeReports } from './nav.js';
import { basketControls, canComposePackages } from './basket.js';
import { savedSearches } from './saved-searches.js';

const DEFAULT_SORT = '-reported_at';
const DEFAULT_LIMIT = 50;
const SORTS = ['reported_at', '-reported_at', 'updated_at', '-updated_at', 'domain', '-domain'];
// Direction used when a column is first chosen: dates newest first, domains A-Z.
const FIRST_DIRECTION = { reported_at: '-', updated_at: '-', domain: '' };
// Selects whose options carry facet counts from /stats.
const FACET_SELECTS = ['hosting_country', 'site_type', 'status', 'international', 'national', 'media_type', 'hotline'];
// Fixed option lists (enums from the domain guide); other selects are filled from data.
const STATIC_OPTIONS = {
  site_type: ['website', 'image_host', 'forum', 'file_host', 'banner_site', 'blog',
    'social_network', 'video_channel', 'chat_service', 'other'],
  status: ['received', 'assessed', 'forwarded', 'lea_notified', 'ntd_sent', 'content_removed', 'closed'],
  international: ['baseline', 'not_baseline'],
  national: ['illegal', 'not_illegal'],
  media_type: ['image', 'video', 'other'],
};

const form = document.getElementById('filters');
const banner = document.getElementById('error-banner');
const table = document.getElementById('results');
const tbody = document.getElementById('results-body');
const countEl = document.getElementById('result-count');
const loadingEl = document.getElementById('loading');
const emptyEl = document.getElementById('empty-state');
const prevButton = document.getElementById('prev-page');
const nextButton = document.getElementById('next-page');
const pageLabel = document.getElementById('page-label');
const pageSize = document.getElementById('page-size');

let view = readView();
let nextCursor = null;
let controller = null;
let hotlines = new Map(); // code -> hotline
let facets = {};
let basket = null; // the package basket's controls, for those who compose packages
let lastTotal = null; // the current search's result count, for "Add all N results"
let saved = null; // the saved-searches panel and export links

// Reads the current view from location.search and history.state.
function readView() {
  const sp = new URLSearchParams(location.search);
  const filters = {};
  for (const k of FILTER_KEYS) filters[k] = (sp.get(k) || '').trim();
  const sort = SORTS.includes(sp.get('sort')) ? sp.get('sort') : DEFAULT_SORT;
  const n = Number(sp.get('limit'));
  const limit = Number.isInteger(n) && n >= 1 && n <= 500 ? n : DEFAULT_LIMIT;
  const cursor = sp.get('cursor') || '';
  const st = history.state;
  const stack = st && st.cursor === cursor && Array.isArray(st.stack)
    ? st.stack.filter((c) => typeof c === 'string') : [];
  return { filters, sort, limit, cursor, stack };
}

// The page's own query string for a view (defaults left out).
function viewQuery(v) {
  const sp = new URLSearchParams();
  for (const k of FILTER_KEYS) if (v.filters[k]) sp.set(k, v.filters[k]);
  if (v.sort !== DEFAULT_SORT) sp.set('sort', v.sort);
  if (v.limit !== DEFAULT_LIMIT) sp.set('limit', String(v.limit));
  if (v.cursor) sp.set('cursor', v.cursor);
  return sp;
}

// Switches to a view: records it in history (push or replace), syncs the form, loads.
function go(v, replace = false) {
  view = v;
  const qs = viewQuery(v).toString();
  const url = `reports.html${qs ? `?${qs}` : ''}`;
  const state = { cursor: v.cursor, stack: v.stack };
  if (replace) history.replaceState(state, '', url);
  else history.pushState(state, '', url);
  fillForm();
  load();
}

// Copies the view's filters into the form controls.
function fillForm() {
  for (const k of FILTER_KEYS) {
    const control = form.elements[k];
    if (!control) continue;
    let value = view.filters[k];
    if (control.type === 'date') value = /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : '';
    if (control.tagName === 'SELECT') fillSelect(k);
    else control.value = value;
  }
  pageSize.value = String(view.limit);
  if (pageSize.value !== String(view.limit)) {
    pageSize.append(el('option', { value: String(view.limit), text: String(view.limit) }));
    pageSize.value = String(view.limit);
  }
}

// Label of an option value for a select.
function optionLabel(name, value) {
  if (name === 'hotline') {
    const h = hotlines.get(value);
    return h && h.name ? `${value} — ${h.name}` : value;
  }
  if (name === 'hosting_country') return value;
  return humanize(value);
}

// Rebuilds one facet select's options (with counts when known), keeping the selection.
function fillSelect(name) {
  const select = form.elements[name];
  const current = view.filters[name];
  const facet = Array.isArray(facets[name]) ? facets[name] : null;
  const counts = new Map((facet || []).map((f) => [String(f.value), Number(f.count) || 0]));
  let values = STATIC_OPTIONS[name] ? [...STATIC_OPTIONS[name]] : [];
  if (name === 'hotline') values = [...hotlines.keys()];
  for (const v of counts.keys()) if (!values.includes(v)) values.push(v);
  if (current && !values.includes(current)) values.push(current);
  if (!STATIC_OPTIONS[name]) values.sort();
  clear(select);
  select.append(el('option', { value: '', text: 'Any' }));
  for (const v of values) {
    const label = facet ? `${optionLabel(name, v)} (${counts.get(v) || 0})` : optionLabel(name, v);
    select.append(el('option', { value: v, text: label }));
  }
  select.value = current;
}

// Filters of a view as API parameters (optionally without one facet).
function filterParams(v, without) {
  const out = {};
  for (const k of FILTER_KEYS) if (v.filters[k] && k !== without) out[k] = v.filters[k];
  return out;
}

// Loads results and facet counts for the current view.
async function load() {
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  const v = view;
  setBusy(true);
  showError(banner, null);
  if (saved) saved.updateExports();
  lastTotal = null; // until this view's count is known, "Add all" waits
  if (basket) basket.update();
  loadStats(v, signal);
  try {
    const data = await api('GET', '/reports', {
      query: { ...filterParams(v), sort: v.sort, limit: v.limit, cursor: v.cursor },
      signal,
    });
    if (signal.aborted) return;
    renderResults(data);
  } catch (err) {
    if (signal.aborted || (err && err.name === 'AbortError')) return;
    renderResults(null);
    handleError(banner, err, 'Search failed');
  }
  setBusy(false);
}

// Loads /stats for the view; a facet with an active filter gets its counts from a
// second request without that filter, so its other options still show what they'd give.
async function loadStats(v, signal) {
  const active = FACET_SELECTS.filter((k) => v.filters[k]);
  const requests = [null, ...active].map((without) => api('GET', '/stats', { query: filterParams(v, without), signal }));
  const results = await Promise.allSettled(requests);
  if (signal.aborted) return;
  if (results[0].status === 'rejected') {
    if (banner.hidden) handleError(banner, results[0].reason, 'Filter counts unavailable');
    return;
  }
  const next = { ...((results[0].value && results[0].value.facets) || {}) };
  active.forEach((k, i) => {
    const r = results[i + 1];
    if (r.status === 'fulfilled' && r.value && r.value.facets && Array.isArray(r.value.facets[k])) next[k] = r.value.facets[k];
  });
  facets = next;
  for (const k of FACET_SELECTS) fillSelect(k);
}

// Shows or hides the loading state.
function setBusy(busy) {
  table.setAttribute('aria-busy', busy ? 'true' : 'false');
  table.classList.toggle('is-loading', busy);
  loadingEl.hidden = !busy;
}

// Link to a report's detail page that remembers this view for the back link.
function reportHref(id) {
  return `report.html?id=${encodeURIComponent(id)}&back=${encodeURIComponent(viewQuery(view).toString())}`;
}

// A date cell's content that may wrap only between the date and the time.
function dateParts(value) {
  const text = formatDate(value);
  const i = text.indexOf(' ');
  if (i < 0) return text;
  return [el('span', { class: 'nowrap' }, text.slice(0, i)), ' ', el('span', { class: 'nowrap' }, text.slice(i + 1))];
}

// Renders one result row.
function renderRow(r) {
  const hosting = r.hosting || {};
  const url = r.url || '';
  return el('tr', { 'data-id': r.id },
    basket ? basket.rowCell(r) : null,
    el('td', { class: 'nowrap', 'data-testid': 'cell-iccam-id' },
      el('a', { href: reportHref(r.id), 'data-testid': 'report-link' }, r.iccam_id || `#${r.id}`)),
    el('td', { class: 'date', 'data-testid': 'cell-reported' }, dateParts(r.reported_at)),
    el('td', { class: 'date', 'data-testid': 'cell-updated' }, dateParts(r.updated_at)),
    el('td', { class: 'col-url', 'data-testid': 'cell-url' },
      el('span', { class: 'truncate', title: url }, url)),
    el('td', { class: 'nowrap', 'data-testid': 'cell-domain' }, r.domain || '—'),
    el('td', { 'data-testid': 'cell-site-type' }, humanize(r.site_type)),
    el('td', { 'data-testid': 'cell-country' }, hosting.country || '—'),
    el('td', { 'data-testid': 'cell-status' }, el('span', { class: `status status-${r.status}` }, humanize(r.status))),
    el('td', { class: 'num', 'data-testid': 'cell-media' }, r.media_count ?? '—'));
}

// Renders the results table, count, empty state and pager (null = failed load).
function renderResults(data) {
  clear(tbody);
  const items = data && Array.isArray(data.items) ? data.items : [];
  const total = data && typeof data.total === 'number' ? data.total : null;
  for (const r of items) tbody.append(renderRow(r));
  const pageKnown = view.stack.length > 0 || !view.cursor;
  const page = view.stack.length + 1;
  if (total === null) {
    countEl.textContent = data ? `${items.length} reports on this page` : '';
  } else {
    let text = `${total.toLocaleString('en')} ${total === 1 ? 'report' : 'reports'}`;
    if (items.length && pageKnown) {
      const first = (page - 1) * view.limit + 1;
      text += ` — showing ${first.toLocaleString('en')}–${(first + items.length - 1).toLocaleString('en')}`;
    }
    countEl.textContent = text;
  }
  countEl.dataset.total = total === null ? '' : String(total);
  lastTotal = total;
  if (basket) basket.update();
  emptyEl.hidden = !data || items.length > 0;
  nextCursor = data && data.next_cursor ? data.next_cursor : null;
  nextButton.disabled = !nextCursor;
  prevButton.disabled = !view.cursor;
  pageLabel.textContent = data && pageKnown ? `Page ${page}` : '';
  updateSortHeaders();
}

// Updates aria-sort and arrows on the sortable headers.
function updateSortHeaders() {
  const key = view.sort.replace(/^-/, '');
  const desc = view.sort.startsWith('-');
  for (const th of table.querySelectorAll('th[data-sort-key]')) {
    const indicator = th.querySelector('.sort-indicator');
    if (th.dataset.sortKey === key) {
      th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
      indicator.textContent = desc ? ' ▼' : ' ▲';
    } else {
      th.removeAttribute('aria-sort');
      indicator.textContent = ' ↕';
    }
  }
}

// Reads the form into a filters object.
function formFilters() {
  const filters = {};
  for (const k of FILTER_KEYS) {
    const control = form.elements[k];
    filters[k] = control ? control.value.trim() : '';
  }
  return filters;
}

// Opens the row's report when a row (not its link or package tick box) is clicked.
function onRowClick(event) {
  if (event.target.closest('a, .basket-cell')) return;
  const tr = event.target.closest('tr');
  const link = tr && tr.querySelector('a[href]');
  if (!link) return;
  const selection = window.getSelection();
  if (selection && selection.toString()) return;
  if (event.ctrlKey || event.metaKey || event.shiftKey) window.open(link.href, '_blank', 'noopener');
  else location.href = link.href;
}

// Wires up the page's controls.
function bindEvents() {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go({ ...view, filters: formFilters(), cursor: '', stack: [] });
  });
  document.getElementById('reset-filters').addEventListener('click', () => {
    const filters = {};
    for (const k of FILTER_KEYS) filters[k] = '';
    go({ ...view, filters, cursor: '', stack: [] });
  });
  for (const button of table.querySelectorAll('button[data-sort]')) {
    button.addEventListener('click', () => {
      const key = button.dataset.sort;
      const current = view.sort.replace(/^-/, '');
      let sort;
      if (current === key) sort = view.sort.startsWith('-') ? key : `-${key}`;
      else sort = `${FIRST_DIRECTION[key] || ''}${key}`;
      go({ ...view, sort, cursor: '', stack: [] });
    });
  }
  pageSize.addEventListener('change', () => {
    go({ ...view, limit: Number(pageSize.value) || DEFAULT_LIMIT, cursor: '', stack: [] });
  });
  nextButton.addEventListener('click', () => {
    if (!nextCursor) return;
    go({ ...view, stack: [...view.stack, view.cursor], cursor: nextCursor });
    table.scrollIntoView({ block: 'start' });
  });
  prevButton.addEventListener('click', () => {
    const stack = [...view.stack];
    const cursor = stack.length ? stack.pop() : '';
    go({ ...view, stack, cursor });
    table.scrollIntoView({ block: 'start' });
  });
  tbody.addEventListener('click', onRowClick);
  window.addEventListener('popstate', () => {
    view = readView();
    fillForm();
    load();
  });
}

// Loads the hotline names used in the hotline select.
async function loadHotlines() {
  try {
    const data = await api('GET', '/hotlines');
    const list = data && Array.isArray(data.hotlines) ? data.hotlines : [];
    hotlines = new Map(list.filter((h) => h && h.code).map((h) => [String(h.code), h]));
    fillSelect('hotline');
  } catch (err) {
    handleError(banner, err, 'Hotline list unavailable');
  }
}

// Page start: session check, then the first load (URL normalised with replaceState).
async function init() {
  bindEvents();
  fillForm();
  updateSortHeaders();
  const me = await initSession(banner, { allow: canSeeReports });
  if (!me) { setBusy(false); return; }
  if (canComposePackages(me)) {
    document.getElementById('basket-col').hidden = false;
    basket = basketControls(document.getElementById('basket-bar'), {
      filter: () => filterParams(view),
      total: () => lastTotal,
    });
  }
  saved = savedSearches(document.getElementById('saved-searches'), {
    filters: () => filterParams(view),
    sort: () => view.sort,
    open: (filters) => {
      const f = {};
      for (const k of FILTER_KEYS) f[k] = typeof filters[k] === 'string' ? filters[k] : '';
      go({ filters: f, sort: view.sort, limit: view.limit, cursor: '', stack: [] });
    },
    report: (err, prefix) => handleError(banner, err, prefix),
  });
  loadHotlines();
  go(view, true);
}

init();
