// The Developer Portal's pages. Routes are hash routes (#/, #/specs/<path>,
// #/register, #/login, #/apps, #/apps/<id>); a page path without a hash
// (/register, /apps) is read as the same route, since the server answers
// every extension-less path with this shell. After each render, main gets
// data-ready=<route> (tests wait on it) and focus moves to the page's
// heading, so keyboard and screen-reader users land on the new content.

import { h, id, show } from '../shared/dom.js';
import * as api from './api.js';

const main = document.getElementById('main');

/** Kong's developer and application-instance status codes. */
const STATUS = { 0: 'approved', 1: 'pending', 2: 'rejected', 3: 'revoked', 4: 'invited', 5: 'unverified' };

let developer = null; // the signed-in developer, or null
let authOn = true; // portal_auth is set (sign-in exists)

function route() {
  const hash = location.hash.replace(/^#/, '');
  if (hash) return hash;
  let p = location.pathname.replace(/\/+$/, '');
  // Kong's portal pages live under the workspace (/default/documentation/x).
  const ws = `/${(window.K_CONFIG || {}).WORKSPACE || 'default'}`;
  if (p === ws || p.startsWith(ws + '/')) p = p.slice(ws.length);
  if (!p || p === '/index.html') return '/';
  if (p.startsWith('/documentation/')) return '/specs/' + p.slice('/documentation/'.length);
  return p;
}

/**
 * findSpec picks path out of a file list; a name without an extension
 * (Kong's /documentation/<name> routes) matches <name>.yml, .yaml or
 * .json.
 */
function findSpec(files, path) {
  const exact = files.find((f) => f.path === path);
  if (exact || /\.[A-Za-z]+$/.test(path)) return exact;
  return files.find((f) => ['yml', 'yaml', 'json'].some((ext) => f.path === `${path}.${ext}`));
}

function banner(kind, text) {
  return h('div', { class: `banner ${kind}`, role: kind === 'err' ? 'alert' : 'status' }, text);
}

function heading(text) {
  return h('h1', { tabindex: '-1' }, text);
}

function field(label, input, hint) {
  const inputID = input.id || id(input.name || 'f');
  input.id = inputID;
  const hintID = hint ? `${inputID}-hint` : undefined;
  if (hintID) input.setAttribute('aria-describedby', hintID);
  return h('div', { class: 'field' },
    h('label', { for: inputID }, label, input.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    input,
    hint ? h('span', { class: 'hint', id: hintID }, hint) : null);
}

function statusText(code) {
  return STATUS[code] || `status ${code}`;
}

/** refreshSession asks the portal API who is signed in and updates the header. */
async function refreshSession() {
  try {
    ({ developer, auth: authOn } = await api.session());
  } catch {
    developer = null;
    authOn = true;
  }
  for (const li of document.querySelectorAll('#nav [data-when]')) {
    // Without portal_auth nobody signs in: no Register, Sign in, My Apps.
    const when = li.dataset.when;
    li.hidden = !authOn || (when === 'in' && !developer) || (when === 'out' && !!developer);
  }
  document.getElementById('who').textContent = developer ? `Signed in as ${developer.email}` : '';
}

function markNav(r) {
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').slice(1);
    const current = target === '/' ? (r === '/' || r.startsWith('/specs/')) : r === target || r.startsWith(target + '/');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// ---- catalogue ----

function isSpec(f) {
  return typeof f.path === 'string' && f.path.startsWith('specs/');
}

/** specTitle reads info.title from a spec's text without a YAML parser. */
function specTitle(f) {
  const text = String(f.contents || '');
  try {
    const j = JSON.parse(text);
    if (j && j.info && j.info.title) return String(j.info.title);
  } catch { /* YAML */ }
  const m = text.match(/^info:\s*\n(?:[ \t]+.*\n)*?[ \t]+title:\s*(.+)$/m);
  if (m) return m[1].trim().replace(/^(['"])(.*)\1$/, '$2');
  return f.path.replace(/^specs\//, '');
}

async function catalogue() {
  let files;
  let note = null;
  try {
    files = (await api.request('GET', '/files')).data || [];
  } catch (e) {
    if (e.status === 401) {
      files = (await api.request('GET', '/files/unauthenticated')).data || [];
      note = banner('info', 'Sign in to see the specs published for your roles.');
    } else if (e.status === 404) {
      return [heading('Catalogue'), banner('err', 'Not found: the Developer Portal is not enabled for this workspace.')];
    } else {
      throw e;
    }
  }
  const specs = files.filter(isSpec).sort((a, b) => a.path.localeCompare(b.path));
  if (authOn && !developer && !note) note = h('p', { class: 'hint' }, 'Some specs are visible only to signed-in developers. ', h('a', { href: '#/login' }, 'Sign in'), '.');
  return [
    heading('Catalogue'),
    note,
    specs.length === 0 ? h('p', {}, 'No specs are published yet.') : h('ul', { class: 'cards', 'aria-label': 'Published specs' },
      specs.map((f) => h('li', { class: 'card' },
        h('h2', {}, h('a', { href: `#/specs/${f.path.slice('specs/'.length)}` }, specTitle(f))),
        h('p', { class: 'hint' }, f.path)))),
  ];
}

// ---- spec page ----

async function specPage(name) {
  let path = 'specs/' + decodeURIComponent(name);
  let file;
  try {
    if (/\.[A-Za-z]+$/.test(path)) {
      file = (await api.request('GET', `/files/${api.filePath(path)}`)).data;
    } else {
      // Kong's documentation route names the spec without its extension.
      file = findSpec((await api.request('GET', '/files')).data || [], path);
      if (!file) throw new api.APIError(404, { message: 'Not found' });
      path = file.path;
    }
  } catch (e) {
    if (e.status === 401) {
      // Files need a session (Kong's portal API): an anonymous visitor
      // reads only what /files/unauthenticated gives.
      const pub = (await api.request('GET', '/files/unauthenticated')).data || [];
      file = findSpec(pub, path);
      if (file) path = file.path;
      if (!file) return [heading('Sign in to read this spec'), banner('err', 'Sign in to read this spec.'), h('p', {}, h('a', { href: '#/login' }, 'Sign in'), ' or ', h('a', { href: '#/register' }, 'register'), '.')];
    } else if (e.status === 404) {
      const signIn = developer ? null : h('p', {}, 'This spec may be published for signed-in developers only: ', h('a', { href: '#/login' }, 'sign in'), '.');
      return [heading('Spec not found'), banner('err', `Not found: ${path}`), signIn];
    } else {
      throw e;
    }
  }
  if (!file) return [heading('Spec not found'), banner('err', `Not found: ${path}`)];
  const holder = h('div', { id: 'spec', 'aria-label': 'API reference' });
  const status = h('p', { class: 'hint', role: 'status' }, 'Loading the renderer…');
  const mod = await import('./spec.js');
  const out = [heading(specTitle(file)), h('p', { class: 'hint' }, path), status, holder];
  // Render after the page is in the document (Swagger UI mounts into it).
  queueMicrotask(() => mod.render(holder, String(file.contents || '')).then(
    () => { status.textContent = 'Rendered with Swagger UI. "Try it out" sends requests from your browser to the API\'s own host.'; holder.dataset.rendered = 'true'; },
    (e) => { show(status, banner('err', `Cannot render this spec: ${e.message}`)); }));
  return out;
}

// ---- register ----

async function registerPage() {
  const metaFields = await api.request('GET', '/developer/meta_fields');
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' });
  const metaInputs = (Array.isArray(metaFields) ? metaFields : []).map((m) => {
    const required = !!(m.is_required || (m.validator && m.validator.required));
    return { m, input: h('input', { name: `meta.${m.title}`, type: 'text', required }) };
  });
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Register', novalidate: true },
    field('Email', email),
    field('Password', password),
    metaInputs.map(({ m, input }) => field(m.label || m.title, input)),
    h('button', { type: 'submit' }, 'Register'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const meta = {};
    for (const { m, input } of metaInputs) if (input.value !== '') meta[m.title] = input.value;
    try {
      const res = await api.request('POST', '/register', { email: email.value, password: password.value, meta: JSON.stringify(meta) });
      const dev = (res && res.developer) || {};
      if (dev.status === 0) {
        show(msg, banner('ok', `Registered ${dev.email}: your account is approved, you can sign in.`));
      } else if (dev.status === 1) {
        show(msg, banner('info', `Registered ${dev.email}: your account is pending approval by an administrator. You can sign in once approved.`));
      } else {
        show(msg, banner('info', `Registered ${dev.email}: your account is ${statusText(dev.status)}.`));
      }
      form.reset();
    } catch (e) {
      show(msg, banner('err', e.message));
    }
  });
  return [heading('Register'), h('p', {}, 'Create a developer account. An administrator approves new accounts unless the portal approves them automatically.'), msg, form];
}

// ---- sign in ----

function loginPage() {
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Sign in', novalidate: true },
    field('Email', email), field('Password', password), h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api.signIn(email.value, password.value);
      await refreshSession();
      location.hash = '#/';
    } catch (e) {
      const m = /Developer status: (\w+)/.exec(e.message);
      show(msg, banner('err', m ? `Your account is ${m[1].toLowerCase()}: an administrator has not approved it yet.` : e.message));
    }
  });
  return [heading('Sign in'), msg, form, h('p', {}, 'No account yet? ', h('a', { href: '#/register' }, 'Register'), '.')];
}

// ---- My Apps ----

function needSignIn(e) {
  if (e.status === 401 || e.status === 404) {
    return [heading('My Apps'), banner('info', 'Sign in to see your applications.'), h('p', {}, h('a', { href: '#/login' }, 'Sign in'), ' or ', h('a', { href: '#/register' }, 'register'), '.')];
  }
  throw e;
}

async function appsPage() {
  let apps;
  try {
    apps = (await api.request('GET', '/applications')).data || [];
  } catch (e) {
    return needSignIn(e);
  }
  const name = h('input', { name: 'name', required: true });
  const redirect = h('input', { name: 'redirect_uri', type: 'url', required: true, value: `${location.origin}/callback` });
  const description = h('input', { name: 'description' });
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Create an application', novalidate: true },
    field('Name', name), field('Redirect URI', redirect, 'Where the OAuth2 authorization code flow sends users back.'), field('Description', description),
    h('button', { type: 'submit' }, 'Create application'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value, redirect_uri: redirect.value };
    if (description.value) body.description = description.value;
    try {
      const app = await api.request('POST', '/applications', body);
      location.hash = `#/apps/${app.id}`;
    } catch (e) {
      show(msg, banner('err', e.message));
    }
  });
  return [
    heading('My Apps'),
    apps.length === 0 ? h('p', {}, 'You have no applications yet.') : h('table', {},
      h('caption', { class: 'hint' }, 'Your applications'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Description'), h('th', { scope: 'col' }, 'Redirect URI'))),
      h('tbody', {}, apps.map((a) => h('tr', {},
        h('td', {}, h('a', { href: `#/apps/${a.id}` }, a.name)), h('td', {}, a.description || ''), h('td', {}, a.redirect_uri || ''))))),
    h('h2', {}, 'Create an application'), msg, form,
  ];
}

async function appPage(appID) {
  let app;
  try {
    app = await api.request('GET', `/applications/${api.seg(appID)}`);
  } catch (e) {
    if (e.status === 404 && developer) return [heading('Application not found'), banner('err', 'Not found')];
    return needSignIn(e);
  }
  const [creds, services] = await Promise.all([
    api.request('GET', `/applications/${api.seg(appID)}/credentials`),
    api.request('GET', `/application_services?app_id=${api.seg(appID)}`),
  ]);
  const msg = h('div', { 'aria-live': 'polite' });
  const credList = (creds && creds.data) || [];
  const svcList = (services && services.data) || [];

  const register = async (svc) => {
    try {
      const inst = await api.request('POST', `/applications/${api.seg(appID)}/application_instances`, { service: { id: svc.id } });
      await render(`/apps/${appID}`);
      show(document.getElementById('app-msg'), banner('ok', `Registered to ${svc.name}: ${statusText(inst.status)}.`));
    } catch (e) {
      show(msg, banner('err', e.message));
    }
  };
  const confirmBox = h('div', { class: 'actions' });
  const askDelete = () => {
    show(confirmBox,
      h('span', {}, `Delete ${app.name} and its credentials?`),
      h('button', { type: 'button', class: 'danger', onclick: deleteApp }, 'Yes, delete'),
      h('button', { type: 'button', class: 'secondary', onclick: () => show(confirmBox, deleteButton()) }, 'Cancel'));
    confirmBox.querySelector('button').focus();
  };
  const deleteButton = () => h('button', { type: 'button', class: 'danger', onclick: askDelete }, 'Delete application');
  async function deleteApp() {
    try {
      await api.request('DELETE', `/applications/${api.seg(appID)}`);
      location.hash = '#/apps';
    } catch (e) {
      show(msg, banner('err', e.message));
    }
  }
  show(confirmBox, deleteButton());

  return [
    heading(app.name),
    h('div', { id: 'app-msg', 'aria-live': 'polite' }), msg,
    h('dl', { class: 'facts', 'aria-label': 'Application' },
      h('dt', {}, 'Description'), h('dd', {}, app.description || '—'),
      h('dt', {}, 'Redirect URI'), h('dd', {}, app.redirect_uri || '—')),
    h('h2', { id: 'creds-h' }, 'Credentials'),
    credList.length === 0 ? h('p', {}, 'No credentials.') : credList.map((c) => h('dl', { class: 'facts credential', 'aria-labelledby': 'creds-h' },
      h('dt', {}, 'client_id'), h('dd', { 'data-cred': 'client_id' }, c.client_id),
      h('dt', {}, 'client_secret'), h('dd', { 'data-cred': 'client_secret' }, c.client_secret))),
    h('h2', {}, 'Services'),
    svcList.length === 0 ? h('p', {}, 'No service accepts application registrations.') : h('table', {},
      h('caption', { class: 'hint' }, 'Services this application can register to'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Service'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Action'))),
      h('tbody', {}, svcList.map((s) => {
        const inst = s.instance;
        const label = inst ? (inst.suspended ? 'suspended' : statusText(inst.status)) : 'not registered';
        return h('tr', { 'data-service': s.id },
          h('td', {}, s.name || s.id),
          h('td', {}, h('span', { class: `status ${label}` }, label)),
          h('td', {}, inst ? '' : h('button', { type: 'button', onclick: () => register(s), 'aria-label': `Register ${app.name} to ${s.name || s.id}` }, 'Register')));
      }))),
    h('h2', {}, 'Delete'), confirmBox,
  ];
}

