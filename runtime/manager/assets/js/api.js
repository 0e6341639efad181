// The Admin API client: every call the GUI makes goes through request(),
// to the URL /kconfig.js names, with the admin's token when one is set
// and, with admin_gui_auth, the signed-in admin's name (Kong-Admin-User)
// beside the session cookie (credentials: 'include').

import { client, basic, seg, APIError } from '../shared/http.js';

export { seg, APIError };

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

/**
 * request sends one Admin API call and returns the decoded JSON body
 * (null for 204). Non-2xx answers throw APIError.
 */
export const request = client({
  baseURL,
  headers() {
    const headers = {};
    const t = token();
    if (t) headers['Kong-Admin-Token'] = t;
    const u = adminUser();
    if (u && authEnabled()) headers['Kong-Admin-User'] = u;
    return headers;
  },
  unreachable: (base, e) => `Admin API unreachable at ${base}: ${e.message}`,
});

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
