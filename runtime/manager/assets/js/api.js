// The Admin API client: every call the GUI makes goes through request(),
// to the URL /kconfig.js names, with the admin's token when one is set
// and, with admin_gui_auth, the signed-in admin's name (Kong-Admin-User)
// beside the session cookie (credentials: 'include').

const cfg = window.K_CONFIG || {};

/** The Admin API's base URL, without a trailing slash. */
export function baseURL() {
  if (cfg.ADMIN_API_URL) return cfg.ADMIN_API_URL.replace(/\/+$/, '');
  const port = cfg.ADMIN_API_PORT || 8001;
  return `${location.protocol}//${location.hostname}:${port}`;
}

const TOKEN_KEY = 'gatehouse.admin-token';

/** The Kong-Admin-Token sent with every call ('' for none). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/** setToken keeps the token for this browser tab only. */
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

const USER_KEY = 'gatehouse.admin-user';

/** authEnabled reports whether admins sign in (admin_gui_auth is set). */
export function authEnabled() {
  return !!cfg.ADMIN_GUI_AUTH;
}

/** The signed-in admin's username ('' for none); not a secret. */
export function adminUser() {
  return localStorage.getItem(USER_KEY) || '';
}

/** setAdminUser remembers (or, with '', forgets) the signed-in admin. */
export function setAdminUser(u) {
  if (u) localStorage.setItem(USER_KEY, u);
  else localStorage.removeItem(USER_KEY);
}

/** basic encodes Basic credentials (UTF-8). */
function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/**
 * signIn is GET /auth with the admin's Basic credentials: the Admin API
 * answers with the session cookie, which the browser keeps.
 */
export async function signIn(user, password) {
  await request('GET', '/auth', undefined, { Authorization: basic(user, password), 'Kong-Admin-User': user });
  setAdminUser(user);
}

/** signOut ends the session (DELETE /auth) and forgets the admin. */
export async function signOut() {
  try {
    await request('DELETE', '/auth?session_logout=true');
  } finally {
    setAdminUser('');
  }
}

/** APIError carries Kong's error body (message, fields, code, name). */
export class APIError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/**
 * request sends one Admin API call and returns the decoded JSON body
 * (null for 204). Non-2xx answers throw APIError.
 */
export async function request(method, path, body, extraHeaders) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers['Kong-Admin-Token'] = t;
  const u = adminUser();
  if (u && authEnabled()) headers['Kong-Admin-User'] = u;
  Object.assign(headers, extraHeaders || {});
  const init = { method, headers, credentials: 'include' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(baseURL() + path, init);
  } catch (e) {
    throw new APIError(0, { message: `Admin API unreachable at ${baseURL()}: ${e.message}` });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

/** Encodes one path segment (names and ids the user typed). */
export function seg(s) {
  return encodeURIComponent(String(s));
}

// Schemas rarely change while the page is open: one fetch each.
const schemaCache = new Map();

/** schema returns GET /schemas/{name} (or /schemas/plugins/{name}). */
export function schema(path) {
  if (!schemaCache.has(path)) {
    const p = request('GET', `/schemas/${path}`);
    p.catch(() => schemaCache.delete(path));
    schemaCache.set(path, p);
  }
  return schemaCache.get(path);
}
