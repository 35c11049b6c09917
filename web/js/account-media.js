// "Revealed media" on the account page: whether originals are shown blurred and
// in greyscale by default (PATCH /me/preferences). Previews are always blurred
// and grey, and the first original of each session is too, whatever is set here.

import { api } from './api.js';
import { el } from './dom.js';
import { handleError } from './ui.js';

// Renders the two switches into body and saves each change at once.
export function renderMediaPrefs(body, media, banner) {
  const status = el('p', { class: 'muted small', role: 'status', 'data-testid': 'media-prefs-status' });
  const box = (name, label, checked) => {
    const input = el('input', { type: 'checkbox', name, 'data-testid': `pref-${name}` });
    input.checked = checked;
    input.addEventListener('change', async () => {
      input.disabled = true;
      try {
        const r = await api('PATCH', '/me/preferences', { body: { [name]: input.checked } });
        input.checked = r.media[name];
        status.textContent = 'Saved.';
      } catch (err) {
        input.checked = !input.checked;
        handleError(banner, err, 'Could not save the preference');
      }
      input.disabled = false;
    });
    return el('label', { class: 'inline' }, input, ` ${label}`);
  };
  body.replaceChildren(
    el('p', { class: 'muted' }, 'How an original is shown when you reveal it. Previews are always blurred and grey, '
      + 'and so is the first original of every session.'),
    el('div', { class: 'media-controls' }, box('blur', 'Blur originals', media.blur !== false),
      box('greyscale', 'Greyscale originals', media.greyscale !== false)),
    status);
}