// ---- router ----

let seq = 0;

async function render(r) {
  const mine = ++seq;
  markNav(r);
  main.removeAttribute('data-ready');
  let nodes;
  try {
    if (r === '/') nodes = await catalogue();
    else if (r.startsWith('/specs/')) nodes = await specPage(r.slice('/specs/'.length));
    else if (r === '/register') nodes = await registerPage();
    else if (r === '/login') nodes = loginPage();
    else if (r === '/apps') nodes = await appsPage();
    else if (r.startsWith('/apps/')) nodes = await appPage(r.slice('/apps/'.length));
    else nodes = [heading('Not found'), banner('err', `No page at ${r}.`), h('p', {}, h('a', { href: '#/' }, 'Back to the catalogue'))];
  } catch (e) {
    nodes = [heading('Error'), banner('err', e.message || String(e))];
  }
  if (mine !== seq) return; // a later navigation won
  show(main, nodes);
  main.dataset.ready = '#' + r;
  if (!main.dataset.readyAt) main.dataset.readyAt = String(Math.round(performance.now()));
  const h1 = main.querySelector('h1');
  // Not on the first load: the first Tab must reach the skip link.
  if (h1 && initialised) h1.focus();
}

let initialised = false;

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await api.signOut();
  } catch { /* the session is gone either way */ }
  await refreshSession();
  location.hash = '#/';
  render(route());
});

window.addEventListener('hashchange', () => render(route()));

(async () => {
  await refreshSession();
  await render(route());
  initialised = true;
})();
