// cport API client: a fetch wrapper for /api/v1 that sends the session cookie, adds the
// X-CSRF-Token header to writes, and turns application/problem+json errors into ApiError.
// A 403 reauth-required is handed to the registered re-authentication handler (reauth.js
// shows the password dialog) and the call is retried once when it succeeds.

const BASE = '/api/v1';
const PROBLEM_PREFIX = 'urn:cport:problem:';
let csrfToken = null;
let reauthHandler = null;

// An API failure carrying the problem document ({type,title,status,detail}).
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

// The slug of an error's problem type ("reauth-required"), or '' when it has none.
export function problemSlug(err) {
  const type = err && err.problem && typeof err.problem.type === 'string' ? err.problem.type : '';
  return type.startsWith(PROBLEM_PREFIX) ? type.slice(PROBLEM_PREFIX.length) : '';
}

// Registers fn(err) -> Promise, run on 403 reauth-required before one retry (see reauth.js).
export function setReauthHandler(fn) {
  reauthHandler = typeof fn === 'function' ? fn : null;
}

// Remembers the CSRF token returned by POST /session or GET /me.
export function setCsrfToken(token) {
  csrfToken = typeof token === 'string' ? token : null;
}

// Builds a query string from an object, skipping empty values.
export function toQuery(params) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}

// Reads a failed response into a problem object, whatever its content type.
async function readProblem(res) {
  let body = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { body = await res.json(); } catch { body = null; }
  }
  const problem = {
    type: (body && typeof body.type === 'string') ? body.type : 'about:blank',
    title: (body && typeof body.title === 'string') ? body.title : (res.statusText || 'Error'),
    status: res.status,
    detail: (body && typeof body.detail === 'string') ? body.detail : '',
  };
  // A 400 names the offending request member, so forms can show the detail beside it.
  if (body && typeof body.field === 'string' && body.field) problem.field = body.field;
  const retry = res.headers.get('Retry-After');
  if (retry) problem.retryAfter = retry;
  return problem;
}

// Calls the API: api('GET', '/reports', {query, signal}) or api('POST', '/session', {body}).
// Resolves with the parsed JSON (or null for 204), or with a Blob when as is 'blob' (a
// media original); rejects with ApiError. noReauth skips the re-authentication dialog
// (used by the dialog's own call and by the retry).
export async function api(method, path, { query, body, signal, noReauth, as } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(BASE + path + toQuery(query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, { type: 'about:blank', title: 'Network error', status: 0,
      detail: 'The server could not be reached. Check your connection and try again.' });
  }
  if (!res.ok) {
    const err = new ApiError(res.status, await readProblem(res));
    if (res.status === 403 && !noReauth && reauthHandler && problemSlug(err) === 'reauth-required') {
      await reauthHandler(err); // rejects with err when the person cancels
      return api(method, path, { query, body, signal, noReauth: true, as });
    }
    throw err;
  }
  if (res.status === 204) return null;
  if (as === 'blob') return res.blob();
  try {
    return await res.json();
  } catch {
    throw new ApiError(res.status, { type: 'about:blank', title: 'Bad response', status: res.status,
      detail: 'The server sent a response that is not valid JSON.' });
  }
}

// GET /me; resolves with the session ({user, org, csrf_token}) and keeps the CSRF token.
export async function getMe(signal) {
  const me = await api('GET', '/me', { signal });
  setCsrfToken(me && me.csrf_token);
  return me;
}

// POST /session; resolves with the session and keeps the CSRF token.
export async function signIn(email, password, totp) {
  const body = { email, password };
  if (totp) body.totp = totp;
  const me = await api('POST', '/session', { body });
  setCsrfToken(me && me.csrf_token);
  return me;
}

// DELETE /session (sends the CSRF token).
export async function signOut() {
  await api('DELETE', '/session');
  setCsrfToken(null);
}

// True when an ApiError means the session is missing or expired (not wrong credentials,
// which sign-in and re-authentication answer with 401 too).
export function isUnauthorized(err) {
  if (!(err instanceof ApiError) || err.status !== 401) return false;
  const slug = problemSlug(err);
  return slug !== 'bad-credentials' && slug !== 'totp-required';
}
