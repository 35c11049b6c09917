// IWOL page: one tab per part the signed-in person takes in the INTERPOL Worst-of List
// (from GET /me; the API checks every call again): suggesting a domain and following the
// organisation's suggestions (LEAs), verifying other countries' suggestions (LEA and
// hotline analysts), INTERPOL's review queue, and the accepted list with its exports.
// Tabs: web/js/tabs.js (#suggest, #mine, #verify, #review, #list).
// iwol.html?report=ID&domain=D opens the suggestion form with both filled in.

import { initSession } from './ui.js';
import { buildTabs, readHash } from './tabs.js';
import { canUseIwol } from './iwol-common.js';
import suggest from './iwol-suggest.js';
import { mine, verify, review, list } from './iwol-lists.js';

const SECTIONS = [suggest, mine, verify, review, list];
const banner = document.getElementById('error-banner');
const tablist = document.getElementById('iwol-tabs');
const panels = document.getElementById('iwol-panels');

// The tab to open first: the fragment's, the form when prefilled from a report, else the first.
function firstTab(tabs, params) {
  const [h] = readHash();
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
  const { tabs, select } = buildTabs(SECTIONS, me, tablist, panels, { me, banner, params });
  select(firstTab(tabs, params));
}

init();
