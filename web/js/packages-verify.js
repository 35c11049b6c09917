// The "Verifying a package" section of packages.html: the instance's public signing key(s)
// from GET /keys and the offline commands that check a downloaded package against them
// (`cport package verify FILE --key <hex>`, with --passphrase-file for encrypted files).

import { api } from './api.js';
import { el, clear } from './dom.js';
import { handleError } from './ui.js';

// Selects the text of a node so the person can copy it by hand.
function selectNode(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

// A code block with a Copy button (selection as the fallback) and a status line.
function copyable(text, testid, label) {
  const code = el('code', { class: 'break', 'data-testid': testid, text });
  const status = el('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Copy ${label}`, 'data-testid': `${testid}-copy` }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = 'Copied to the clipboard.';
    } catch {
      selectNode(code);
      status.textContent = 'Selected: press Ctrl+C (or ⌘C) to copy.';
    }
  });
  return el('div', { class: 'copy-block' }, el('pre', { class: 'command' }, code), button, status);
}

// One key: algorithm, instance, the key itself and the two verification commands.
function keyBlock(k) {
  const hex = String(k.public_key || '');
  return el('div', { class: 'key-block', 'data-testid': 'key-block' },
    el('dl', { class: 'kv' },
      el('dt', { text: 'Algorithm' }), el('dd', { text: k.algorithm || '—' }),
      el('dt', { text: 'Instance' }), el('dd', { 'data-testid': 'key-instance', text: k.instance || '—' })),
    el('h3', { text: 'Public key' }),
    copyable(hex, 'public-key', 'the public key'),
    el('h3', { text: 'Check a downloaded package' }),
    copyable(`cport package verify FILE --key ${hex}`, 'verify-command', 'the command'),
    el('p', { class: 'small muted', text: 'For a package encrypted for transport, put the passphrase on the first line of a file F that only you can read:' }),
    copyable(`cport package verify FILE --key ${hex} --passphrase-file F`, 'verify-command-encrypted', 'the command for encrypted packages'));
}

// Loads the keys into body and shows section; a failure shows in the page banner.
export async function renderVerify(body, section) {
  const banner = document.getElementById('error-banner');
  let keys;
  try {
    keys = ((await api('GET', '/keys')) || {}).keys || [];
  } catch (err) {
    handleError(banner, err, 'Could not load the signing key');
    return;
  }
  clear(body);
  body.append(el('p', { class: 'small' },
    'Every package carries a manifest signed by this cport instance. FILE is the downloaded file (',
    el('code', { text: 'cport-package-N.zip' }), ', or ', el('code', { text: '.cpenc' }),
    ' when encrypted for transport). The check needs no network; compare the key with the one your organisation received from the operator.'));
  if (!keys.length) body.append(el('p', { class: 'note', 'data-testid': 'no-keys', text: 'This instance has no signing key configured yet.' }));
  for (const k of keys) body.append(keyBlock(k));
  section.hidden = false;
}
