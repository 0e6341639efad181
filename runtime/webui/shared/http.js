// The JSON-over-fetch client both GUIs call their API with (Kong Manager
// the Admin API, the Developer Portal the portal API): client() makes a
// request(method, path, body, extraHeaders) bound to a base URL, sending
// cookies (credentials: 'include'), and turning error answers into APIError.

/** APIError carries the API's error body ({message, fields, code, name}). */
export class APIError extends Error {
  constructor(status, body) {
    super(messageOf(status, body));
    this.status = status;
    this.body = body || {};
  }
}

// messageOf is Kong's message, else its fields flattened, else the status.
function messageOf(status, body) {
  if (body && typeof body.message === 'string' && body.message) return body.message;
  if (body && body.fields && typeof body.fields === 'object') {
    return Object.entries(body.fields).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ');
  }
  return `HTTP ${status}`;
}

/**
 * client returns request(method, path, body, extraHeaders): one call to
 * baseURL() + path with headers() and extraHeaders, a JSON body when body
 * is not undefined; it resolves to the decoded JSON answer (null when
 * empty) and throws APIError for non-2xx answers, or status 0 with
 * unreachable(baseURL(), error) as message when the API cannot be reached.
 */
export function client({ baseURL, headers, unreachable }) {
  return async function request(method, path, body, extraHeaders) {
    const hs = { Accept: 'application/json' };
    Object.assign(hs, headers ? headers() : {}, extraHeaders || {});
    const init = { method, headers: hs, credentials: 'include' };
    if (body !== undefined) {
      hs['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(baseURL() + path, init);
    } catch (e) {
      throw new APIError(0, { message: unreachable(baseURL(), e) });
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = { message: text }; }
    }
    if (!res.ok) throw new APIError(res.status, data);
    return data;
  };
}

/** basic encodes Basic credentials (UTF-8). */
export function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** Encodes one path segment (names and ids the user typed). */
export function seg(s) {
  return encodeURIComponent(String(s));
}

/** Encodes a file path, keeping its slashes (specs/iam-training.yml). */
export function filePath(p) {
  return String(p).split('/').map(encodeURIComponent).join('/');
}
