// Administration page: one tab per section the signed-in person may use (from GET /me;
// the API checks every call again). Tabs follow the WAI-ARIA tabs pattern (arrow keys,
// Home, End) and the address fragment (#users, #requests/12) so reload and links work.

import { initSession, showError } from './ui.js';
import { canSeeAdmin } from './nav.js';
import { el } from './dom.js';
import requests from './admin-requests.js';
import orgs from './admin-orgs.js';
import users from './admin-users.js';
import agreements from './admin-agreements.js';
import imports from './admin-imports.js';
import audit from './admin-audit.js';

const SECTIONS = [requests, orgs, users, agreements, imports, audit];
const banner = document.getElementById('error-banner');
const tablist = document.getElementById('admin-tabs');
const panels = document.getElementById('admin-panels');
const tabs = new Map(); // id -> {section, tab, panel, ready}
let ctx = null;

// Parses "#users/12" into ["users", "12"].
function readHash() {
  const [id, arg] = location.hash.replace(/^#/, '').split('/');
  return [decodeURIComponent(id || ''), arg ? decodeURIComponent(arg) : ''];
}

// Shows one tab's panel (initialising it the first time) and hides the others.
function select(id, arg, focusTab) {
  const entry = tabs.get(id) || tabs.values().next().value;
  for (const t of tabs.values()) {
    const on = t === entry;
    t.tab.setAttribute('aria-selected', on ? 'true' : 'false');
    t.tab.tabIndex = on ? 0 : -1;
    t.panel.hidden = !on;
  }
  if (!entry.ready) { entry.ready = true; entry.section.init(entry.panel, ctx); }
  if (arg && entry.section.open) entry.section.open(arg);
  if (focusTab) entry.tab.focus();
}

// Switches tabs through the address fragment, so history and reload keep the place.
function go(id, arg) {
  const hash = `#${id}${arg ? `/${arg}` : ''}`;
  if (location.hash === hash) select(id, arg);
  else location.hash = hash;
}

// Arrow keys, Home and End move between tabs (and select them).
function onTabKey(event) {
  const list = [...tabs.values()];
  const i = list.findIndex((t) => t.tab === event.target);
  if (i < 0) return;
  let j = null;
  if (event.key === 'ArrowRight') j = (i + 1) % list.length;
  else if (event.key === 'ArrowLeft') j = (i - 1 + list.length) % list.length;
  else if (event.key === 'Home') j = 0;
  else if (event.key === 'End') j = list.length - 1;
  if (j === null) return;
  event.preventDefault();
  go(list[j].section.id);
  list[j].tab.focus();
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

// Page start: session, tabs, the section named in the fragment.
async function init() {
  const me = await initSession(banner, { allow: canSeeAdmin });
  document.getElementById('loading').hidden = true;
  if (!me) return;
  ctx = { me, banner, go };
  build(me);
  if (!tabs.size) {
    showError(banner, { problem: { title: 'Nothing to administer', detail: 'Your role has no administration tasks.' } });
    return;
  }
  const [id, arg] = readHash();
  select(tabs.has(id) ? id : tabs.keys().next().value, arg);
  window.addEventListener('hashchange', () => { const [h, a] = readHash(); if (tabs.has(h)) select(h, a); });
}

init();
