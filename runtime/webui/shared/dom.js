// A tiny element builder, shared by Kong Manager and the Developer Portal:
// h('a', {href: '#/x'}, 'text', child...). Text is always set as text, never as HTML.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
/** id returns a fresh element id with a readable prefix. */
export function id(prefix) {
  uid += 1;
  return `${String(prefix).replace(/[^A-Za-z0-9_-]/g, '-')}-${uid}`;
}

/** show replaces the children of el. */
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
