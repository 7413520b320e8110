// Calls to Simpul's REST API on the same origin (the gateway that serves these pages).
//
// Errors are thrown as ApiError with the gateway's error body: { code (the HTTP status), status
// (the gRPC code's name, e.g. "INVALID_ARGUMENT"), message, field_violations: [{ field,
// description }], request_id }, already in the caller's language
// (the Accept-Language header carries the front's language).
//
// The officer console signs in to a session (a cookie the page cannot read); every call that
// changes something then carries the session's CSRF token (setCsrfToken), as the gateway
// requires.
import { lang } from './i18n.js';

let csrfToken = '';

export function setCsrfToken(token) { csrfToken = token || ''; }

export class ApiError extends Error {
  constructor(status, body, text) {
    super(body?.message || text || `HTTP ${status}`);
    this.status = status;
    this.code = body?.status ?? '';  // the gRPC code's name
    this.fieldViolations = body?.field_violations ?? [];
    this.requestId = body?.request_id ?? '';
  }
}

// url builds a same-origin URL; query values that are undefined, null or '' are left out and
// arrays become repeated parameters.
export function url(path, query) {
  const u = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) u.searchParams.append(key, String(v));
  }
  return u;
}

function headers(method, hasBody, extra) {
  const h = { Accept: 'application/json', 'Accept-Language': lang(), ...extra };
  if (hasBody) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) h['X-CSRF-Token'] = csrfToken;
  return h;
}

// api calls one REST route and returns its JSON answer (null for an empty body).
export async function api(path, { method = 'GET', query, body, signal, headers: extra } = {}) {
  const response = await fetch(url(path, query), {
    method,
    headers: headers(method, body !== undefined, extra),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: 'same-origin',
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data, text);
  return data;
}

// stream reads a server stream as NDJSON and calls onItem with each parsed line until the
// stream ends, fails or `signal` aborts. It resolves when the stream ends and rejects with an
// ApiError when the gateway refuses it.
export async function stream(path, { query, signal, onItem }) {
  const response = await fetch(url(path, query), {
    headers: { Accept: 'application/x-ndjson', 'Accept-Language': lang() },
    signal,
    credentials: 'same-origin',
  });
  if (!response.ok) {
    const text = await response.text();
    let data = null;
    try { data = JSON.parse(text); } catch { data = null; }
    throw new ApiError(response.status, data, text);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) onItem(JSON.parse(line));
    }
  }
}
