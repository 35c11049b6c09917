// A box for something the server shows once (an API token, an enrolment link): the value
// in a code element, a copy button and a note saying it will not be shown again.

import { el } from './dom.js';

// Selects the text of a node so the person can copy it by hand.
function selectNode(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

// Copies text to the clipboard, or selects it when the browser refuses; says which.
async function copyText(value, node, status) {
  try {
    await navigator.clipboard.writeText(value);
    status.textContent = 'Copied to the clipboard.';
  } catch {
    selectNode(node);
    status.textContent = 'Selected: press Ctrl+C (or ⌘C) to copy.';
  }
}

// Builds the box: title (h3), note, the value with a Copy button and a status line.
export function oneTimeBox({ title, note, value, testid }) {
  const code = el('code', { class: 'break onetime-code', 'data-testid': testid, text: value });
  const status = el('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'btn', 'data-testid': `${testid}-copy` }, 'Copy');
  button.addEventListener('click', () => copyText(value, code, status));
  return el('div', { class: 'onetime', 'data-testid': `${testid}-box` },
    el('h3', { text: title }),
    note ? el('p', { class: 'onetime-note', text: note }) : null,
    el('div', { class: 'onetime-value' }, code, button),
    status);
}
