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
 * modal): data-action="delete", then data-action="confirm-delete" (without
 * them when marked is false, as the generic entity pages have it).
 */
export function deleteAction(path, name, after, marked = true) {
  const wrap = h('span', { class: 'actions' });
  const ask = h('button', { type: 'button', class: 'secondary', 'data-action': marked && 'delete', 'aria-label': `Delete ${name}` }, 'Delete');
  ask.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger', 'data-action': marked && 'confirm-delete' }, `Confirm delete of ${name}`);
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

/**
 * nameForm is the creation form of a named entity with one optional text
 * field (developer roles, RBAC roles, teams): inputs #<prefix>-name and
 * #<prefix>-<extra>, status #<prefix>-status, button #<prefix>-create in
 * form #<prefix>-form. A submit POSTs {name[, <extra>]} to path, then
 * calls done(created); a refusal is shown in the status.
 */
export function nameForm({ prefix, label, extra, extraLabel, submit, path }, done) {
  const status = h('div', { 'aria-live': 'polite', id: `${prefix}-status` });
  const form = h('form', { id: `${prefix}-form`, 'aria-label': label },
    field(`${prefix}-name`, 'Name', { type: 'text', required: true }),
    field(`${prefix}-${extra}`, extraLabel, { type: 'text' }),
    status, h('button', { type: 'submit', id: `${prefix}-create` }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: form.elements[`${prefix}-name`].value.trim() };
    const more = form.elements[`${prefix}-${extra}`].value.trim();
    if (more) body[extra] = more;
    try {
      done(await request('POST', path, body));
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  return form;
}

/**
 * onSubmit runs send() on the form's submit with the submit button
 * disabled meanwhile; what send throws (an APIError, or an Error whose
 * message is the check that failed) is shown in status.
 */
export function onSubmit(form, submit, status, send) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      await send();
    } catch (e) {
      show(status, banner('err', errorText(e)));
    } finally {
      submit.disabled = false;
    }
  });
}

/**
 * newPassword is the password typed twice in #<prefix>-password and
 * #<prefix>-confirm; it throws when it is empty or the two differ.
 */
export function newPassword(form, prefix) {
  const pw = form.elements[`${prefix}-password`].value;
  if (!pw) throw new Error('A password is required.');
  if (pw !== form.elements[`${prefix}-confirm`].value) throw new Error('The passwords differ.');
  return pw;
}
