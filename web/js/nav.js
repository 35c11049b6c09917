// Who may go where in the portal, from GET /me: the main navigation of signed-in pages
// and the landing page after sign-in. The API enforces all of it; this only avoids
// showing people links that would answer 403.

import { el, clear } from './dom.js';

// True when the person must set up TOTP before anything else (the API refuses the rest).
export function mustEnrol(me) {
  return !!(me && me.mfa && me.mfa.required && !me.mfa.enabled);
}

// True when the person's organisation reads reports (operators see no report content).
export function canSeeReports(me) {
  return !!(me && me.org && me.org.kind !== 'operator');
}

// True when the person's organisation takes part in the IWOL (LEAs, hotlines, INTERPOL).
export function canSeeIwol(me) {
  return !!(me && me.org && ['lea', 'hotline', 'interpol'].includes(me.org.kind));
}

// True when the person's organisation may see the dashboard: report readers, and
// operators (who get aggregate counts only).
export function canSeeDashboard(me) {
  return !!(me && me.org && ['lea', 'hotline', 'interpol', 'operator'].includes(me.org.kind));
}

// True for administrators and for hotline/INTERPOL staff, who take part in access requests.
export function canSeeAdmin(me) {
  if (!me || !me.user || !me.org) return false;
  return ['org_admin', 'operator'].includes(me.user.role) || ['hotline', 'interpol'].includes(me.org.kind);
}

// The page to show after sign-in: enrolment first, then reports, or admin for operators.
export function landingPage(me) {
  if (mustEnrol(me)) return 'account.html';
  return canSeeReports(me) ? 'reports.html' : 'admin.html';
}

// Fills the header's main navigation for this person and marks the current page.
export function renderNav(me) {
  let nav = document.querySelector('[data-testid="app-nav"]');
  const header = document.querySelector('.app-header');
  if (!nav && header) {
    nav = el('nav', { class: 'app-nav', 'aria-label': 'Main', 'data-testid': 'app-nav' });
    const spacer = header.querySelector('.spacer');
    header.insertBefore(nav, spacer || null);
  }
  if (!nav) return;
  const links = [];
  if (!mustEnrol(me)) {
    if (canSeeReports(me)) {
      links.push(['reports.html', 'Reports', 'nav-reports'], ['packages.html', 'Packages', 'nav-packages'],
        ['hashlists.html', 'Hash lists', 'nav-hashlists'],
        ['match.html', 'Match hashes', 'nav-match']);
    }
    if (canSeeDashboard(me)) links.push(['dashboard.html', 'Dashboard', 'nav-dashboard']);
    if (canSeeIwol(me)) links.push(['iwol.html', 'IWOL', 'nav-iwol']);
    if (canSeeAdmin(me)) links.push(['admin.html', 'Admin', 'nav-admin']);
  }
  links.push(['account.html', 'Account', 'nav-account']);
  const here = location.pathname.split('/').pop() || 'index.html';
  const current = { 'report.html': 'reports.html', 'hashlist.html': 'hashlists.html', 'iwol-suggestion.html': 'iwol.html' }[here] || here;
  clear(nav);
  const list = el('ul', { class: 'app-nav-list' });
  for (const [href, label, testid] of links) {
    list.append(el('li', null, el('a', { href, 'data-testid': testid, 'aria-current': href === current ? 'page' : null }, label)));
  }
  nav.append(list);
  nav.hidden = false;
  const home = document.querySelector('[data-testid="app-name"]');
  if (home && home.tagName === 'A') home.setAttribute('href', landingPage(me));
}
