// Small building blocks shared by the hand-made pages (Dev Portal, RBAC,
// password reset): banners, Kong's errors as text, labelled fields and an
// in-place delete confirmation.

import { h, show } from '../shared/dom.js';
import { request, APIError } from './api.js';

/** banner is a success (role=status) or error (role=alert) message. */
export function banner(kind, text) {
  return h('div', { class: `banner ${kind}`, role: kind === 'err' ? 'alert' : 'status' }, text);
}

/** errorText is an error as the page shows it: "403: <Kong's message>". */
export function errorText(e) {
  if (e instanceof APIError) return e.status ? `${e.status}: ${e.message}` : e.message;
  return (e && e.message) || String(e);
}

/** field is a labelled input; attrs go on the input (id and name = idName). */
export function field(idName, label, attrs, hint) {
  const hintId = hint ? `${idName}-hint` : undefined;
  return h('div', { class: 'field' }, h('label', { for: idName }, label),
    h('input', Object.assign({ id: idName, name: idName, 'aria-describedby': hintId }, attrs || {})),
    hint ? h('span', { class: 'hint', id: hintId }, hint) : null);
}

/** check is a labelled checkbox. */
export function check(idName, label, checked, attrs) {
  return h('div', { class: 'field check' },
    h('input', Object.assign({ type: 'checkbox', id: idName, name: idName, checked }, attrs || {})),
    h('label', { for: idName }, label));
}

/** heading is the page's h1, focusable so navigation can move focus there. */
export function heading(text) {
  return h('h1', { tabindex: '-1' }, text);
}

/** back is the "← title" link to a parent page. */
export function back(href, title) {
  return h('p', {}, h('a', { href }, `← ${title}`));
}

/**
 * deleteAction is a Delete button that asks for confirmation in place (no
 * modal): data-action="delete", then data-action="confirm-delete".
 */
export function deleteAction(path, name, after) {
  const wrap = h('span', { class: 'actions' });
  const ask = h('button', { type: 'button', class: 'secondary', 'data-action': 'delete', 'aria-label': `Delete ${name}` }, 'Delete');
  ask.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger', 'data-action': 'confirm-delete' }, `Confirm delete of ${name}`);
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    yes.addEventListener('click', async () => {
      try {
        await request('DELETE', path);
        after();
      } catch (e) { show(wrap, banner('err', errorText(e))); }
    });
    no.addEventListener('click', () => { show(wrap, ask); ask.focus(); });
    show(wrap, yes, no);
    yes.focus();
  });
  wrap.append(ask);
  return wrap;
}

/** simpleTable is a captioned table: columns are [header, (row) => cell]. */
export function simpleTable(caption, rows, columns, rowAttrs) {
  if (!rows.length) return h('p', {}, `No ${caption.toLowerCase()} yet.`);
  return h('table', {},
    h('caption', { class: 'hint' }, caption),
    h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {}, columns.map(([, f]) => h('td', {}, f(r)))))));
}

/** list fetches every page of a Kong collection (up to limit rows). */
export async function listAll(path, limit) {
  const max = limit || 1000;
  const out = [];
  const sep = path.includes('?') ? '&' : '?';
  let offset = '';
  for (;;) {
    const res = await request('GET', `${path}${sep}size=100${offset ? `&offset=${encodeURIComponent(offset)}` : ''}`);
    out.push(...((res && res.data) || []));
    offset = res && res.offset;
    if (!offset || out.length >= max) return out;
  }
}
