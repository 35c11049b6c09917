// IWOL page: one tab per part the signed-in person takes in the INTERPOL Worst-of List
// (from GET /me; the API checks every call again): suggesting a domain and following the
// organisation's suggestions (LEAs), verifying other countries' suggestions (LEA and
// hotline analysts), INTERPOL's review queue, and the accepted list with its exports.
// Tabs follow the WAI-ARIA tabs pattern (arrow keys, Home, End) and the address fragment
// (#suggest, #mine, #verify, #review, #list), so reload and links keep the place.
// iwol.html?report=ID&domain=D opens the suggestion form with both filled in.

import { initSession } from './ui.js';
import { el } from './dom.js';
import { canUseIwol } from './iwol-common.js';
import suggest from './iwol-suggest.js';
import { mine, verify, review, list } from './iwol-lists.js';

const SECTIONS = [suggest, mine, verify, review, list];
const banner = document.getElementById('error-banner');
const tablist = document.getElementById('iwol-tabs');
const panels = document.getElementById('iwol-panels');
const tabs = new Map(); // id -> {section, tab, panel, ready}
let ctx = null;

// The tab id named in the address fragment ("#verify" -> "verify").
function readHash() {
  return decodeURIComponent(location.hash.replace(/^#/, '').split('/')[0] || '');
}

// Shows one tab's panel (building it the first time, refreshing it after) and hides the others.
function select(id, focusTab) {
  const entry = tabs.get(id) || tabs.values().next().value;
  for (const t of tabs.values()) {
    const on = t === entry;
    t.tab.setAttribute('aria-selected', on ? 'true' : 'false');
    t.tab.tabIndex = on ? 0 : -1;
    t.panel.hidden = !on;
  }
  if (!entry.ready) { entry.ready = true; entry.section.init(entry.panel, ctx); }
  else if (entry.section.show) entry.section.show();
  if (focusTab) entry.tab.focus();
}

// Switches tabs through the address fragment, so history and reload keep the place.
function go(id) {
  const hash = `#${id}`;
  if (location.hash === hash) select(id);
  else location.hash = hash;
}

// Arrow keys, Home and End move between tabs (and select them).
function onTabKey(event) {
  const all = [...tabs.values()];
  const i = all.findIndex((t) => t.tab === event.target);
  if (i < 0) return;
  let j = null;
  if (event.key === 'ArrowRight') j = (i + 1) % all.length;
  else if (event.key === 'ArrowLeft') j = (i - 1 + all.length) % all.length;
  else if (event.key === 'Home') j = 0;
  else if (event.key === 'End') j = all.length - 1;
  if (j === null) return;
  event.preventDefault();
  go(all[j].section.id);
  all[j].tab.focus();
}

// Builds the tabs and panels this person may use.
function build(me) {
  for (const section of SECTIONS) {
    if (!section.allowed(me)) continue;
    const tab = el('button', { type: 'button', role: 'tab', id: `tab-${section.id}`, 'aria-controls': `panel-${section.id}`,
      'aria-selected': 'false', tabindex: '-1', class: 'tab', 'data-testid': `tab-${section.id}` }, section.label);
    const panel = el('section', { role: 'tabpanel', id: `panel-${section.id}`, 'aria-labelledby': `tab-${section.id}`,
      tabindex: '0', class: 'tab-panel', hidden: true, 'data-testid': `panel-${section.id}` });
    tab.addEventListener('click', () => go(section.id));
    tablist.append(tab);
    panels.append(panel);
    tabs.set(section.id, { section, tab, panel, ready: false });
  }
  tablist.addEventListener('keydown', onTabKey);
  tablist.hidden = tabs.size < 2;
}

// The tab to open first: the fragment's, the form when prefilled from a report, else the first.
function firstTab(params) {
  const h = readHash();
  if (tabs.has(h)) return h;
  if ((params.get('report') || params.get('domain')) && tabs.has('suggest')) return 'suggest';
  return tabs.keys().next().value;
}

// Page start: session, tabs, the section named in the fragment.
async function init() {
  const me = await initSession(banner);
  document.getElementById('loading').hidden = true;
  if (!me) return;
  if (!canUseIwol(me)) {
    document.getElementById('no-iwol').hidden = false;
    return;
  }
  document.getElementById('intro').hidden = false;
  const params = new URLSearchParams(location.search);
  ctx = { me, banner, go, params };
  build(me);
  select(firstTab(params));
  window.addEventListener('hashchange', () => { const h = readHash(); if (tabs.has(h)) select(h); });
}

init();
