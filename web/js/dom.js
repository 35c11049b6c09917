// Safe DOM building for cport pages: elements get text through text nodes and
// attributes through setAttribute, never through innerHTML, so data can't become markup.

// Creates an element with attributes and children (strings become text nodes).
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Removes all children of a node.
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

let seq = 0;
// A page-unique id with a prefix, for label/aria wiring of built controls.
export function uniqueId(prefix) {
  seq += 1;
  return `${prefix}-${seq}`;
}
