// The portal API client: every call the page makes goes through request(),
// to the URL /kconfig.js names (PORTAL_API_URL, else this page's host on
// PORTAL_API_PORT) under /<workspace>, with the developer's session cookie
// (credentials: 'include'; the portal API answers CORS for the portal's
// origin).

const cfg = window.K_CONFIG || {};

/** The portal API's base URL with the workspace, without a trailing slash. */
export function baseURL() {
  let root = (cfg.PORTAL_API_URL || '').replace(/\/+$/, '');
  if (!root) root = `${location.protocol}//${location.hostname}:${cfg.PORTAL_API_PORT || 8004}`;
  return `${root}/${encodeURIComponent(cfg.WORKSPACE || 'default')}`;
}

/** APIError carries the portal API's error body ({message} or {fields}). */
export class APIError extends Error {
  constructor(status, body) {
    super(messageOf(status, body));
    this.status = status;
    this.body = body || {};
  }
}

function messageOf(status, body) {
  if (body && typeof body.message === 'string') return body.message;
  if (body && body.fields && typeof body.fields === 'object') {
    return Object.entries(body.fields).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ');
  }
  return `HTTP ${status}`;
}

/** basic encodes Basic credentials (UTF-8). */
export function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/**
 * request sends one portal API call and returns the decoded JSON body
 * (null when empty). Non-2xx answers throw APIError; an unreachable API
 * throws APIError with status 0.
 */
export async function request(method, path, body, extraHeaders) {
  const headers = { Accept: 'application/json' };
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
    throw new APIError(0, { message: `The portal API is unreachable at ${baseURL()}: ${e.message}` });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

/** Encodes one path segment (ids and names). */
export function seg(s) {
  return encodeURIComponent(String(s));
}

/** Encodes a file path, keeping its slashes (specs/iam-training.yml). */
export function filePath(p) {
  return String(p).split('/').map(encodeURIComponent).join('/');
}

/** signIn is GET /auth with Basic email:password; the answer sets the cookie. */
export function signIn(email, password) {
  return request('GET', '/auth', undefined, { Authorization: basic(email, password) });
}

/** signOut ends the session. */
export function signOut() {
  return request('DELETE', '/auth?session_logout=true');
}

/**
 * session returns {developer, auth}: the signed-in developer (or null) and
 * whether the portal has sign-in at all (portal_auth set: /developer
 * answers 401 without a session; without portal_auth it answers 404).
 */
export async function session() {
  try {
    return { developer: await request('GET', '/developer'), auth: true };
  } catch (e) {
    if (e.status === 401) return { developer: null, auth: true };
    if (e.status === 404) return { developer: null, auth: false };
    throw e;
  }
}
