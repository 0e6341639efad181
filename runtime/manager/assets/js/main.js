// Kong Manager's page: a hash router over one generic entity engine.
//   #/                          dashboard
//   #/{kind}?tags=&offset=&q=   list
//   #/{kind}/new                create (plugins: ?name= after choosing)
//   #/{kind}/{id}               edit, nested collections, delete
//   #/{kind}/{id}/{child}/new   create under a parent
//   #/{kind}/{id}/{child}/{cid} edit under a parent
//   #/admins, #/admins/{id}     Teams → Admins (invite, generate link)
//   #/login                     sign-in (admin_gui_auth = basic-auth)
//   #/rbac/roles[/{r}], #/rbac/users[/{u}], #/teams[/{t}]   RBAC (rbac.js)
//   #/threat-protection[?before=] denied IPs, threat events, plugins (threat.js)
//   #/portal/...                Dev Portal: settings, specs, developers,
//                               developer roles, applications (portal.js)
//   <path>/register?email&username&token   an invited admin's activation
//   <path>/forgot-password, #/forgot-password  ask for a password reset
//   <path>/account/reset-password?email&token (also <path>/reset)  reset

import { h, show } from '../shared/dom.js';
import { request, schema, seg, token, setToken, APIError, baseURL, authEnabled, adminUser, signOut } from './api.js';
import { loginView, registerView, adminsList, adminInvite, adminView, forgotView, resetView } from './admins.js';
import { ENTITIES, CHILDREN, parentFieldFor } from './entities.js';
import { PORTAL_PAGES, portalRoute, serviceSections } from './portal.js';
import { RBAC_PAGES, rbacRoute, teamsView, teamView } from './rbac.js';
import { THREAT_PAGE, threatView } from './threat.js';
import { parseMetrics, traffic } from './metrics.js';
import { buildForm, fieldList, mergePluginFields } from './form.js';
import { banner, errorText, deleteAction, listAll } from './ui.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const PAGE_SIZE = 25;
let flash = null; // a message for the next page, after a redirect

function go(hash, message) {
  flash = message || null;
  if (location.hash === hash) render(); else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [p, q] = raw.split('?');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(q || '') };
}

function renderNav(active) {
  const items = [['', 'Dashboard']].concat(Object.entries(ENTITIES).map(([k, v]) => [k, v.title]), [[THREAT_PAGE, 'Threat protection']]);
  const links = (list) => h('ul', {}, list.map(([k, title]) => h('li', {},
    h('a', { href: `#/${k}`, 'aria-current': k === active ? 'page' : undefined }, title))));
  const group = (idName, title, list) => [h('h2', { class: 'nav-group', id: idName }, title),
    h('div', { role: 'group', 'aria-labelledby': idName }, links(list))];
  show(nav, links(items), group('nav-teams', 'Teams', [['admins', 'Teams · Admins']].concat(RBAC_PAGES)),
    group('nav-portal', 'Dev Portal', PORTAL_PAGES));
}

// navKey is the navigation entry a route belongs to.
function navKey(kind, a) {
  if (kind === 'portal') {
    const page = { files: 'specs', permissions: 'roles' }[a] || a || 'settings';
    return `portal/${page}`;
  }
  if (kind === 'rbac') return `rbac/${a || 'roles'}`;
  if (kind === 'teams') return 'teams';
  if (kind === THREAT_PAGE) return THREAT_PAGE;
  return kind && (ENTITIES[kind] || kind === 'admins') ? kind : '';
}

function fmt(v) {
  if (v === null || v === undefined || v === '') return '—';
  // Arrays of named records (a filter chain's filters) show the names.
  if (Array.isArray(v)) return v.length ? v.map((e) => (e && typeof e === 'object' && !e.id && e.name ? e.name : fmt(e))).join(', ') : '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return v.id ? v.id : JSON.stringify(v);
  return String(v);
}

function cell(col, v) {
  if (v && typeof v === 'object' && !Array.isArray(v) && v.id && ENTITIES[`${col}s`]) {
    return h('a', { href: `#/${col}s/${seg(v.id)}` }, v.id);
  }
  return fmt(v);
}

// --- dashboard ---------------------------------------------------------

