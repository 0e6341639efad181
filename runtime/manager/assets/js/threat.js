// Kong Manager's "Threat protection" page (#/threat-protection): the
// denied client addresses (the denied_ips entity, /denied-ips), the
// node's threat events (GET /threat-events, newest first, paged by its
// next link) and the threat-protection plugin instances, with a link to
// the plugin's schema form. Each section is read on its own: a refusal
// (an RBAC 403) is shown in that section in Kong's words, the others
// still render.
//
// Element ids and data attributes are part of the selector contract in
// runtime/manager/README.md.

import { h } from '../shared/dom.js';
import { request, seg } from './api.js';
import { banner, errorText, field, heading, deleteAction, simpleTable, listAll, onSubmit } from './ui.js';

/** The page's hash route (without "#/"). */
export const THREAT_PAGE = 'threat-protection';

/** How many events one page shows. */
const EVENTS_PAGE = 25;

// section renders one titled section; body() builds its content, and a
// failure is shown there as "<status>: <message>".
async function section(idName, title, body) {
  let content;
  try {
    content = await body();
  } catch (e) {
    content = banner('err', errorText(e));
  }
  return h('section', { 'aria-labelledby': idName, id: `${idName}-section` }, h('h2', { id: idName }, title), content);
}

function when(t) {
  if (typeof t !== 'number' || !Number.isFinite(t)) return '—';
  return new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

// deniedSection lists /denied-ips with a form adding one (ip, reason,
// expiry in seconds from now) and a delete per row.
async function deniedSection(go) {
  const rows = await listAll('/denied-ips');
  const status = h('div', { 'aria-live': 'polite', id: 'denied-status' });
  const submitBtn = h('button', { type: 'submit', id: 'denied-add' }, 'Deny address');
  const form = h('form', { id: 'denied-form', 'aria-label': 'Deny a client address' },
    field('denied-ip', 'Address or CIDR range', { type: 'text', required: true, autocomplete: 'off' }, 'e.g. 203.0.113.7 or 10.0.0.0/8; refused on every route with 403.'),
    field('denied-reason', 'Reason', { type: 'text' }),
    field('denied-expires', 'Expires in (seconds)', { type: 'number', min: '1', step: '1' }, 'Leave empty to deny until deleted.'),
    status, submitBtn);
  onSubmit(form, submitBtn, status, async () => {
    const body = { ip: form.elements['denied-ip'].value.trim() };
    const reason = form.elements['denied-reason'].value.trim();
    if (reason) body.reason = reason;
    const secs = form.elements['denied-expires'].value.trim();
    if (secs) body.expires_at = Math.floor(Date.now() / 1000) + Number(secs);
    const made = await request('POST', '/denied-ips', body);
    go(`#/${THREAT_PAGE}`, `Denied ${made.ip}.`);
  });
  return [
    simpleTable('Denied addresses', rows, [
      ['Address', (r) => r.ip],
      ['Reason', (r) => r.reason || '—'],
      ['Expires', (r) => (r.expires_at ? when(r.expires_at) : 'never')],
      ['Added', (r) => when(r.created_at)],
      ['Tags', (r) => (r.tags && r.tags.length ? r.tags.join(', ') : '—')],
      ['Actions', (r) => deleteAction(`/denied-ips/${seg(r.id)}`, r.ip, () => go(`#/${THREAT_PAGE}`, `Removed ${r.ip} from the denied addresses.`))],
    ], (r) => ({ 'data-ip': r.ip, 'data-id': r.id })),
    h('h3', {}, 'Deny an address'), form,
  ];
}

// eventsSection shows one page of GET /threat-events (before: the
// offset of its next link), with links to the next and the newest page.
async function eventsSection(before, go) {
  const q = new URLSearchParams({ size: String(EVENTS_PAGE) });
  if (before) q.set('offset', before);
  const res = await request('GET', `/threat-events?${q}`);
  const rows = (res && res.data) || [];
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'threat-events-refresh' }, 'Refresh');
  refresh.addEventListener('click', () => go(`#/${THREAT_PAGE}`));
  const links = [];
  if (before) links.push(h('a', { href: `#/${THREAT_PAGE}`, id: 'threat-events-first' }, 'Newest events'));
  if (res && res.next && res.offset) {
    links.push(h('a', { href: `#/${THREAT_PAGE}?before=${encodeURIComponent(res.offset)}`, id: 'threat-events-next' }, 'Older events'));
  }
  return [
    h('p', { class: 'hint' }, 'The last denials and alerts of this node, newest first (the node keeps 1024).'),
    h('div', { id: 'threat-events' }, simpleTable('Threat events', rows, [
      ['Time', (e) => when(e.time)],
      ['Rule', (e) => (e.filter ? `${e.rule} (${e.filter})` : e.rule)],
      ['Action', (e) => e.action],
      ['Status', (e) => (e.status ? String(e.status) : '—')],
      ['Client IP', (e) => e.client_ip || '—'],
      ['Method', (e) => e.method || '—'],
      ['Path', (e) => e.path || '—'],
      ['Message', (e) => e.message || '—'],
    ], (e) => ({ 'data-event': String(e.id), 'data-rule': e.rule, 'data-event-action': e.action }))),
    h('p', { class: 'actions' }, refresh, ...links),
  ];
}

// pluginsSection lists the threat-protection plugin instances with a
// link to the schema form that creates one.
async function pluginsSection() {
  const all = await listAll('/plugins');
  const rows = all.filter((p) => p.name === 'threat-protection');
  const scope = (p) => {
    for (const k of ['service', 'route']) {
      if (p[k] && p[k].id) return h('a', { href: `#/${k}s/${seg(p[k].id)}` }, `${k} ${p[k].id}`);
    }
    return 'global';
  };
  return [
    simpleTable('Threat-protection plugins', rows, [
      ['Instance', (p) => h('a', { href: `#/plugins/${seg(p.id)}` }, p.instance_name || p.id)],
      ['Scope', scope],
      ['Enabled', (p) => (p.enabled ? 'yes' : 'no')],
      ['Rules', (p) => String(((p.config && p.config.rules) || []).length)],
    ], (p) => ({ 'data-plugin': p.id })),
    h('p', {}, h('a', { href: '#/plugins/new?name=threat-protection', id: 'threat-plugin-new' }, 'Add a threat-protection plugin')),
  ];
}

/** threatView is the Threat protection page; query.before pages the events. */
export async function threatView(query, go) {
  const before = query.get('before') || '';
  const [denied, events, plugins] = await Promise.all([
    section('threat-denied', 'Denied addresses', () => deniedSection(go)),
    section('threat-events-title', 'Threat events', () => eventsSection(before, go)),
    section('threat-plugins', 'Threat-protection plugins', pluginsSection),
  ]);
  return [heading('Threat protection'), denied, events, plugins];
}
