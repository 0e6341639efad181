// Kong Manager's "Dev Portal" menu (the training's §8–§10, admin side):
// portal settings, specs and their permissions (readable_by), developers
// and their roles, developer roles, applications and their service
// registrations, and a service's documentation. Everything goes through
// the Admin API: /workspaces/default, /files, /developers,
// /developers/roles, /applications, /document_objects.
//
// Element ids and data-action attributes are a contract other tests drive
// (runtime/manager/README.md, "Selector contract"): keep them stable.

import { h, show } from '../shared/dom.js';
import { request, seg, APIError } from './api.js';
import { filePath as encodePath } from '../shared/http.js';
import { banner, errorText, field, check, heading, back, deleteAction, simpleTable, listAll, nameForm } from './ui.js';

/** The Dev Portal pages, for the navigation (hash, title). */
export const PORTAL_PAGES = [
  ['portal/settings', 'Portal settings'],
  ['portal/specs', 'Specs and files'],
  ['portal/developers', 'Developers'],
  ['portal/roles', 'Developer roles'],
  ['portal/applications', 'Applications'],
];

// Kong Enterprise's developer statuses.
const DEV_STATUS = ['approved', 'pending', 'rejected', 'revoked', 'invited'];
// Application registration (application_instances) statuses.
const INSTANCE_STATUS = ['approved', 'pending', 'rejected', 'revoked'];

/** statusLabel names a developer or registration status. */
export function statusLabel(n, names) {
  return (names || DEV_STATUS)[n] || String(n);
}

// The actions a status offers: [data-action, label, new status].
function statusActions(status) {
  const out = [];
  if (status !== 0) out.push(['approve', 'Approve', 0]);
  if (status === 1) out.push(['reject', 'Reject', 2]);
  if (status === 0) out.push(['revoke', 'Revoke', 3]);
  return out;
}

function statusButtons(status, who, patch) {
  return statusActions(status).map(([action, label, next]) => {
    const b = h('button', { type: 'button', class: action === 'approve' ? '' : 'secondary', 'data-action': action, 'aria-label': `${label} ${who}` }, label);
    b.addEventListener('click', () => patch(next, b));
    return b;
  });
}

// --- settings ------------------------------------------------------------

/**
 * settingsView: the portal on or off (config.portal) and the
 * Authentication section (portal_auth, portal_session_conf as the JSON
 * string Kong keeps, portal_auto_approve), saved with one
 * PATCH /workspaces/default.
 */
