// Media previews and originals on the report page. Previews are the server's
// blurred greyscale thumbnails; nothing else is loaded until someone asks. Asking
// for an original goes through GET /media/{id}/content (re-authentication dialog
// when needed, audited) and shows it with the person's blur and greyscale
// preferences applied - except the first original of every session, which is
// always shown blurred and grey. Filters can be switched per picture; hiding it
// drops the bytes.

import { api } from './api.js';
import { el } from './dom.js';

let prefs = { blur: true, greyscale: true };
let sessionViewed = false;

// Takes the "media" object of GET /me (preferences, whether this session has
// already seen an original).
export function setMediaPrefs(media) {
  if (!media) return;
  prefs = { blur: media.blur !== false, greyscale: media.greyscale !== false };
  sessionViewed = media.session_viewed === true;
}

// The state of a fetch as a short badge.
function stateBadge(c) {
  const labels = { stored: 'content stored', pending: 'content pending', failed: 'fetch failed',
    refused: 'content refused', none: 'no content' };
  return el('span', { class: `badge badge-content-${c.state}`, 'data-testid': 'media-state' },
    labels[c.state] || c.state);
}

// Applies the blur and grey filters to a shown original.
function applyFilters(node, blur, grey) {
  node.classList.toggle('f-blur', blur);
  node.classList.toggle('f-grey', grey);
}

// A labelled checkbox that switches one filter of a shown original.
function filterToggle(label, checked, onChange, testid) {
  const box = el('input', { type: 'checkbox', 'data-testid': testid });
  box.checked = checked;
  box.addEventListener('change', () => onChange(box.checked));
  return el('label', { class: 'inline' }, box, ` ${label}`);
}

// Loads and shows the original of item m inside tile; errors go to report(err).
async function reveal(m, tile, frame, button, report) {
  button.disabled = true;
  button.textContent = 'Loading…';
  let blob;
  try {
    blob = await api('GET', `/media/${m.id}/content`, { as: 'blob' });
  } catch (err) {
    button.disabled = false;
    button.textContent = 'Reveal original';
    report(err);
    return;
  }
  const url = URL.createObjectURL(blob);
  const first = !sessionViewed;
  sessionViewed = true;
  let blur = first || prefs.blur;
  let grey = first || prefs.greyscale;
  const type = blob.type || '';
  let shown;
  if (type.startsWith('image/')) {
    shown = el('img', { src: url, alt: `Original of ${m.iccam_media_id}`, class: 'original', 'data-testid': 'media-original' });
  } else if (type.startsWith('video/')) {
    shown = el('video', { src: url, controls: true, preload: 'metadata', class: 'original', 'data-testid': 'media-original' });
  } else {
    shown = el('a', { href: url, download: m.iccam_media_id, 'data-testid': 'media-original' }, 'Download the original');
  }
  applyFilters(shown, blur, grey);
  frame.replaceChildren(shown);
  const note = first
    ? el('p', { class: 'muted small', 'data-testid': 'first-view-note' },
      'The first original of each session is shown blurred and grey; switch the filters off to see it.')
    : null;
  const hide = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'media-hide' }, 'Hide');
  const controls = el('div', { class: 'media-controls' },
    filterToggle('Blur', blur, (on) => { blur = on; applyFilters(shown, blur, grey); }, 'toggle-blur'),
    filterToggle('Greyscale', grey, (on) => { grey = on; applyFilters(shown, blur, grey); }, 'toggle-grey'),
    hide);
  button.replaceWith(controls);
  if (note) controls.after(note);
  hide.addEventListener('click', () => {
    URL.revokeObjectURL(url);
    tile.replaceWith(mediaTile(m, report));
  });
}

// One media item: its preview (or why there is none), state, mismatches, and
// the reveal button when the agreement shares content.
export function mediaTile(m, report) {
  const c = m.content || { state: 'none' };
  const frame = el('div', { class: 'media-frame' });
  if (c.preview) {
    frame.append(el('img', {
      src: `/api/v1/media/${m.id}/preview`, loading: 'lazy', class: 'preview', 'data-testid': 'media-preview',
      alt: `Blurred greyscale preview of ${m.iccam_media_id}`,
    }));
  } else {
    frame.append(el('span', { class: 'muted small' }, c.original ? 'No preview (not a decodable image)' : 'No preview'));
  }
  const badges = [stateBadge(c)];
  for (const mm of c.hash_mismatch || []) {
    badges.push(el('span', { class: 'badge badge-warn', 'data-testid': 'hash-mismatch',
      title: 'The hash ICCAM sent differs from the one computed from the fetched bytes' },
    `${mm.replace(':', ' distance ')} differs`));
  }
  const tile = el('figure', { class: 'media-tile', 'data-testid': 'media-tile' }, frame,
    el('figcaption', {}, el('code', { class: 'plain' }, m.iccam_media_id), ' ', ...badges));
  if (c.original) {
    const button = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'media-reveal' }, 'Reveal original');
    button.addEventListener('click', () => reveal(m, tile, frame, button, report));
    tile.append(button);
  }
  return tile;
}

// The gallery of a report's media (only items with a content object).
export function mediaGallery(media, report) {
  const items = media.filter((m) => m.content && m.content.state !== 'none');
  if (!items.length) return null;
  return el('div', { class: 'media-gallery', 'data-testid': 'media-gallery' }, items.map((m) => mediaTile(m, report)));
}
