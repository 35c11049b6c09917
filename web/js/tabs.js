// Tabbed pages (administration, IWOL): one tab per section the signed-in person may
// use, following the WAI-ARIA tabs pattern (arrow keys, Home, End) and the address
// fragment ("#users", "#requests/12"), so history, reload and links keep the place.
// A section is {id, label, allowed(me), init(panel, ctx), show?(), open?(arg)}: init
// runs the first time its tab opens, show each later time, open with the fragment's
// argument.

import { el } from './dom.js';

// Parses "#users/12" into ["users", "12"].
export function readHash() {
  const [id, arg] = location.hash.replace(/^#/, '').split('/');
  return [decodeURIComponent(id || ''), arg ? decodeURIComponent(arg) : ''];
}

// Builds the tabs of the allowed sections into tablist and panels; ctx (given to each
// section's init) gains go(id, arg). Returns {tabs, select, go}.
export function buildTabs(sections, me, tablist, panels, ctx) {
  const tabs = new Map(); // id -> {section, tab, panel, ready}

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
    else if (entry.section.show) entry.section.show();
    if (arg && entry.section.open) entry.section.open(arg);
    if (focusTab) entry.tab.focus();
  }

  // Switches tabs through the address fragment.
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

  ctx.go = go;
  for (const section of sections) {
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
  window.addEventListener('hashchange', () => { const [h, a] = readHash(); if (tabs.has(h)) select(h, a); });
  return { tabs, select, go };
}
