// The package basket: what the person has chosen on the reports page for an intelligence
// package, kept in sessionStorage so it survives paging, sorting and reloads of this tab.
// It holds either report ids (ticked rows) or one filter ("all N results" of a search,
// stored as the search's filter parameters, not as N ids), never both. This module also
// builds the basket's controls on reports.html: a tick box per row and a summary bar with
// "Add all N results", "Compose package" and "Empty", which asks before one kind of
// selection replaces the other.

import { el, clear } from './dom.js';

const KEY = 'cport.package-basket';
const EVENT = 'cport-basket-change';
// The API takes at most this many report ids in one package.
export const MAX_IDS = 100000;
// The filter keys a package may be composed from (those of GET /reports), in URL order.
export const BASKET_FILTER_KEYS = ['q', 'hosting_country', 'site_type', 'status', 'international',
  'national', 'media_type', 'hotline', 'domain', 'from', 'to'];

// True when the person may compose packages (the API decides; this only hides controls):
// analysts and organisation admins of law enforcement, hotline and INTERPOL organisations.
export function canComposePackages(me) {
  return !!(me && me.org && me.user && ['lea', 'hotline', 'interpol'].includes(me.org.kind)
    && ['analyst', 'org_admin'].includes(me.user.role));
}

// An empty basket.
function emptyState() {
  return { ids: [], filter: null, total: null };
}

// Keeps only known filter keys with non-empty string values.
function cleanFilter(filter) {
  const out = {};
  for (const k of BASKET_FILTER_KEYS) {
    const v = filter && typeof filter[k] === 'string' ? filter[k].trim() : '';
    if (v) out[k] = v;
  }
  return out;
}

// Reads the basket from sessionStorage (an empty one when absent or unreadable).
export function loadBasket() {
  let raw = null;
  try { raw = JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch { raw = null; }
  if (!raw || typeof raw !== 'object') return emptyState();
  if (raw.filter && typeof raw.filter === 'object') {
    const total = Number.isInteger(raw.total) && raw.total >= 0 ? raw.total : null;
    return { ids: [], filter: cleanFilter(raw.filter), total };
  }
  const ids = Array.isArray(raw.ids) ? raw.ids.filter((n) => Number.isInteger(n) && n > 0) : [];
  return { ids: [...new Set(ids)].slice(0, MAX_IDS), filter: null, total: null };
}

// Stores the basket and tells this tab's listeners that it changed.
function saveBasket(b) {
  try {
    if (!b.filter && !b.ids.length) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, JSON.stringify(b.filter ? { filter: b.filter, total: b.total } : { ids: b.ids }));
  } catch { /* storage full or off: the basket lives only as long as the page */ }
  window.dispatchEvent(new CustomEvent(EVENT));
}

// Calls fn whenever the basket changes in this tab.
export function onBasketChange(fn) {
  window.addEventListener(EVENT, fn);
}

// True when the basket holds nothing.
export function basketIsEmpty(b) {
  return !b.filter && !b.ids.length;
}

// Empties the basket.
export function emptyBasket() {
  saveBasket(emptyState());
}

// Adds report ids (the caller has dealt with a stored filter); false when over the limit.
export function addIds(ids) {
  const b = loadBasket();
  const set = new Set(b.filter ? [] : b.ids);
  for (const id of ids) set.add(id);
  if (set.size > MAX_IDS) return false;
  saveBasket({ ids: [...set], filter: null, total: null });
  return true;
}

// Removes one report id.
export function removeId(id) {
  const b = loadBasket();
  if (b.filter) return;
  saveBasket({ ...b, ids: b.ids.filter((x) => x !== id) });
}

// Replaces the basket with one filter and the number of results it had when chosen.
export function setFilter(filter, total) {
  saveBasket({ ids: [], filter: cleanFilter(filter), total: Number.isInteger(total) ? total : null });
}

// "status=ntd_sent, hosting_country=NL" for a filter ("no filter" when it has none).
export function filterText(filter) {
  const parts = Object.entries(cleanFilter(filter)).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(', ') : 'no filter';
}

// The query string of a filter ("hosting_country=NL&status=ntd_sent"), for links.
export function filterQuery(filter) {
  return new URLSearchParams(cleanFilter(filter)).toString();
}

// True when two filters select the same reports (same keys and values).
export function sameFilter(a, b) {
  return filterQuery(a) === filterQuery(b);
}

// "all 3,214 results of: status=ntd_sent" for a filter and its result count (null: unknown).
function allResultsText(filter, total) {
  const n = total === null || total === undefined ? '' : ` ${total.toLocaleString('en')}`;
  return Object.keys(cleanFilter(filter)).length
    ? `all${n} results of: ${filterText(filter)}`
    : `all${n} reports you can see (no filter)`;
}

// "12 reports selected", "all 3,214 results of: status=ntd_sent" or "Nothing selected".
export function describeBasket(b) {
  if (b.filter) return allResultsText(b.filter, b.total);
  if (!b.ids.length) return 'Nothing selected';
  return `${b.ids.length.toLocaleString('en')} ${b.ids.length === 1 ? 'report' : 'reports'} selected`;
}

// The selection part of POST /packages for a basket: {report_ids} or {filter}.
export function basketSelection(b) {
  return b.filter ? { filter: { ...b.filter } } : { report_ids: [...b.ids] };
}

