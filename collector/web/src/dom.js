// Building DOM nodes without HTML strings: every piece of text from the API goes in as a text
// node, so alert labels and annotations (user data) can never become markup.

// h('div', {class: 'tile', title: 'x', onclick: fn}, 'text', child, [more, children])
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'href' && !isSafeHref(value)) continue;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Links go to this server only: a path, never javascript: or another origin.
function isSafeHref(href) {
  return typeof href === 'string' && href.startsWith('/') && !href.startsWith('//');
}

// Replace the children of the element with id `id` (ignored when the page lacks it).
export function fill(id, ...children) {
  const node = document.getElementById(id);
  if (!node) return null;
  node.replaceChildren();
  append(node, children);
  return node;
}

// Set the text of the element with id `id`.
export function setText(id, text) {
  const node = document.getElementById(id);
  if (node) node.textContent = text;
  return node;
}
