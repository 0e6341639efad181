// Kong Manager's sign-in, register and Teams → Admins pages. Everything
// goes through the Admin API: GET /auth (Basic credentials and
// Kong-Admin-User) for the session cookie, POST /admins/register with the
// invitation token, /admins and /admins/{a}/roles for the team.

import { h, show } from '../shared/dom.js';
import { request, seg, signIn } from './api.js';
import { banner, errorText, field, onSubmit, newPassword } from './ui.js';

const STATUS = ['approved', 'pending', 'rejected', 'revoked', 'invited', 'unverified'];

/** statusName is an admin status's label. */
export function statusName(n) {
  return STATUS[n] || String(n);
}

/**
 * loginView is the sign-in page: username and password, GET /auth, then
 * done() (the caller re-renders what was asked).
 */
export function loginView(message, done) {
  const status = h('div', { 'aria-live': 'polite' }, message ? banner('err', message) : null);
  const submit = h('button', { type: 'submit', id: 'login-submit' }, 'Sign in');
  const form = h('form', { 'aria-label': 'Sign in', id: 'login-form' },
    field('login-username', 'Username', { type: 'text', autocomplete: 'username', required: true }),
    field('login-password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }),
    status, submit);
  onSubmit(form, submit, status, async () => {
    const user = form.elements['login-username'].value.trim();
    const pw = form.elements['login-password'].value;
    if (!user || !pw) throw new Error('Username and password are required.');
    await signIn(user, pw);
    done(`Signed in as ${user}.`);
  });
  return [h('h1', { tabindex: '-1' }, 'Sign in to Kong Manager'), form,
    h('p', {}, h('a', { href: '#/forgot-password', id: 'forgot-link' }, 'Forgot your password?'))];
}

/**
 * registerView is the page an invited admin's register_url opens
 * (<admin_gui_url>/register?email=&username=&token=): it sets the
 * password with POST /admins/register, then leads to sign-in.
 */
export function registerView(params, done) {
  const email = params.get('email') || '';
  const username = params.get('username') || '';
  const tok = params.get('token') || '';
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', id: 'register-submit' }, 'Set password');
  const form = h('form', { 'aria-label': 'Register', id: 'register-form' },
    h('dl', { class: 'facts' }, h('dt', {}, 'Username'), h('dd', { id: 'register-username' }, username || '—'),
      h('dt', {}, 'E-mail'), h('dd', {}, email || '—')),
    field('register-password', 'Password', { type: 'password', autocomplete: 'new-password', required: true }),
    field('register-confirm', 'Confirm password', { type: 'password', autocomplete: 'new-password', required: true }),
    status, submit);
  if (!tok) show(status, banner('err', 'This link has no invitation token: ask an administrator for a new one.'));
  onSubmit(form, submit, status, async () => {
    const pw = newPassword(form, 'register');
    await request('POST', '/admins/register', { username, email, token: tok, password: pw });
    done(`Password set for ${username}: sign in.`);
  });
  return [h('h1', { tabindex: '-1' }, 'Activate your Kong Manager account'), form];
}

// inviteForm is the invite form: POST /admins, then the chosen role
// (POST /admins/{a}/roles), then the new admin's page.
async function inviteForm(go) {
  const roles = await request('GET', '/rbac/roles?size=100');
  const roleNames = ((roles && roles.data) || []).map((r) => r.name).sort();
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Invite admin', id: 'invite-form' },
    field('invite-email', 'E-mail', { type: 'email', required: true }),
    field('invite-username', 'Username', { type: 'text', required: true }),
    field('invite-custom-id', 'Custom ID (optional)', { type: 'text' }),
    h('div', { class: 'field' }, h('label', { for: 'invite-role' }, 'Role'),
      h('select', { id: 'invite-role', name: 'invite-role' },
        h('option', { value: '' }, '(none)'), roleNames.map((n) => h('option', { value: n }, n)))),
    status, h('button', { type: 'submit' }, 'Invite admin'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { email: form.elements['invite-email'].value.trim(), username: form.elements['invite-username'].value.trim() };
    const cid = form.elements['invite-custom-id'].value.trim();
    if (cid) body.custom_id = cid;
    const role = form.elements['invite-role'].value;
    try {
      const created = await request('POST', '/admins', body);
      const a = created.admin;
      if (role) await request('POST', `/admins/${seg(a.id)}/roles`, { roles: role });
      go(`#/admins/${seg(a.id)}`, `Invited ${a.username}.`);
    } catch (e) {
      show(status, banner('err', errorText(e)));
    }
  });
  return form;
}

/** adminsList is Teams → Admins: the list and the invite form. */
export async function adminsList(go) {
  const [res, form] = await Promise.all([request('GET', '/admins?size=100'), inviteForm(go)]);
  const rows = res.data || [];
  const table = rows.length ? h('table', {},
    h('caption', { class: 'hint' }, 'Admins'),
    h('thead', {}, h('tr', {}, ['username', 'email', 'status'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-id': r.id },
      h('td', {}, h('a', { href: `#/admins/${seg(r.id)}` }, r.username)),
      h('td', {}, r.email || '—'), h('td', {}, statusName(r.status))))))
    : h('p', {}, 'No admins yet.');
  return [h('h1', { tabindex: '-1' }, 'Admins'), h('p', {}, h('a', { class: 'button', href: '#/admins/new' }, 'Invite admin')),
    table, h('h2', {}, 'Invite an admin'), form];
}