// trafficCard is the dashboard's Traffic card, from the node's Prometheus
// metrics (GET /metrics) while an enabled prometheus plugin records them;
// otherwise it says so with a link to enable the plugin. A failure (an
// RBAC 403, the plugin not loaded) is shown in the card only.
async function trafficCard() {
  const title = h('h2', { id: 'dash-traffic' }, 'Traffic');
  const card = (...body) => h('section', { class: 'card wide', 'aria-labelledby': 'dash-traffic', id: 'traffic' }, title, ...body);
  try {
    const plugins = await listAll('/plugins');
    const prom = plugins.filter((p) => p.name === 'prometheus' && p.enabled);
    const on = (flag) => prom.some((p) => p.config && p.config[flag]);
    if (!prom.length) {
      return card(h('p', { id: 'traffic-off' }, 'The prometheus plugin is not enabled, so there are no traffic metrics. ',
        h('a', { href: '#/plugins/new?name=prometheus', id: 'traffic-enable' }, 'Enable the prometheus plugin'),
        ' (turn on status_code_metrics and latency_metrics for the figures below).'));
    }
    // /metrics answers Prometheus's text format: the client hands a
    // body that is not JSON back as its message.
    const res = await request('GET', '/metrics', undefined, { Accept: 'text/plain' });
    const t = traffic(parseMetrics((res && res.message) || ''));
    const n = (v) => (v === null || v === undefined ? '—' : String(Math.round(v)));
    const ms = (v) => `${v.toFixed(1)} ms`;
    const facts = [
      h('dt', {}, 'Requests (every listener)'), h('dd', { id: 'traffic-requests' }, n(t.requests)),
      h('dt', {}, 'Proxied requests'), h('dd', { id: 'traffic-total' }, on('status_code_metrics') ? n(t.proxied || 0) : 'not exported (status_code_metrics is off)'),
    ];
    for (const c of ['1xx', '2xx', '3xx', '4xx', '5xx']) {
      if (t.classes[c] !== undefined) facts.push(h('dt', {}, `Status ${c}`), h('dd', { id: `traffic-${c}` }, n(t.classes[c])));
    }
    const names = { request: 'Request latency', upstream: 'Upstream latency', kong: 'Gateway latency' };
    for (const [k, l] of Object.entries(t.latency || {})) {
      facts.push(h('dt', {}, names[k]), h('dd', { id: `traffic-latency-${k}` }, `average ${ms(l.average)}, p95 ≤ ${Number.isFinite(l.p95) ? `${l.p95} ms` : 'over the last bucket'} (${n(l.count)} requests)`));
    }
    if (!t.latency) facts.push(h('dt', {}, 'Latency'), h('dd', { id: 'traffic-latency' }, on('latency_metrics') ? 'no requests measured yet' : 'not exported (latency_metrics is off)'));
    if (t.threats !== null) facts.push(h('dt', {}, 'Threat events'), h('dd', { id: 'traffic-threats' }, h('a', { href: `#/${THREAT_PAGE}` }, n(t.threats))));
    return card(h('dl', { class: 'facts' }, facts));
  } catch (e) {
    return card(banner('err', errorText(e)));
  }
}

async function dashboard() {
  const [root, status, trafficSection] = await Promise.all([request('GET', '/'), request('GET', '/status'), trafficCard()]);
  const plugins = (root.plugins && root.plugins.available_on_server) || {};
  const srv = (status && status.server) || {};
  const db = (status && status.database) || {};
  return [
    h('h1', { tabindex: '-1' }, 'Dashboard'),
    h('div', { class: 'cards' },
      h('section', { class: 'card', 'aria-labelledby': 'dash-node' }, h('h2', { id: 'dash-node' }, 'Node'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Version'), h('dd', { id: 'node-version' }, fmt(root.version)),
          h('dt', {}, 'Hostname'), h('dd', {}, fmt(root.hostname)),
          h('dt', {}, 'Node ID'), h('dd', {}, fmt(root.node_id)),
          h('dt', {}, 'Database'), h('dd', {}, fmt(root.configuration && root.configuration.database)),
          h('dt', {}, 'Plugins available'), h('dd', {}, String(Object.keys(plugins).length)),
          h('dt', {}, 'Admin API'), h('dd', {}, baseURL()))),
      h('section', { class: 'card', 'aria-labelledby': 'dash-status' }, h('h2', { id: 'dash-status' }, 'Status'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Database reachable'), h('dd', { id: 'db-reachable' }, fmt(db.reachable)),
          h('dt', {}, 'Total requests'), h('dd', {}, fmt(srv.total_requests)),
          h('dt', {}, 'Active connections'), h('dd', {}, fmt(srv.connections_active)),
          h('dt', {}, 'Accepted connections'), h('dd', {}, fmt(srv.connections_accepted)),
          h('dt', {}, 'Handled connections'), h('dd', {}, fmt(srv.connections_handled)))),
      trafficSection),
  ];
}

