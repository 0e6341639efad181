// Kong Manager's RBAC screens (Teams → Roles, RBAC Users, Teams): roles
// and their endpoint permissions, RBAC users (user_token, enabled, roles)
// and, when the node has enable_teams, teams with members and roles.
// Everything goes through /rbac/... and /teams/... on the Admin API.
//
// Element ids and data-action attributes are part of the selector
// contract in runtime/manager/README.md.

import { h, show } from '../shared/dom.js';
import { request, seg, APIError } from './api.js';
import { banner, errorText, field, check, heading, back, deleteAction, simpleTable, listAll, nameForm } from './ui.js';

/** The RBAC pages, for the navigation (hash, title). */
export const RBAC_PAGES = [
  ['rbac/roles', 'RBAC roles'],
  ['rbac/users', 'RBAC users'],
  ['teams', 'Teams'],
];

const ACTIONS = ['read', 'create', 'update', 'delete'];

// endpointPath is the Admin API path of one permission of a role:
// /rbac/roles/{r}/endpoints/{workspace}/{endpoint...}.
function endpointPath(role, ep) {
  const rest = String(ep.endpoint).replace(/^\/+/, '').split('/').map(seg).join('/');
  return `/rbac/roles/${seg(role)}/endpoints/${seg(ep.workspace || 'default')}/${rest}`;
}

function actionsText(a) {
  if (Array.isArray(a)) return a.join(', ') || '—';
  return a ? String(a) : '—';
}

// --- roles ---------------------------------------------------------------

/** rolesView lists RBAC roles; creates and deletes them. */
export async function rolesView(go) {
  const roles = await listAll('/rbac/roles');
  const form = nameForm({ prefix: 'rbac-role', label: 'New RBAC role', extra: 'comment', extraLabel: 'Comment', submit: 'Create role', path: '/rbac/roles' },
    (r) => go(`#/rbac/roles/${seg(r.name)}`, `Created role ${r.name}: add its permissions.`));
  return [heading('RBAC roles'),
    simpleTable('RBAC roles', roles, [
      ['name', (r) => h('a', { href: `#/rbac/roles/${seg(r.name)}` }, r.name)],
      ['comment', (r) => r.comment || '—'],
      ['actions', (r) => deleteAction(`/rbac/roles/${seg(r.id)}`, r.name, () => go('#/rbac/roles', `Deleted role ${r.name}.`))],
    ], (r) => ({ 'data-name': r.name })),
    h('h2', {}, 'New role'), form];
}

/**
 * roleView: one role's endpoint permissions (workspace, endpoint,
 * actions, negative), added and removed one by one.
 */