/** adminInvite is the invite page on its own (#/admins/new). */
export async function adminInvite(go) {
  return [h('p', {}, h('a', { href: '#/admins' }, '← Admins')), h('h1', { tabindex: '-1' }, 'Invite an admin'), await inviteForm(go)];
}

/** adminView shows one admin, its roles and the "Generate link" action. */
export async function adminView(id, go) {
  const [a, roles] = await Promise.all([request('GET', `/admins/${seg(id)}`), request('GET', `/admins/${seg(id)}/roles`)]);
  const linkOut = h('div', { 'aria-live': 'polite', id: 'register-link' });
  const gen = h('button', { type: 'button', id: 'generate-link' }, 'Generate link');
  gen.addEventListener('click', async () => {
    try {
      const res = await request('GET', `/admins/${seg(a.id)}?generate_register_url=true`);
      if (res.register_url) {
        const url = new URL(res.register_url, location.href).href;
        show(linkOut, h('p', {}, 'Registration link (give it to the admin; it replaces earlier links): '),
          h('p', {}, h('a', { href: url, id: 'register-url' }, url)));
      } else {
        show(linkOut, banner('err', 'No link: the admin has already registered.'));
      }
    } catch (e) {
      show(linkOut, banner('err', errorText(e)));
    }
  });
  const del = h('button', { type: 'button', class: 'danger' }, `Delete ${a.username}`);
  del.addEventListener('click', async () => {
    try {
      await request('DELETE', `/admins/${seg(a.id)}`);
      go('#/admins', `Deleted ${a.username}.`);
    } catch (e) {
      show(linkOut, banner('err', errorText(e)));
    }
  });
  return [
    h('p', {}, h('a', { href: '#/admins' }, '← Admins')),
    h('h1', { tabindex: '-1' }, `Admin ${a.username}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'E-mail'), h('dd', {}, a.email || '—'),
      h('dt', {}, 'Custom ID'), h('dd', {}, a.custom_id || '—'),
      h('dt', {}, 'Status'), h('dd', { id: 'admin-status' }, statusName(a.status)),
      h('dt', {}, 'Roles'), h('dd', { id: 'admin-roles' }, ((roles && roles.roles) || []).map((r) => r.name).join(', ') || '—')),
    a.status === 4 ? h('p', {}, gen) : null,
    linkOut,
    h('h2', {}, 'Danger zone'), del,
  ];
}

/**
 * forgotView is Kong Manager's "forgot password" page: POST
 * /admins/password_resets {email}. The Admin API answers 200 whether or
 * not the account exists, and (no SMTP) logs the reset link on the node.
 */
export function forgotView() {
  const status = h('div', { 'aria-live': 'polite', id: 'forgot-status' });
  const submit = h('button', { type: 'submit', id: 'forgot-submit' }, 'Send reset link');
  const form = h('form', { 'aria-label': 'Forgot password', id: 'forgot-form' },
    field('forgot-email', 'E-mail', { type: 'email', autocomplete: 'email', required: true }),
    status, submit);
  onSubmit(form, submit, status, async () => {
    const email = form.elements['forgot-email'].value.trim();
    if (!email) throw new Error('An e-mail address is required.');
    await request('POST', '/admins/password_resets', { email });
    show(status, banner('ok', `If an admin account uses ${email}, a reset link was issued: the node logs it (no e-mail is sent).`));
  });
  return [h('h1', { tabindex: '-1' }, 'Reset your Kong Manager password'), form,
    h('p', {}, h('a', { href: '#/login', id: 'forgot-back' }, '← Sign in'))];
}

/**
 * resetView is the page of a reset link
 * (<admin_gui_url>/account/reset-password?email=&token=, also /reset):
 * PATCH /admins/password_resets {email, token, password}, then sign-in.
 */
export function resetView(params, done) {
  const email = params.get('email') || '';
  const tok = params.get('token') || '';
  const status = h('div', { 'aria-live': 'polite', id: 'reset-status' });
  const submit = h('button', { type: 'submit', id: 'reset-submit' }, 'Set new password');
  const form = h('form', { 'aria-label': 'Reset password', id: 'reset-form' },
    h('dl', { class: 'facts' }, h('dt', {}, 'E-mail'), h('dd', { id: 'reset-email' }, email || '—')),
    field('reset-password', 'New password', { type: 'password', autocomplete: 'new-password', required: true }),
    field('reset-confirm', 'Confirm password', { type: 'password', autocomplete: 'new-password', required: true }),
    status, submit);
  if (!tok || !email) show(status, banner('err', 'This link has no e-mail or token: ask for a new one.'));
  onSubmit(form, submit, status, async () => {
    const pw = newPassword(form, 'reset');
    await request('PATCH', '/admins/password_resets', { email, token: tok, password: pw });
    done('Password changed: sign in with the new one.');
  });
  return [h('h1', { tabindex: '-1' }, 'Choose a new password'), form];
}