// --- lists -------------------------------------------------------------

// table renders rows with links to their edit pages and a two-step delete.
function table(rows, columns, linkFor, deletePath, label, caption) {
  if (!rows.length) return h('p', {}, `No ${caption.toLowerCase()} yet.`);
  return h('table', {},
    h('caption', { class: 'hint' }, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, 'Actions'))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-id': r.id },
      columns.map((c, i) => h('td', {}, i === 0 ? h('a', { href: linkFor(r) }, fmt(r[c]) === '—' ? r.id : fmt(r[c])) : cell(c, r[c]))),
      h('td', {}, deleteButton(deletePath(r), r[label] || r.id))))));
}

// deleteButton asks for confirmation in place (no modal dialog); by
// default a deletion reloads the page with "Deleted <name>.". Its buttons
// carry no data-action (ui.js deleteAction's unmarked form).
function deleteButton(path, name, after) {
  return deleteAction(path, name, after || (() => go(location.hash, `Deleted ${name}.`)), false);
}

async function list(kind, query) {
  const ent = ENTITIES[kind];
  const q = query.get('q') || '';
  const tags = query.get('tags') || '';
  const offset = query.get('offset') || '';
  let rows = [];
  let next = null;
  let notFound = false;
  if (q) {
    // Kong's Admin API finds one entity by name or id; lists take no name filter.
    try { rows = [await request('GET', `/${kind}/${seg(q)}`)]; } catch (e) {
      if (!(e instanceof APIError) || e.status !== 404) throw e;
      notFound = true;
    }
  } else {
    const p = new URLSearchParams({ size: String(PAGE_SIZE) });
    if (tags) p.set('tags', tags);
    if (offset) p.set('offset', offset);
    let res;
    try { res = await request('GET', `/${kind}?${p}`); } catch (e) {
      // Filter chains with wasm off: Kong's 400 says so; not a broken page.
      if (!(e instanceof APIError) || e.status !== 400 || !ent.optional) throw e;
      return [h('h1', { tabindex: '-1' }, ent.title), h('p', { role: 'status', id: 'list-unavailable' }, `Not available on this node: ${errorText(e)}`)];
    }
    rows = res.data || [];
    next = res.offset || null;
  }
  const form = h('form', { class: 'toolbar', role: 'search', 'aria-label': `Search ${ent.title.toLowerCase()}` },
    h('div', { class: 'field' }, h('label', { for: 'search-q' }, 'Name or ID'),
      h('input', { id: 'search-q', name: 'q', type: 'search', value: q })),
    h('div', { class: 'field' }, h('label', { for: 'search-tags' }, 'Tags'),
      h('input', { id: 'search-tags', name: 'tags', type: 'text', value: tags, 'aria-describedby': 'tags-hint' }),
      h('span', { class: 'hint', id: 'tags-hint' }, 'a,b: all of them; a/b: any of them')),
    h('button', { type: 'submit' }, 'Filter'),
    h('a', { class: 'button secondary', href: `#/${kind}` }, 'Clear'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    const fq = form.elements.q.value.trim();
    const ft = form.elements.tags.value.trim();
    if (fq) p.set('q', fq);
    if (ft) p.set('tags', ft);
    go(`#/${kind}${p.toString() ? `?${p}` : ''}`);
  });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    offset ? h('a', { class: 'button secondary', href: `#/${kind}${tags ? `?tags=${encodeURIComponent(tags)}` : ''}` }, 'First page') : null,
    next ? h('a', { class: 'button secondary', href: `#/${kind}?${new URLSearchParams(tags ? { tags, offset: next } : { offset: next })}` }, 'Next page') : null);
  return [
    h('h1', { tabindex: '-1' }, ent.title),
    h('p', {}, h('a', { class: 'button', href: `#/${kind}/new` }, `New ${ent.title.replace(/s$/, '').toLowerCase()}`)),
    form,
    notFound ? h('p', { role: 'status' }, `No ${kind} with name or ID “${q}”.`) :
      table(rows, ent.columns, (r) => `#/${kind}/${seg(r.id)}`, (r) => `/${kind}/${seg(r.id)}`, ent.label, ent.title),
    pager,
  ];
}

