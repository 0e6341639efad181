// The portal API client: every call the page makes goes through request(),
// to the URL /kconfig.js names (PORTAL_API_URL, else this page's host on
// PORTAL_API_PORT) under /<workspace>, with the developer's session cookie
// (credentials: 'include'; the portal API answers CORS for the portal's
// origin).

import { client, basic, seg, filePath, APIError } from '../shared/http.js';

export { basic, seg, filePath, APIError };

const cfg = window.K_CONFIG || {};

/** The portal API's base URL with the workspace, without a trailing slash. */
export function baseURL() {
  let root = (cfg.PORTAL_API_URL || '').replace(/\/+$/, '');
  if (!root) root = `${location.protocol}//${location.hostname}:${cfg.PORTAL_API_PORT || 8004}`;
  return `${root}/${encodeURIComponent(cfg.WORKSPACE || 'default')}`;
}

/**
 * request sends one portal API call and returns the decoded JSON body
 * (null when empty). Non-2xx answers throw APIError; an unreachable API
 * throws APIError with status 0.
 */
export const request = client({
  baseURL,
  unreachable: (base, e) => `The portal API is unreachable at ${base}: ${e.message}`,
});

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