export async function roleView(name, go) {
  const role = await request('GET', `/rbac/roles/${seg(name)}`);
  const here = `#/rbac/roles/${seg(role.name)}`;
  const eps = await listAll(`/rbac/roles/${seg(role.id)}/endpoints`);
  const status = h('div', { 'aria-live': 'polite', id: 'rbac-endpoint-status' });
  const form = h('form', { id: 'rbac-endpoint-form', 'aria-label': 'Add a permission' },
    field('rbac-endpoint-workspace', 'Workspace', { type: 'text', value: 'default', required: true }, '"default", or * for every workspace.'),
    field('rbac-endpoint-path', 'Endpoint', { type: 'text', required: true, placeholder: '/services/*' },
      'A path whose segments may be * (one segment each), or * for every path: /services/* does not match /services (add /services for the collection).'),
    h('fieldset', {}, h('legend', {}, 'Actions'),
      h('div', { class: 'choices' }, ACTIONS.map((a) => h('label', {},
        h('input', { type: 'checkbox', name: 'rbac-action', value: a, id: `rbac-action-${a}` }), a)))),
    check('rbac-endpoint-negative', 'Negative (deny these actions)', false),
    status, h('button', { type: 'submit', id: 'rbac-endpoint-add' }, 'Add permission'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const actions = Array.from(form.querySelectorAll('input[name="rbac-action"]:checked')).map((e) => e.value);
    if (!actions.length) { show(status, banner('err', 'Choose at least one action.')); return; }
    const body = {
      workspace: form.elements['rbac-endpoint-workspace'].value.trim() || 'default',
      endpoint: form.elements['rbac-endpoint-path'].value.trim(),
      actions: actions.length === ACTIONS.length ? '*' : actions.join(','),
      negative: form.elements['rbac-endpoint-negative'].checked,
    };
    try {
      await request('POST', `/rbac/roles/${seg(role.id)}/endpoints`, body);
      go(here, `Added ${body.negative ? 'negative ' : ''}${body.endpoint} to ${role.name}.`);
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  return [back('#/rbac/roles', 'RBAC roles'), heading(`RBAC role ${role.name}`),
    h('dl', { class: 'facts' }, h('dt', {}, 'Comment'), h('dd', {}, role.comment || '—'),
      h('dt', {}, 'ID'), h('dd', {}, h('code', {}, role.id))),
    h('h2', {}, 'Endpoint permissions'),
    simpleTable('Endpoint permissions', eps, [
      ['workspace', (e) => e.workspace || 'default'],
      ['endpoint', (e) => h('code', {}, e.endpoint)],
      ['actions', (e) => actionsText(e.actions)],
      ['negative', (e) => (e.negative ? 'yes' : 'no')],
      ['remove', (e) => deleteAction(endpointPath(role.id, e), e.endpoint, () => go(here, `Removed ${e.endpoint}.`))],
    ], (e) => ({ 'data-endpoint': e.endpoint, 'data-workspace': e.workspace || 'default' })),
    h('h2', {}, 'Add a permission'), form,
    h('h2', {}, 'Entity permissions'),
    h('p', { class: 'hint' }, 'Not available: this Admin API has no /rbac/roles/{role}/entities (Kong Enterprise\'s entity-level permissions).'),
    h('h2', {}, 'Danger zone'),
    deleteAction(`/rbac/roles/${seg(role.id)}`, role.name, () => go('#/rbac/roles', `Deleted role ${role.name}.`))];
}

// --- users ---------------------------------------------------------------

/** usersView lists RBAC users and creates one (its token shown once). */
export async function usersView(go, created) {
  const users = await listAll('/rbac/users');
  const roles = await listAll('/rbac/roles');
  const status = h('div', { 'aria-live': 'polite', id: 'rbac-user-status' });
  const roleSelect = h('select', { id: 'rbac-user-role', name: 'rbac-user-role' },
    h('option', { value: '' }, '(none)'), roles.map((r) => r.name).sort().map((n) => h('option', { value: n }, n)));
  const form = h('form', { id: 'rbac-user-form', 'aria-label': 'New RBAC user' },
    field('rbac-user-name', 'Name', { type: 'text', required: true }),
    field('rbac-user-token', 'Token (user_token)', { type: 'password', autocomplete: 'new-password' }, 'Leave empty to have one generated; it is shown once, then only its hash is kept.'),
    field('rbac-user-comment', 'Comment', { type: 'text' }),
    check('rbac-user-enabled', 'Enabled', true),
    h('div', { class: 'field' }, h('label', { for: 'rbac-user-role' }, 'Role'), roleSelect),
    status, h('button', { type: 'submit', id: 'rbac-user-create' }, 'Create user'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: form.elements['rbac-user-name'].value.trim(), enabled: form.elements['rbac-user-enabled'].checked };
    const tok = form.elements['rbac-user-token'].value;
    if (tok) body.user_token = tok;
    const comment = form.elements['rbac-user-comment'].value.trim();
    if (comment) body.comment = comment;
    try {
      const u = await request('POST', '/rbac/users', body);
      if (roleSelect.value) await request('POST', `/rbac/users/${seg(u.id)}/roles`, { roles: roleSelect.value });
      show(main(), ...(await usersView(go, u)));
      const h1 = document.querySelector('main h1');
      if (h1) h1.focus();
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  const note = created ? h('div', { class: 'banner ok', role: 'status', id: 'rbac-user-created' },
    `Created user ${created.name}. Its token (shown once): `, h('code', { id: 'rbac-user-token-created' }, created.user_token || '—')) : null;
  return [heading('RBAC users'), note,
    simpleTable('RBAC users', users, [
      ['name', (u) => h('a', { href: `#/rbac/users/${seg(u.name)}` }, u.name)],
      ['enabled', (u) => (u.enabled === false ? 'no' : 'yes')],
      ['comment', (u) => u.comment || '—'],
      ['actions', (u) => deleteAction(`/rbac/users/${seg(u.id)}`, u.name, () => go('#/rbac/users', `Deleted user ${u.name}.`))],
    ], (u) => ({ 'data-name': u.name })),
    h('h2', {}, 'New user'), form];
}

function main() {
  return document.getElementById('main');
}

/** userView: one RBAC user: enabled, a new token, its roles. */
export async function userView(name, go) {
  const [u, res, roles] = await Promise.all([request('GET', `/rbac/users/${seg(name)}`),
    request('GET', `/rbac/users/${seg(name)}/roles`), listAll('/rbac/roles')]);
  const here = `#/rbac/users/${seg(u.name)}`;
  const has = ((res && res.roles) || []).map((r) => r.name);
  const status = h('div', { 'aria-live': 'polite', id: 'rbac-user-page-status' });
  const edit = h('form', { id: 'rbac-user-edit-form', 'aria-label': `Edit ${u.name}` },
    check('rbac-user-edit-enabled', 'Enabled', u.enabled !== false),
    field('rbac-user-edit-token', 'New token (user_token)', { type: 'password', autocomplete: 'new-password' }, 'Leave empty to keep the current one.'),
    h('button', { type: 'submit', id: 'rbac-user-save' }, 'Save'));
  edit.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { enabled: edit.elements['rbac-user-edit-enabled'].checked };
    const tok = edit.elements['rbac-user-edit-token'].value;
    if (tok) body.user_token = tok;
    try {
      await request('PATCH', `/rbac/users/${seg(u.id)}`, body);
      go(here, `Saved ${u.name}.`);
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  const free = roles.map((r) => r.name).filter((n) => !has.includes(n)).sort();
  const grant = h('form', { id: 'rbac-user-role-form', 'aria-label': 'Grant a role' },
    h('div', { class: 'field' }, h('label', { for: 'rbac-user-grant' }, 'Role'),
      h('select', { id: 'rbac-user-grant', name: 'rbac-user-grant' }, free.map((n) => h('option', { value: n }, n)))),
    h('button', { type: 'submit', id: 'rbac-user-role-add', disabled: !free.length }, 'Grant role'));
  grant.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const role = grant.elements['rbac-user-grant'].value;
    try {
      await request('POST', `/rbac/users/${seg(u.id)}/roles`, { roles: role });
      go(here, `Granted ${role} to ${u.name}.`);
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  const revoke = (role) => {
    const b = h('button', { type: 'button', class: 'secondary', 'data-action': 'revoke-role', 'aria-label': `Revoke ${role}` }, 'Revoke');
    b.addEventListener('click', async () => {
      try {
        await request('DELETE', `/rbac/users/${seg(u.id)}/roles`, { roles: role });
        go(here, `Revoked ${role} from ${u.name}.`);
      } catch (e) { show(status, banner('err', errorText(e))); }
    });
    return b;
  };
  return [back('#/rbac/users', 'RBAC users'), heading(`RBAC user ${u.name}`),
    h('dl', { class: 'facts' }, h('dt', {}, 'Enabled'), h('dd', { id: 'rbac-user-enabled-now' }, u.enabled === false ? 'no' : 'yes'),
      h('dt', {}, 'Comment'), h('dd', {}, u.comment || '—'), h('dt', {}, 'ID'), h('dd', {}, h('code', {}, u.id))),
    status, edit,
    h('h2', {}, 'Roles'),
    simpleTable('Roles', has.map((n) => ({ name: n })), [
      ['role', (r) => h('a', { href: `#/rbac/roles/${seg(r.name)}` }, r.name)],
      ['actions', (r) => revoke(r.name)],
    ], (r) => ({ 'data-role': r.name })),
    grant,
    h('h2', {}, 'Danger zone'),
    deleteAction(`/rbac/users/${seg(u.id)}`, u.name, () => go('#/rbac/users', `Deleted user ${u.name}.`))];
}

// --- teams ---------------------------------------------------------------

async function teamsOff(e) {
  if (e instanceof APIError && e.status === 404) {
    return [heading('Teams'), h('p', { role: 'status', id: 'teams-off' }, 'Teams are off on this node (enable_teams).')];
  }
  throw e;
}

/** teamsView lists teams and creates one. */
export async function teamsView(go) {
  let teams;
  try { teams = await listAll('/teams'); } catch (e) { return teamsOff(e); }
  const form = nameForm({ prefix: 'team', label: 'New team', extra: 'description', extraLabel: 'Description', submit: 'Create team', path: '/teams' },
    (t) => go(`#/teams/${seg(t.name)}`, `Created team ${t.name}.`));
  return [heading('Teams'),
    simpleTable('Teams', teams, [
      ['name', (t) => h('a', { href: `#/teams/${seg(t.name)}` }, t.name)],
      ['description', (t) => t.description || '—'],
      ['actions', (t) => deleteAction(`/teams/${seg(t.id)}`, t.name, () => go('#/teams', `Deleted team ${t.name}.`))],
    ], (t) => ({ 'data-name': t.name })),
    h('h2', {}, 'New team'), form];
}

/** teamView: a team's members (RBAC users) and roles. */
export async function teamView(name, go) {
  let t;
  try { t = await request('GET', `/teams/${seg(name)}`); } catch (e) { return teamsOff(e); }
  const here = `#/teams/${seg(t.name)}`;
  const [members, roles, allRoles, users] = await Promise.all([
    request('GET', `/teams/${seg(t.id)}/members`), request('GET', `/teams/${seg(t.id)}/roles`),
    listAll('/rbac/roles'), listAll('/rbac/users')]);
  const memberRows = (members && members.data) || [];
  const roleRows = ((roles && (roles.data || roles.roles)) || []).map((r) => (typeof r === 'string' ? { name: r } : r));
  const status = h('div', { 'aria-live': 'polite', id: 'team-page-status' });
  const addMember = h('form', { id: 'team-member-form', 'aria-label': 'Add a member' },
    h('div', { class: 'field' }, h('label', { for: 'team-member-user' }, 'RBAC user'),
      h('select', { id: 'team-member-user', name: 'team-member-user' }, users.map((u) => h('option', { value: u.name }, u.name)))),
    check('team-member-admin', 'Team administrator', false),
    h('button', { type: 'submit', id: 'team-member-add', disabled: !users.length }, 'Add member'));
  addMember.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = addMember.elements['team-member-user'].value;
    try {
      await request('POST', `/teams/${seg(t.id)}/members`, { user, admin: addMember.elements['team-member-admin'].checked });
      go(here, `Added ${user} to ${t.name}.`);
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  const addRole = h('form', { id: 'team-role-form', 'aria-label': 'Add a role' },
    h('div', { class: 'field' }, h('label', { for: 'team-role' }, 'Role'),
      h('select', { id: 'team-role', name: 'team-role' }, allRoles.map((r) => r.name).sort().map((n) => h('option', { value: n }, n)))),
    h('button', { type: 'submit', id: 'team-role-add' }, 'Add role'));
  addRole.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const role = addRole.elements['team-role'].value;
    try {
      await request('POST', `/teams/${seg(t.id)}/roles`, { roles: role });
      go(here, `Added role ${role} to ${t.name}.`);
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  const memberName = (m) => (m.user && (m.user.name || m.user.id)) || m.name || m.user_name || m.id;
  const removeRole = (role) => {
    const b = h('button', { type: 'button', class: 'secondary', 'data-action': 'remove-role', 'aria-label': `Remove role ${role}` }, 'Remove');
    b.addEventListener('click', async () => {
      try {
        await request('DELETE', `/teams/${seg(t.id)}/roles`, { roles: role });
        go(here, `Removed role ${role} from ${t.name}.`);
      } catch (e) { show(status, banner('err', errorText(e))); }
    });
    return b;
  };
  return [back('#/teams', 'Teams'), heading(`Team ${t.name}`),
    h('p', {}, t.description || ''), status,
    h('h2', {}, 'Members'),
    simpleTable('Members', memberRows, [
      ['user', (m) => memberName(m)],
      ['team administrator', (m) => (m.admin ? 'yes' : 'no')],
      ['actions', (m) => deleteAction(`/teams/${seg(t.id)}/members/${seg(memberName(m))}`, memberName(m), () => go(here, `Removed ${memberName(m)}.`))],
    ], (m) => ({ 'data-member': memberName(m) })),
    addMember,
    h('h2', {}, 'Roles'),
    simpleTable('Team roles', roleRows, [['role', (r) => r.name], ['actions', (r) => removeRole(r.name)]], (r) => ({ 'data-role': r.name })),
    addRole];
}

/** rbacRoute renders #/rbac/... pages (parts after "rbac"). */
export async function rbacRoute(a, b, go) {
  if (a === 'roles') return b ? roleView(b, go) : rolesView(go);
  if (a === 'users') return b ? userView(b, go) : usersView(go);
  return [heading('Not found'), h('p', {}, `No RBAC page ${a || ''}.`)];
}