// --- forms -------------------------------------------------------------

// formFields loads the schema fields for an entity kind (plugins: the
// generic plugin entity merged with that plugin's own schema).
async function formFields(desc, pluginName) {
  if (desc.plugin) {
    const [generic, specific] = await Promise.all([schema('plugins'), schema(`plugins/${seg(pluginName)}`)]);
    return mergePluginFields(generic, specific);
  }
  return fieldList(await schema(desc.schema));
}

// pluginPicker asks which plugin to add, from GET /plugins/enabled.
async function pluginPicker(baseHash, title) {
  const res = await request('GET', '/plugins/enabled');
  const names = (res.enabled_plugins || []).slice().sort();
  const form = h('form', {},
    h('div', { class: 'field' }, h('label', { for: 'plugin-name' }, 'Plugin'),
      h('select', { id: 'plugin-name', name: 'name' }, names.map((n) => h('option', { value: n }, n)))),
    h('button', { type: 'submit' }, 'Continue'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(`${baseHash}?name=${encodeURIComponent(form.elements.name.value)}`);
  });
  return [h('h1', { tabindex: '-1' }, title), form];
}

/**
 * entityForm renders the create or edit form of one entity.
 * desc: registry entry; entity: current values (edit) or null;
 * postPath: collection path (create); selfPath: entity path (edit);
 * skip: fields set by the path; done(entity): after a save.
 */
