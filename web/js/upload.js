// File uploads to the API with progress: fetch cannot report how much of a request body
// has gone out, so this sends the raw file with XMLHttpRequest, reports upload progress,
// says when the last byte is sent (the server is then processing), and settles like
// api.js: the parsed JSON answer, or an ApiError built from the problem+json body.

import { ApiError, toQuery } from './api.js';

const BASE = '/api/v1';

// Reads a failed XHR answer into a problem object ({type, title, status, detail, field?}).
function problemOf(xhr) {
  let body = null;
  if ((xhr.getResponseHeader('Content-Type') || '').includes('json')) {
    try { body = JSON.parse(xhr.responseText); } catch { body = null; }
  }
  // A string member of the body, or ''.
  const str = (k) => (body && typeof body[k] === 'string' ? body[k] : '');
  const problem = {
    type: str('type') || 'about:blank',
    title: str('title') || xhr.statusText || 'Error',
    status: xhr.status,
    detail: str('detail'),
  };
  if (str('field')) problem.field = str('field');
  const retry = xhr.getResponseHeader('Retry-After');
  if (retry) problem.retryAfter = retry;
  return problem;
}

// Uploads file as the body of POST /api/v1<path><query>. Options: csrfToken (sent as
// X-CSRF-Token), onProgress(loaded, total) while sending, onSent() once the whole file is
// out. Returns {promise, abort}: the promise resolves with the JSON answer (null for 204)
// and rejects with ApiError (status 0: network failure) or, after abort(), an AbortError.
export function uploadFile({ path, query, file, csrfToken, onProgress, onSent }) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', BASE + path + toQuery(query));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    // Upload listeners must be in place before send() for progress events to fire.
    xhr.upload.addEventListener('progress', (e) => {
      if (onProgress) onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    });
    xhr.upload.addEventListener('load', () => { if (onSent) onSent(); });
    xhr.addEventListener('load', () => {
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(new ApiError(xhr.status, problemOf(xhr)));
        return;
      }
      if (xhr.status === 204 || !xhr.responseText) { resolve(null); return; }
      try {
        resolve(JSON.parse(xhr.responseText));
      } catch {
        reject(new ApiError(xhr.status, { type: 'about:blank', title: 'Bad response', status: xhr.status,
          detail: 'The server sent a response that is not valid JSON.' }));
      }
    });
    xhr.addEventListener('error', () => {
      reject(new ApiError(0, { type: 'about:blank', title: 'Network error', status: 0,
        detail: 'The upload did not reach the server. Check your connection and try again.' }));
    });
    xhr.addEventListener('abort', () => reject(new DOMException('The upload was cancelled.', 'AbortError')));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}