export async function settingsView(go) {
  const ws = await request('GET', '/workspaces/default');
  const cfg = ws.config || {};
  const status = h('div', { 'aria-live': 'polite', id: 'portal-settings-status' });
  const auth = h('select', { id: 'portal-auth', name: 'portal-auth', 'aria-describedby': 'portal-auth-hint' },
    h('option', { value: '' }, 'None (public portal)'),
    h('option', { value: 'basic-auth' }, 'Basic authentication'));
  auth.value = cfg.portal_auth === 'basic-auth' ? 'basic-auth' : '';
  const conf = h('textarea', { id: 'portal-session-conf', name: 'portal-session-conf', rows: '6', 'aria-describedby': 'portal-session-conf-hint' });
  conf.value = cfg.portal_session_conf ? prettyJSON(cfg.portal_session_conf) : '';
  const form = h('form', { id: 'portal-settings-form', 'aria-label': 'Portal settings' },
    h('fieldset', {}, h('legend', {}, 'Portal'),
      check('portal-enabled', 'Dev Portal enabled (config.portal)', !!cfg.portal),
      h('p', { class: 'hint' }, 'The portal GUI and the portal API of this workspace answer only while it is on.')),
    h('fieldset', {}, h('legend', {}, 'Authentication'),
      h('div', { class: 'field' }, h('label', { for: 'portal-auth' }, 'Authentication plugin (portal_auth)'), auth,
        h('span', { class: 'hint', id: 'portal-auth-hint' }, 'Basic authentication: developers sign up and sign in; none: every spec without readable_by is public.')),
      h('div', { class: 'field' }, h('label', { for: 'portal-session-conf' }, 'Session configuration (portal_session_conf, JSON)'), conf,
        h('span', { class: 'hint', id: 'portal-session-conf-hint' }, 'For example {"cookie_name":"portal_session","secret":"…","storage":"kong","cookie_secure":false}. Sent as a JSON string, as Kong keeps it.')),
      check('portal-auto-approve', 'Approve new developers automatically (portal_auto_approve)', !!cfg.portal_auto_approve)),
    status,
    h('button', { type: 'submit', id: 'portal-settings-save' }, 'Save settings'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show(status);
    const text = conf.value.trim();
    let session = null;
    if (text) {
      try {
        const v = JSON.parse(text);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        session = JSON.stringify(v);
      } catch (e) {
        conf.setAttribute('aria-invalid', 'true');
        conf.focus();
        show(status, banner('err', `The session configuration must be a JSON object: ${e.message}`));
        return;
      }
    }
    conf.removeAttribute('aria-invalid');
    const body = {
      config: {
        portal: form.elements['portal-enabled'].checked,
        portal_auth: auth.value || null,
        portal_session_conf: session,
        portal_auto_approve: form.elements['portal-auto-approve'].checked,
      },
    };
    try {
      await request('PATCH', '/workspaces/default', body);
      go('#/portal/settings', 'Saved portal settings.');
    } catch (e) {
      show(status, banner('err', errorText(e)));
    }
  });
  return [heading('Portal settings'), h('p', {}, 'Workspace ', h('code', {}, ws.name || 'default'), '.'), form];
}

function prettyJSON(s) {
  try { return JSON.stringify(JSON.parse(s), null, 2); } catch { return String(s); }
}

// --- readable_by in a spec's x-headmatter ----------------------------------

// A role name written bare: letters first, words of safe characters, and
// nothing YAML would read as another type (booleans, null); anything else
// is written as a double-quoted (JSON) string, which YAML reads as is.
const YAML_PLAIN = /^[A-Za-z_][A-Za-z0-9_.-]*( [A-Za-z0-9_.-]+)*$/;

function yamlScalar(s) {
  return YAML_PLAIN.test(s) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(s) ? s : JSON.stringify(s);
}

function unquote(s) {
  const t = s.trim();
  if (t.startsWith('"')) { try { return JSON.parse(t); } catch { return t.slice(1, -1); } }
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  return t;
}

function indentOf(line) {
  return line.length - line.trimStart().length;
}

function isJSONDoc(contents) {
  return contents.trimStart().startsWith('{');
}

