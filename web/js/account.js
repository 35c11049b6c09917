// "Your account" page: the second factor first; browser sessions and API tokens once it
// is set up or optional. When the organisation requires TOTP and it is not on yet (or the
// person arrives from an enrolment link, ?setup=totp) only the enrolment is shown, and
// finishing it continues to the person's landing page.

import { initSession } from './ui.js';
import { mustEnrol, landingPage } from './nav.js';
import { renderTotp } from './account-totp.js';
import { initSessions } from './account-sessions.js';
import { initTokens } from './account-tokens.js';
import { renderMediaPrefs } from './account-media.js';

const banner = document.getElementById('error-banner');
const loading = document.getElementById('loading');

// Reveals and loads the sessions, tokens and media preference sections.
function showRest(me) {
  const prefs = document.getElementById('media-prefs-section');
  if (prefs.hidden && me && me.media && me.media.content) {
    prefs.hidden = false;
    renderMediaPrefs(document.getElementById('media-prefs-body'), me.media, banner);
  }
  const sessions = document.getElementById('sessions-section');
  const tokens = document.getElementById('tokens-section');
  if (sessions.hidden) { sessions.hidden = false; initSessions(document.getElementById('sessions-body'), banner); }
  if (tokens.hidden) { tokens.hidden = false; initTokens(document.getElementById('tokens-body'), banner); }
}

// Page start: session (enrolment allowed here), then the sections this person may use.
async function init() {
  const me = await initSession(banner, { enrolmentPage: true });
  loading.hidden = true;
  if (!me) return;
  const forced = mustEnrol(me);
  const setup = new URLSearchParams(location.search).get('setup') === 'totp';
  const enrolFirst = forced || (setup && !me.mfa.enabled);
  const after = { ...me, mfa: { ...me.mfa, enabled: true } };
  renderTotp(document.getElementById('totp-body'), me, {
    forced,
    setup: enrolFirst,
    skipTo: landingPage(me),
    // After the recovery codes: on to work when enrolment came first, else stay here.
    onFinished: () => {
      if (enrolFirst) location.replace(landingPage(after));
      else showRest(me);
    },
  });
  document.getElementById('totp-section').hidden = false;
  if (!enrolFirst) showRest(me);
}

init();