// Builds the basket controls in `bar` (reports.html). view.filter() gives the page's
// current filter, view.total() its result count (null when unknown). Returns
// {rowCell(report), update()}: a table cell with the row's tick box, and a refresh to
// call after each load so "Add all N results" names the right N.
export function basketControls(bar, view) {
  const summary = el('p', { class: 'basket-summary', role: 'status', 'aria-live': 'polite', 'data-testid': 'basket-summary' });
  const addAll = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'basket-add-all' }, 'Add all results');
  const compose = el('a', { class: 'btn btn-small btn-primary', href: 'packages.html#compose', 'data-testid': 'basket-compose' }, 'Compose package');
  const empty = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'basket-empty' }, 'Empty');
  const question = el('div', { class: 'basket-question', 'data-testid': 'basket-question', hidden: true });
  bar.append(el('span', { class: 'basket-label', text: 'Package basket:' }), summary, addAll, compose, empty, question);
  bar.hidden = false;

  let asker = null; // the control that asked the open question, for focus afterwards

  // Closes the question and gives focus back to the control that asked it.
  function closeQuestion() {
    question.hidden = true;
    clear(question);
    if (asker && asker.isConnected) asker.focus();
    asker = null;
  }

  // Asks in the bar whether to replace the basket's selection; runs yes() on "Replace".
  function ask(text, yes, from) {
    clear(question);
    asker = from;
    const replace = el('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'basket-replace' }, 'Replace');
    const keep = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'basket-keep' }, 'Keep the basket');
    replace.addEventListener('click', () => { yes(); closeQuestion(); });
    keep.addEventListener('click', closeQuestion);
    question.append(el('span', { text }), ' ', replace, ' ', keep);
    question.hidden = false;
    replace.focus();
  }
  question.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && asker) { event.preventDefault(); closeQuestion(); }
  });

  // Says something in the bar without a question (e.g. the id limit was reached).
  function tell(text) {
    clear(question);
    asker = null;
    question.append(el('span', { text }));
    question.hidden = false;
  }

  // "The basket holds 2 ticked reports." or "The basket holds all 61 results of: …."
  function holds(b) {
    if (b.filter) return `The basket holds ${describeBasket(b)}.`;
    return `The basket holds ${b.ids.length.toLocaleString('en')} ticked ${b.ids.length === 1 ? 'report' : 'reports'}.`;
  }

  // Refreshes the summary, the buttons and every row's tick box from the stored basket.
  function update() {
    const b = loadBasket();
    summary.textContent = basketIsEmpty(b) ? 'nothing selected yet' : describeBasket(b);
    const total = view.total();
    const current = view.filter();
    addAll.textContent = total === null ? 'Add all results' : `Add all ${total.toLocaleString('en')} results`;
    addAll.disabled = !total || (b.filter !== null && sameFilter(b.filter, current));
    compose.setAttribute('aria-disabled', basketIsEmpty(b) ? 'true' : 'false');
    empty.disabled = basketIsEmpty(b);
    const ids = new Set(b.ids);
    for (const box of document.querySelectorAll('input[data-basket-id]')) box.checked = ids.has(Number(box.dataset.basketId));
  }

  addAll.addEventListener('click', () => {
    const b = loadBasket();
    const filter = view.filter();
    const total = view.total();
    // Stores the current search as the basket's filter.
    const store = () => setFilter(filter, total);
    if (b.ids.length) {
      ask(`${holds(b)} Replace ${b.ids.length === 1 ? 'it' : 'them'} with ${allResultsText(filter, total)}?`, store, addAll);
    } else if (b.filter && !sameFilter(b.filter, filter)) {
      ask(`${holds(b)} Replace that with ${allResultsText(filter, total)}?`, store, addAll);
    } else {
      store();
    }
  });
  compose.addEventListener('click', (event) => {
    if (compose.getAttribute('aria-disabled') === 'true') {
      event.preventDefault();
      tell('Tick reports or add all results of a search first.');
    }
  });
  empty.addEventListener('click', () => { question.hidden = true; clear(question); emptyBasket(); });
  onBasketChange(update);

  // A cell with a labelled tick box adding report r to (or removing it from) the basket.
  function rowCell(r) {
    const name = r.iccam_id || `#${r.id}`;
    const box = el('input', { type: 'checkbox', class: 'basket-check', 'data-basket-id': r.id, 'data-testid': 'basket-row-check', 'aria-label': `Add report ${name} to the package` });
    box.checked = loadBasket().ids.includes(r.id);
    box.addEventListener('change', () => {
      const b = loadBasket();
      if (!box.checked) { removeId(r.id); return; }
      if (b.filter) {
        box.checked = false;
        ask(`${holds(b)} Replace that with report ${name}?`, () => addIds([r.id]), box);
        return;
      }
      if (!addIds([r.id])) { box.checked = false; tell(`A package holds at most ${MAX_IDS.toLocaleString('en')} ticked reports; add all results of a search instead.`); }
    });
    return el('td', { class: 'basket-cell', 'data-testid': 'cell-basket' }, el('label', { class: 'basket-hit' }, box));
  }

  update();
  return { rowCell, update };
}
