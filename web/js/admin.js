// Administration page: one tab per section the signed-in person may use (from GET /me;
// the API checks every call again). Tabs: web/js/tabs.js (#users, #requests/12).

import { initSession, showError } from './ui.js';
import { canSeeAdmin } from './nav.js';
import { buildTabs, readHash } from './tabs.js';
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

// Page start: session, tabs, the section named in the fragment.
async function init() {
  const me = await initSession(banner, { allow: canSeeAdmin });
  document.getElementById('loading').hidden = true;
  if (!me) return;
  const { tabs, select } = buildTabs(SECTIONS, me, tablist, panels, { me, banner });
  if (!tabs.size) {
    showError(banner, { problem: { title: 'Nothing to administer', detail: 'Your role has no administration tasks.' } });
    return;
  }
  const [id, arg] = readHash();
  select(tabs.has(id) ? id : tabs.keys().next().value, arg);
}

init();