async function entityForm({ desc, entity, pluginName, postPath, selfPath, skip, title, done }) {
  const fields = await formFields(desc, pluginName);
  const mode = entity ? 'edit' : 'create';
  const skipped = [...(skip || [])];
  if (desc.plugin) skipped.push('name');
  const f = buildForm(fields, { values: entity || undefined, mode, skip: skipped, textareas: desc.textareas });
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, mode === 'create' ? 'Create' : 'Save');
  const form = h('form', { novalidate: true, 'aria-label': title },
    desc.plugin ? h('p', {}, 'Plugin: ', h('strong', { id: 'plugin-chosen' }, pluginName)) : null,
    f.el, status, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show(status);
    let body;
    try { body = f.read(); } catch (e) {
      show(status, banner('err', e.message));
      return;
    }
    if (desc.plugin && mode === 'create') body.name = pluginName;
    submit.disabled = true;
    try {
      const saved = mode === 'create' ? await request('POST', postPath, body) : await request('PATCH', selfPath, body);
      done(saved);
    } catch (e) {
      const left = e instanceof APIError ? f.setErrors(e.body) : [];
      show(status, banner('err', [errorText(e)].concat(left).join(' — ')));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function createView(kind, query) {
  const desc = ENTITIES[kind];
  const title = `New ${desc.title.replace(/s$/, '').toLowerCase()}`;
  if (desc.plugin && !query.get('name')) return pluginPicker(`#/${kind}/new`, title);
  const form = await entityForm({
    desc, pluginName: query.get('name'), postPath: `/${kind}`, title,
    done: (e) => go(`#/${kind}/${seg(e.id)}`, `Created ${e[desc.label] || e.id}.`),
  });
  return [h('h1', { tabindex: '-1' }, title), form];
}

async function editView(kind, entityId) {
  const desc = ENTITIES[kind];
  const entity = await request('GET', `/${kind}/${seg(entityId)}`);
  const name = entity[desc.label] || entity.id;
  const form = await entityForm({
    desc, entity, pluginName: entity.name, selfPath: `/${kind}/${seg(entity.id)}`,
    title: `Edit ${name}`,
    done: (e) => go(`#/${kind}/${seg(e.id)}`, `Saved ${e[desc.label] || e.id}.`),
  });
  const sections = [];
  if (desc.health) sections.push(await healthSection(kind, entity));
  if (kind === 'services') sections.push(await serviceSections(entity, go));
  for (const child of desc.children || []) {
    sections.push(await childSection(kind, entity, child));
  }
  return [
    h('p', {}, h('a', { href: `#/${kind}` }, `← ${desc.title}`)),
    h('h1', { tabindex: '-1' }, `${desc.title.replace(/s$/, '')} ${name}`),
    h('p', { class: 'hint' }, 'ID: ', h('code', {}, entity.id)),
    form,
    h('h2', {}, 'Danger zone'),
    deleteButton(`/${kind}/${seg(entity.id)}`, name, () => go(`#/${kind}`, `Deleted ${name}.`)),
    sections,
  ];
}

// healthSection shows GET /upstreams/{id}/health: each target's health
// as this node's balancer sees it.
async function healthSection(kind, entity) {
  let body;
  try {
    const res = await request('GET', `/${kind}/${seg(entity.id)}/health`);
    const rows = (res && res.data) || [];
    body = rows.length ? h('table', {},
      h('caption', { class: 'hint' }, 'Target health on this node'),
      h('thead', {}, h('tr', {}, ['target', 'weight', 'health', 'addresses'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('td', {}, r.target), h('td', {}, fmt(r.weight)), h('td', {}, fmt(r.health)),
        h('td', {}, (((r.data || {}).addresses) || []).map((a) => `${a.ip}:${a.port} ${a.health}`).join(', ') || '—')))))
      : h('p', {}, 'No targets.');
  } catch (e) {
    body = h('p', { class: 'hint' }, `Not available: ${errorText(e)}`);
  }
  return h('section', { 'aria-labelledby': 'sec-health' }, h('h2', { id: 'sec-health' }, 'Health'), body);
}

async function childSection(kind, parent, childKey) {
  const c = CHILDREN[childKey];
  const base = `/${kind}/${seg(parent.id)}/${childKey}`;
  const headingId = `sec-${childKey}`;
  let body;
  try {
    const res = await request('GET', `${base}?size=100`);
    const link = (r) => (c.top ? `#/${c.top}/${seg(r.id)}` : `#/${kind}/${seg(parent.id)}/${childKey}/${seg(r.id)}`);
    body = table(res.data || [], c.columns, link, (r) => `${base}/${seg(r.id)}`, c.label, c.title);
  } catch (e) {
    body = h('p', { class: 'hint' }, `Not available: ${errorText(e)}`);
  }
  return h('section', { 'aria-labelledby': headingId },
    h('h2', { id: headingId }, c.title),
    h('p', {}, h('a', { class: 'button secondary', href: `#/${kind}/${seg(parent.id)}/${childKey}/new` }, `Add ${c.title.replace(/s$/, '').toLowerCase()}`)),
    body);
}

async function childCreateView(kind, parentId, childKey, query) {
  const c = CHILDREN[childKey];
  const parent = await request('GET', `/${kind}/${seg(parentId)}`);
  const pname = parent[ENTITIES[kind].label] || parent.id;
  const title = `New ${c.title.replace(/s$/, '').toLowerCase()} for ${pname}`;
  const back = `#/${kind}/${seg(parent.id)}`;
  if (c.plugin && !query.get('name')) return pluginPicker(`${back}/${childKey}/new`, title);
  const form = await entityForm({
    desc: c, pluginName: query.get('name'), postPath: `/${kind}/${seg(parent.id)}/${childKey}`, title,
    skip: [parentFieldFor(kind, childKey)],
    done: (e) => go(back, `Created ${e[c.label] || e.id}.`),
  });
  return [h('p', {}, h('a', { href: back }, `← ${pname}`)), h('h1', { tabindex: '-1' }, title), form];
}

async function childEditView(kind, parentId, childKey, childId) {
  const c = CHILDREN[childKey];
  const self = `/${kind}/${seg(parentId)}/${childKey}/${seg(childId)}`;
  const entity = await request('GET', self);
  const back = `#/${kind}/${seg(parentId)}`;
  const name = entity[c.label] || entity.id;
  const form = await entityForm({
    desc: c, entity, pluginName: entity.name, selfPath: self, title: `Edit ${name}`,
    skip: [parentFieldFor(kind, childKey)],
    done: () => go(back, `Saved ${name}.`),
  });
  return [h('p', {}, h('a', { href: back }, '← back')), h('h1', { tabindex: '-1' }, `${c.title.replace(/s$/, '')} ${name}`), form,
    h('h2', {}, 'Danger zone'), deleteButton(self, name, () => go(back, `Deleted ${name}.`))];
}

// --- router ------------------------------------------------------------

let renderSeq = 0;

// The pages opened at a path of their own under admin_gui_path.
const PATH_PAGES = /(register|forgot-password|account\/reset-password|reset)\/?$/;

// pathPage names the page the path opens ('' for the hash router's).
function pathPage() {
  const m = location.pathname.match(PATH_PAGES);
  if (!m) return '';
  return m[1] === 'account/reset-password' ? 'reset' : m[1];
}

// leavePathPage goes from a path page to a hash page of the GUI's root.
function leavePathPage(hash, message) {
  history.replaceState(null, '', location.pathname.replace(PATH_PAGES, '') + hash);
  flash = message;
  render(true);
}

// afterRegister leaves the register (or reset) page for the sign-in form.
function afterRegister(message) {
  leavePathPage('#/login', message);
}

// renderUser shows who is signed in, with a sign-out button.
function renderUser() {
  let area = document.getElementById('user-area');
  if (!area) {
    area = h('div', { id: 'user-area', class: 'token' });
    document.querySelector('header.top').append(area);
  }
  const user = adminUser();
  if (!authEnabled() || !user) { show(area); return; }
  const out = h('button', { type: 'button', class: 'secondary', id: 'sign-out' }, 'Sign out');
  out.addEventListener('click', async () => {
    try { await signOut(); } catch { /* the session is gone either way */ }
    go('#/login', 'Signed out.');
  });
  show(area, h('span', { id: 'signed-in-as' }, `Signed in as ${user}`), out);
}

async function route(kind, a, b, c, query) {
  // Kong Manager's paths name the workspace first (/default/services,
  // /default/portal/permissions/): the one workspace is "default".
  if (kind === 'default') return route(a, b, c, undefined, query);
  if (kind === 'login') return loginView(null, (msg) => go('#/', msg));
  if (kind === 'forgot-password') return forgotView();
  if (authEnabled() && !adminUser() && !token()) return loginView(null, (msg) => render(true, msg));
  if (!kind) return dashboard();
  if (kind === 'admins') {
    if (a === 'new') return adminInvite(go);
    return a ? adminView(a, go) : adminsList(go);
  }
  if (kind === 'portal') return portalRoute(a, b, query, go);
  if (kind === 'rbac') return rbacRoute(a, b, go);
  if (kind === 'teams') return a ? teamView(a, go) : teamsView(go);
  if (kind === THREAT_PAGE) return threatView(query, go);
  if (!ENTITIES[kind]) return [h('h1', { tabindex: '-1' }, 'Not found'), h('p', {}, `No page ${kind}.`)];
  if (!a) return list(kind, query);
  if (a === 'new') return createView(kind, query);
  if (!b) return editView(kind, a);
  if (!CHILDREN[b] || !(ENTITIES[kind].children || []).includes(b)) return [h('h1', { tabindex: '-1' }, 'Not found')];
  if (c === 'new') return childCreateView(kind, a, b, query);
  return childEditView(kind, a, b, c);
}

async function render(focus, note) {
  const seq = ++renderSeq;
  const { parts, query } = parseHash();
  const [kind, a, b, c] = parts;
  renderNav(kind === 'default' ? navKey(a, b) : navKey(kind, a));
  renderUser();
  const message = note || flash;
  flash = null;
  let content;
  try {
    if (pathPage() && location.hash.length > 1) {
      // A hash link on a path page (the reset page's "Sign in"): the
      // hash router's page, at the GUI's root.
      history.replaceState(null, '', location.pathname.replace(PATH_PAGES, '') + location.hash);
    }
    const page = pathPage();
    if (page === 'register') content = registerView(new URLSearchParams(location.search), afterRegister);
    else if (page === 'reset') content = resetView(new URLSearchParams(location.search), afterRegister);
    else if (page === 'forgot-password') content = forgotView();
    else content = await route(kind, a, b, c, query);
  } catch (e) {
    if (e instanceof APIError && e.status === 401 && authEnabled() && !token()) {
      content = loginView(`${errorText(e)}: sign in again.`, (msg) => render(true, msg));
    } else {
      content = [h('h1', { tabindex: '-1' }, 'Error'), banner('err', errorText(e))];
    }
  }
  if (seq !== renderSeq) return; // a newer navigation won
  renderUser();
  show(main, message ? banner('ok', message) : null, content);
  main.dataset.readyAt = String(Math.round(performance.now()));
  main.setAttribute('data-ready', location.hash || '#/');
  if (focus) {
    const h1 = main.querySelector('h1');
    if (h1) h1.focus();
  }
}

function initToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('admin-token');
  input.value = token();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    flash = input.value.trim() ? 'Token set for this tab.' : 'Token cleared.';
    render(true);
  });
}

window.addEventListener('hashchange', () => render(true));
initToken();
render(false);