// headmatterBlock finds the top-level x-headmatter block of a YAML spec:
// [first line, end line (exclusive)], or null.
function headmatterBlock(lines) {
  const start = lines.findIndex((l) => /^x-headmatter\s*:/.test(l));
  if (start < 0) return null;
  let end = start + 1;
  while (end < lines.length && (lines[end].trim() === '' || /^[\s#]/.test(lines[end]))) end += 1;
  // Trailing blank lines belong to what follows.
  while (end > start + 1 && lines[end - 1].trim() === '') end -= 1;
  return [start, end];
}

/**
 * readableBy returns a spec's readable_by: null (no restriction), ['*']
 * (any signed-in developer) or the role names. It reads what Kong
 * Manager writes (block lists, flow lists, '*'); the Admin API checks the
 * real YAML on save.
 */
export function readableBy(contents) {
  if (isJSONDoc(contents)) {
    try {
      const hm = (JSON.parse(contents) || {})['x-headmatter'];
      const rb = hm && hm.readable_by;
      if (rb === undefined || rb === null) return null;
      return Array.isArray(rb) ? rb.map(String) : [String(rb)];
    } catch { return null; }
  }
  const lines = contents.split(/\r?\n/);
  const blk = headmatterBlock(lines);
  if (!blk) return null;
  const [start, end] = blk;
  const inline = lines[start].replace(/^x-headmatter\s*:/, '').trim();
  if (inline && !inline.startsWith('#')) {
    const m = inline.match(/readable_by\s*:\s*(\[[^\]]*\]|'[^']*'|"[^"]*"|[^,}]+)/);
    return m ? parseValue(m[1]) : null;
  }
  for (let i = start + 1; i < end; i += 1) {
    const m = lines[i].match(/^(\s+)readable_by\s*:\s*(.*)$/);
    if (!m) continue;
    const rest = m[2].replace(/\s+#.*$/, '').trim();
    if (rest) return parseValue(rest);
    const items = [];
    for (let j = i + 1; j < end; j += 1) {
      const item = lines[j].match(/^\s*-\s*(.*)$/);
      if (item && indentOf(lines[j]) >= m[1].length) items.push(unquote(item[1].replace(/\s+#.*$/, '')));
      else if (lines[j].trim() !== '') break;
    }
    return items;
  }
  return null;
}

function parseValue(v) {
  const t = v.trim();
  if (t.startsWith('[')) return t.slice(1, -1).split(',').map((s) => unquote(s)).filter((s) => s !== '');
  if (t === 'null' || t === '~') return null;
  return [unquote(t)];
}

/**
 * setReadableBy returns contents with x-headmatter.readable_by set to
 * roles (null: removed; ['*']: any signed-in developer), keeping the
 * spec and the headmatter's other keys as they are.
 */
export function setReadableBy(contents, roles) {
  if (isJSONDoc(contents)) {
    const doc = JSON.parse(contents);
    const hm = Object.assign({}, doc['x-headmatter'] || {});
    if (roles === null) delete hm.readable_by;
    else hm.readable_by = roles.length === 1 && roles[0] === '*' ? '*' : roles;
    const out = Object.keys(hm).length ? { 'x-headmatter': hm } : {};
    for (const [k, v] of Object.entries(doc)) if (k !== 'x-headmatter') out[k] = v;
    return JSON.stringify(out, null, 2);
  }
  const eol = contents.includes('\r\n') ? '\r\n' : '\n';
  let lines = contents.split(/\r?\n/);
  let keep = []; // the headmatter's other lines
  let indent = '  ';
  const blk = headmatterBlock(lines);
  let at = 0;
  if (blk) {
    const [start, end] = blk;
    const inline = lines[start].replace(/^x-headmatter\s*:/, '').trim();
    if (!inline || inline.startsWith('#')) {
      const body = lines.slice(start + 1, end);
      const first = body.find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
      if (first) indent = ' '.repeat(indentOf(first));
      for (let i = 0; i < body.length; i += 1) {
        if (indentOf(body[i]) === indent.length && /^\s*readable_by\s*:/.test(body[i])) {
          // Skip the key and its value lines (deeper, or list items at the key's indent).
          i += 1;
          while (i < body.length && (body[i].trim() === '' || indentOf(body[i]) > indent.length || /^\s*-/.test(body[i]))) i += 1;
          i -= 1;
          continue;
        }
        keep.push(body[i]);
      }
    }
    lines = lines.slice(0, start).concat(lines.slice(end));
    at = start;
  } else if (lines[0] === '---' || lines[0].startsWith('%')) {
    at = lines.findIndex((l) => l === '---') + 1;
  }
  const rb = [];
  if (roles !== null) {
    if (roles.length === 1 && roles[0] === '*') rb.push(`${indent}readable_by: '*'`);
    else if (!roles.length) rb.push(`${indent}readable_by: []`);
    else rb.push(`${indent}readable_by:`, ...roles.map((r) => `${indent}  - ${yamlScalar(r)}`));
  }
  keep = keep.filter((l, i, a) => !(l.trim() === '' && i === a.length - 1));
  const block = rb.length || keep.some((l) => l.trim() !== '') ? ['x-headmatter:', ...rb, ...keep] : [];
  return lines.slice(0, at).concat(block, lines.slice(at)).join(eol);
}

// --- specs and files ------------------------------------------------------

function fileHash(path) {
  return `#/portal/files/${encodeURIComponent(path)}`;
}

function filePath(path) {
  return `/files/${encodePath(path)}`;
}

function readableText(rb) {
  if (rb === null) return 'everyone';
  if (rb.length === 1 && rb[0] === '*') return 'any signed-in developer';
  return rb.length ? rb.join(', ') : 'no one';
}

/** specsView lists /files and uploads a spec (specs/<name>.yml). */
export async function specsView(go) {
  const files = await listAll('/files');
  const status = h('div', { 'aria-live': 'polite', id: 'spec-upload-status' });
  const form = h('form', { id: 'spec-upload-form', 'aria-label': 'Upload a spec' },
    field('spec-name', 'Name', { type: 'text', required: true }, 'Stored as specs/<name>.yml unless the name already ends in .yml, .yaml or .json, or is a path.'),
    field('spec-file', 'Spec file (OpenAPI 2 or 3, YAML or JSON)', { type: 'file', accept: '.yml,.yaml,.json,application/json,application/yaml,text/yaml' }),
    h('div', { class: 'field' }, h('label', { for: 'spec-contents' }, 'Or paste the contents'),
      h('textarea', { id: 'spec-contents', name: 'spec-contents', rows: '8' })),
    status,
    h('button', { type: 'submit', id: 'spec-upload' }, 'Upload spec'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show(status);
    const name = form.elements['spec-name'].value.trim();
    const picked = form.elements['spec-file'].files[0];
    const path = !name ? '' : (name.includes('/') ? name : `specs/${/\.(ya?ml|json)$/i.test(name) ? name : `${name}.yml`}`);
    try {
      const contents = picked ? await picked.text() : form.elements['spec-contents'].value;
      if (!path || !contents.trim()) { show(status, banner('err', 'A name and the spec (a file or its contents) are required.')); return; }
      await request('POST', '/files', { path, contents });
      go('#/portal/specs', `Uploaded ${path}.`);
    } catch (e) {
      show(status, banner('err', errorText(e)));
    }
  });
  const table = simpleTable('Portal files', files, [
    ['path', (f) => h('a', { href: fileHash(f.path) }, f.path)],
    ['readable by', (f) => readableText(readableBy(f.contents || ''))],
    ['checksum', (f) => h('code', {}, String(f.checksum || '—').slice(0, 12))],
    ['actions', (f) => deleteAction(filePath(f.path), f.path, () => go('#/portal/specs', `Deleted ${f.path}.`))],
  ], (f) => ({ 'data-path': f.path }));
  return [heading('Specs and files'), table, h('h2', {}, 'Upload a spec'), form];
}

/**
 * fileView edits one file's contents and, for a spec, its permissions:
 * readable_by written into x-headmatter (public, any signed-in
 * developer, or the chosen developer roles).
 */
export async function fileView(path, go) {
  const [file, roles] = await Promise.all([request('GET', filePath(path)), listAll('/developers/roles')]);
  const here = fileHash(file.path);
  const contents = h('textarea', { id: 'file-contents', name: 'file-contents', rows: '20' });
  contents.value = file.contents || '';
  const status = h('div', { 'aria-live': 'polite', id: 'file-status' });
  const form = h('form', { id: 'file-form', 'aria-label': `Edit ${file.path}` },
    h('div', { class: 'field' }, h('label', { for: 'file-contents' }, 'Contents'), contents),
    status, h('button', { type: 'submit', id: 'file-save' }, 'Save contents'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await request('PATCH', filePath(file.path), { contents: contents.value });
      go(here, `Saved ${file.path}.`);
    } catch (e) { show(status, banner('err', errorText(e))); }
  });

  const current = readableBy(file.contents || '');
  const mode = current === null ? 'public' : (current.length === 1 && current[0] === '*' ? 'any' : 'roles');
  const chosen = new Set(mode === 'roles' ? current : []);
  const radio = (value, label) => h('label', {},
    h('input', { type: 'radio', name: 'readable-mode', id: `readable-${value}`, value, checked: mode === value }), label);
  const names = roles.map((r) => r.name).sort();
  for (const n of chosen) if (!names.includes(n)) names.push(n); // a role named in the spec but missing
  const permStatus = h('div', { 'aria-live': 'polite', id: 'readable-status' });
  const perm = h('form', { id: 'readable-form', 'aria-label': 'Permissions' },
    h('fieldset', {}, h('legend', {}, 'Who can read this spec (readable_by)'),
      h('div', { class: 'choices' }, radio('public', 'Everyone'), radio('any', 'Any signed-in developer (*)'), radio('roles', 'These developer roles:'))),
    h('fieldset', {}, h('legend', {}, 'Developer roles'),
      names.length ? h('div', { class: 'choices' }, names.map((n) => h('label', {},
        h('input', { type: 'checkbox', name: 'readable-role', value: n, 'data-role': n, checked: chosen.has(n) }), n)))
        : h('p', {}, 'No developer roles yet: ', h('a', { href: '#/portal/roles' }, 'create one'), '.')),
    h('p', { class: 'hint' }, 'Saved into the spec\'s x-headmatter, as Kong Manager\'s Permissions page does.'),
    permStatus, h('button', { type: 'submit', id: 'readable-save' }, 'Save permissions'));
  perm.addEventListener('change', (ev) => {
    if (ev.target.name === 'readable-role' && ev.target.checked) perm.querySelector('#readable-roles').checked = true;
  });
  perm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const m = perm.querySelector('input[name="readable-mode"]:checked').value;
    const picked = Array.from(perm.querySelectorAll('input[name="readable-role"]:checked')).map((e) => e.value);
    if (m === 'roles' && !picked.length) { show(permStatus, banner('err', 'Choose at least one role, or another option.')); return; }
    const rb = m === 'public' ? null : (m === 'any' ? ['*'] : picked);
    let next;
    try { next = setReadableBy(contents.value, rb); } catch (e) {
      show(permStatus, banner('err', `The contents are not valid JSON: ${e.message}`));
      return;
    }
    try {
      await request('PATCH', filePath(file.path), { contents: next });
      go(here, `Saved permissions of ${file.path}: ${readableText(rb)}.`);
    } catch (e) { show(permStatus, banner('err', errorText(e))); }
  });
  return [back('#/portal/specs', 'Specs and files'), heading(`File ${file.path}`),
    h('dl', { class: 'facts' }, h('dt', {}, 'Readable by'), h('dd', { id: 'file-readable-by' }, readableText(current)),
      h('dt', {}, 'Checksum'), h('dd', {}, h('code', {}, file.checksum || '—'))),
    h('h2', {}, 'Permissions'), perm, h('h2', {}, 'Contents'), form,
    h('h2', {}, 'Danger zone'), deleteAction(filePath(file.path), file.path, () => go('#/portal/specs', `Deleted ${file.path}.`))];
}

// --- developers -------------------------------------------------------------

// patchDeveloper sends PATCH /developers/{id} and returns the developer
// of Kong's answer, {"developer": {...}}.
async function patchDeveloper(id, body) {
  const res = await request('PATCH', `/developers/${seg(id)}`, body);
  if (!res || typeof res.developer !== 'object' || res.developer === null) {
    throw new APIError(200, { message: 'The Admin API answered PATCH /developers without {"developer": ...}' });
  }
  return res.developer;
}

/** developersView lists developers by status with approve/reject/revoke. */
export async function developersView(query, go) {
  const want = query.get('status') || '';
  const rows = await listAll(`/developers${want !== '' ? `?status=${encodeURIComponent(want)}` : ''}`);
  const here = `#/portal/developers${want !== '' ? `?status=${encodeURIComponent(want)}` : ''}`;
  const filter = h('select', { id: 'developer-status-filter', name: 'status' },
    h('option', { value: '' }, 'All'), DEV_STATUS.map((s, i) => h('option', { value: String(i) }, s)));
  filter.value = want;
  const form = h('form', { class: 'toolbar', 'aria-label': 'Filter developers' },
    h('div', { class: 'field' }, h('label', { for: 'developer-status-filter' }, 'Status'), filter),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(filter.value !== '' ? `#/portal/developers?status=${filter.value}` : '#/portal/developers');
  });
  const status = h('div', { 'aria-live': 'polite', id: 'developers-status' });
  const table = simpleTable('Developers', rows, [
    ['email', (d) => h('a', { href: `#/portal/developers/${seg(d.id)}` }, d.email)],
    ['status', (d) => h('span', { 'data-status': String(d.status) }, statusLabel(d.status))],
    ['roles', (d) => (d.roles || []).join(', ') || '—'],
    ['actions', (d) => h('span', { class: 'actions' }, statusButtons(d.status, d.email, async (next) => {
      try {
        await patchDeveloper(d.id, { status: next });
        go(here, `${d.email} is now ${statusLabel(next)}.`);
      } catch (e) { show(status, banner('err', errorText(e))); }
    }))],
  ], (d) => ({ 'data-email': d.email, 'data-id': d.id }));
  return [heading('Developers'), form, status, table];
}

/** developerView: one developer, its status actions, roles and applications. */
export async function developerView(id, go) {
  const [d, roles] = await Promise.all([request('GET', `/developers/${seg(id)}`), listAll('/developers/roles')]);
  const here = `#/portal/developers/${seg(d.id)}`;
  let apps = null;
  try { apps = await listAll(`/developers/${seg(d.id)}/applications`); } catch (e) {
    if (!(e instanceof APIError) || e.status !== 404) throw e;
  }
  const status = h('div', { 'aria-live': 'polite', id: 'developer-status' });
  const has = new Set(d.roles || []);
  const roleForm = h('form', { id: 'developer-roles-form', 'aria-label': 'Developer roles' },
    h('fieldset', {}, h('legend', {}, 'Roles'),
      roles.length ? h('div', { class: 'choices' }, roles.map((r) => h('label', {},
        h('input', { type: 'checkbox', name: 'developer-role', value: r.name, 'data-role': r.name, checked: has.has(r.name) }), r.name)))
        : h('p', {}, 'No developer roles yet: ', h('a', { href: '#/portal/roles' }, 'create one'), '.')),
    h('button', { type: 'submit', id: 'developer-roles-save' }, 'Save roles'));
  roleForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const picked = Array.from(roleForm.querySelectorAll('input[name="developer-role"]:checked')).map((e) => e.value);
    try {
      await patchDeveloper(d.id, { roles: picked });
      go(here, `Saved the roles of ${d.email}.`);
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  let meta = d.meta;
  try { meta = meta ? JSON.stringify(JSON.parse(meta)) : '—'; } catch { /* shown as stored */ }
  return [back('#/portal/developers', 'Developers'), heading(`Developer ${d.email}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', { id: 'developer-status-name', 'data-status': String(d.status) }, statusLabel(d.status)),
      h('dt', {}, 'Roles'), h('dd', { id: 'developer-roles' }, (d.roles || []).join(', ') || '—'),
      h('dt', {}, 'Custom ID'), h('dd', {}, d.custom_id || '—'),
      h('dt', {}, 'Meta'), h('dd', {}, meta || '—')),
    status,
    h('p', { class: 'actions' }, statusButtons(d.status, d.email, async (next) => {
      try {
        await patchDeveloper(d.id, { status: next });
        go(here, `${d.email} is now ${statusLabel(next)}.`);
      } catch (e) { show(status, banner('err', errorText(e))); }
    })),
    roleForm,
    h('h2', {}, 'Applications'),
    apps === null ? h('p', { class: 'hint' }, 'Not available: this Admin API has no /developers/{d}/applications.')
      : simpleTable('Applications', apps, [
        ['name', (a) => h('a', { href: `#/portal/applications/${seg(a.id)}` }, a.name)],
        ['description', (a) => a.description || '—'],
      ]),
    h('h2', {}, 'Danger zone'),
    deleteAction(`/developers/${seg(d.id)}`, d.email, () => go('#/portal/developers', `Deleted ${d.email}.`))];
}

// --- developer roles -------------------------------------------------------

/** rolesView lists, creates and deletes developer roles. */
export async function rolesView(go) {
  const roles = await listAll('/developers/roles');
  const form = nameForm({ prefix: 'role', label: 'New developer role', extra: 'comment', extraLabel: 'Comment', submit: 'Create role', path: '/developers/roles' },
    (r) => go('#/portal/roles', `Created role ${r.name}.`));
  return [heading('Developer roles'),
    simpleTable('Developer roles', roles, [
      ['name', (r) => r.name], ['comment', (r) => r.comment || '—'],
      ['actions', (r) => deleteAction(`/developers/roles/${seg(r.id)}`, r.name, () => go('#/portal/roles', `Deleted role ${r.name}.`))],
    ], (r) => ({ 'data-name': r.name })),
    h('h2', {}, 'New role'), form];
}

// --- applications and their registrations ----------------------------------

// instancesTable shows registrations (application_instances) with
// approve/reject/revoke, each a PATCH of the instance's own path.
function instancesTable(rows, pathOf, label, after, status) {
  return simpleTable('Service registrations', rows, [
    ['service', (i) => (i.service && (i.service.name || i.service.id)) || '—'],
    ['application', (i) => label(i)],
    ['status', (i) => h('span', { 'data-status': String(i.status) }, statusLabel(i.status, INSTANCE_STATUS) + (i.suspended ? ' (suspended)' : ''))],
    ['actions', (i) => h('span', { class: 'actions' }, statusButtons(i.status, label(i), async (next) => {
      try {
        await request('PATCH', pathOf(i), { status: next });
        after(`Registration ${statusLabel(next, INSTANCE_STATUS)}.`);
      } catch (e) { show(status, banner('err', errorText(e))); }
    }))],
  ], (i) => ({ 'data-instance': i.id }));
}

async function appInstances(app) {
  return listAll(`/applications/${seg(app.id)}/application_instances`);
}

/** applicationsView lists every application with its registrations. */
export async function applicationsView(go) {
  let apps;
  try { apps = await listAll('/applications'); } catch (e) {
    if (e instanceof APIError && e.status === 404) {
      return [heading('Applications'), h('p', { role: 'status' }, `Not available: ${errorText(e)} (is the portal on?)`)];
    }
    throw e;
  }
  const status = h('div', { 'aria-live': 'polite', id: 'applications-status' });
  const sections = [];
  for (const app of apps) {
    const insts = await appInstances(app);
    sections.push(h('section', { 'data-application': app.id, 'aria-label': `Application ${app.name}` },
      h('h2', {}, h('a', { href: `#/portal/applications/${seg(app.id)}` }, app.name)),
      h('p', { class: 'hint' }, 'Developer: ', app.developer && app.developer.id
        ? h('a', { href: `#/portal/developers/${seg(app.developer.id)}` }, app.developer.id) : '—'),
      instancesTable(insts, (i) => `/applications/${seg(app.id)}/application_instances/${seg(i.id)}`, () => app.name,
        (msg) => go('#/portal/applications', msg), status)));
  }
  return [heading('Applications'), status, apps.length ? sections : h('p', {}, 'No applications yet.')];
}

/** applicationView: one application and its registrations. */
export async function applicationView(id, go) {
  const app = await request('GET', `/applications/${seg(id)}`);
  const here = `#/portal/applications/${seg(app.id)}`;
  const insts = await appInstances(app);
  const status = h('div', { 'aria-live': 'polite', id: 'application-status' });
  return [back('#/portal/applications', 'Applications'), heading(`Application ${app.name}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Developer'), h('dd', {}, app.developer && app.developer.id ? h('a', { href: `#/portal/developers/${seg(app.developer.id)}` }, app.developer.id) : '—'),
      h('dt', {}, 'Redirect URI'), h('dd', {}, app.redirect_uri || '—'),
      h('dt', {}, 'Description'), h('dd', {}, app.description || '—'),
      h('dt', {}, 'Credentials'), h('dd', {}, 'Not shown: this Admin API has no /applications/{a}/credentials; the developer sees them on the portal.')),
    status,
    h('h2', {}, 'Service registrations'),
    instancesTable(insts, (i) => `/applications/${seg(app.id)}/application_instances/${seg(i.id)}`, () => app.name, (msg) => go(here, msg), status),
    h('h2', {}, 'Danger zone'),
    deleteAction(`/applications/${seg(app.id)}`, app.name, () => go('#/portal/applications', `Deleted ${app.name}.`))];
}

// --- the service page: documentation and service contracts -----------------

/**
 * serviceSections are the Dev Portal parts of a service's page: its
 * documentation (document_objects: "Add documentation" links a spec)
 * and its service contracts (the applications registered to it).
 */
export async function serviceSections(service, go) {
  const here = `#/services/${seg(service.id)}`;
  const status = h('div', { 'aria-live': 'polite', id: 'documentation-status' });
  let docs = [];
  let specs = [];
  try {
    [docs, specs] = await Promise.all([listAll(`/services/${seg(service.id)}/document_objects`), listAll('/files')]);
  } catch (e) {
    return [h('section', { 'aria-labelledby': 'sec-documentation' }, h('h2', { id: 'sec-documentation' }, 'Documentation'),
      h('p', { class: 'hint' }, `Not available: ${errorText(e)}`))];
  }
  const paths = specs.map((f) => f.path).filter((p) => /^specs\//.test(p) || /\.(ya?ml|json)$/i.test(p)).sort();
  const form = h('form', { id: 'documentation-form', 'aria-label': 'Add documentation' },
    h('div', { class: 'field' }, h('label', { for: 'documentation-path' }, 'Spec'),
      h('select', { id: 'documentation-path', name: 'documentation-path' }, paths.map((p) => h('option', { value: p }, p)))),
    status, h('button', { type: 'submit', id: 'documentation-add', disabled: !paths.length }, 'Add documentation'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await request('POST', '/document_objects', { service: { id: service.id }, path: form.elements['documentation-path'].value });
      go(here, 'Added documentation.');
    } catch (e) { show(status, banner('err', errorText(e))); }
  });
  let contracts;
  try {
    const insts = await listAll(`/services/${seg(service.id)}/application_instances`);
    const cstatus = h('div', { 'aria-live': 'polite' });
    contracts = [cstatus, instancesTable(insts, (i) => `/services/${seg(service.id)}/application_instances/${seg(i.id)}`,
      (i) => (i.application && (i.application.name || i.application.id)) || '—', (msg) => go(here, msg), cstatus)];
  } catch (e) {
    contracts = h('p', { class: 'hint' }, `Not available: ${errorText(e)}`);
  }
  return [
    h('section', { 'aria-labelledby': 'sec-documentation' }, h('h2', { id: 'sec-documentation' }, 'Documentation'),
      simpleTable('Documentation', docs, [
        ['spec', (d) => h('a', { href: fileHash(d.path) }, d.path)],
        ['actions', (d) => deleteAction(`/document_objects/${seg(d.id)}`, d.path, () => go(here, `Removed documentation ${d.path}.`))],
      ], (d) => ({ 'data-path': d.path })),
      paths.length ? null : h('p', { class: 'hint' }, 'Upload a spec first (Dev Portal → Specs and files).'),
      form),
    h('section', { 'aria-labelledby': 'sec-contracts' }, h('h2', { id: 'sec-contracts' }, 'Service contracts'), contracts),
  ];
}

/** portalRoute renders #/portal/... pages (parts after "portal"). */
export async function portalRoute(a, b, query, go) {
  switch (a) {
    case undefined:
    case 'settings': return settingsView(go);
    case 'specs': return specsView(go);
    case 'files': return b ? fileView(b, go) : specsView(go);
    case 'developers': return b ? developerView(b, go) : developersView(query, go);
    case 'roles':
    case 'permissions': return rolesView(go); // Kong Manager's Permissions page: the roles
    case 'applications': return b ? applicationView(b, go) : applicationsView(go);
    default: return [heading('Not found'), h('p', {}, `No Dev Portal page ${a}.`)];
  }
}
