// The account page's sessions section: every browser signed in as this person, the
// current one marked; end any other one, or all others at once.

import { api } from './api.js';
import { el, clear } from './dom.js';
import { formatDate, orDash, handleError } from './ui.js';
import { dataTable, badge } from './tables.js';
import { statusLine } from './forms.js';

// Builds the section and loads the list.
export function initSessions(container, banner) {
  const status = statusLine('sessions-status');
  const list = el('div', { 'data-testid': 'sessions-list' });
  const endOthers = el('button', { type: 'button', class: 'btn', 'data-testid': 'sessions-end-others', disabled: true }, 'End all other sessions');
  clear(container);
  container.append(
    el('p', { class: 'muted', text: 'Each row is a browser signed in to your account. End any you do not recognise, and change your password if you did not sign in there.' }),
    status, list, el('div', { class: 'form-actions' }, endOthers));

  // Ends one session and reloads the list.
  async function end(session, button) {
    button.disabled = true;
    try {
      await api('DELETE', `/me/sessions/${session.id}`);
      status.textContent = 'Session ended.';
    } catch (err) {
      handleError(banner, err, 'Could not end the session');
    }
    await load();
  }

  // Loads and renders the sessions.
  async function load() {
    let sessions = [];
    try {
      sessions = (await api('GET', '/me/sessions')).sessions || [];
    } catch (err) {
      handleError(banner, err, 'Could not load your sessions');
      return;
    }
    const rows = sessions.map((s) => {
      let action = badge('This browser', 'badge-current');
      if (!s.current) {
        action = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'session-end', 'aria-label': `End the session from ${orDash(s.ip)} started ${formatDate(s.created_at)}` }, 'End');
        action.addEventListener('click', () => end(s, action));
      }
      return {
        attrs: { 'data-testid': 'session-row', class: s.current ? 'current' : null },
        cells: [formatDate(s.created_at), formatDate(s.last_seen_at), orDash(s.ip),
          el('span', { class: 'truncate', title: s.user_agent || '', text: orDash(s.user_agent) }), action],
      };
    });
    clear(list);
    list.append(dataTable({ caption: 'Your signed-in sessions', testid: 'sessions-table', rows,
      columns: ['Signed in', 'Last active', 'Address', 'Browser', 'Action'] }));
    endOthers.disabled = !sessions.some((s) => !s.current);
  }

  endOthers.addEventListener('click', async () => {
    endOthers.disabled = true;
    let n = 0;
    try {
      const { sessions } = await api('GET', '/me/sessions');
      for (const s of sessions || []) {
        if (s.current) continue;
        await api('DELETE', `/me/sessions/${s.id}`);
        n += 1;
      }
      status.textContent = n === 1 ? 'One other session ended.' : `${n} other sessions ended.`;
    } catch (err) {
      handleError(banner, err, 'Could not end the other sessions');
    }
    await load();
  });

  load();
}
