// The officer console's session (issue #17): the gateway keeps the API key behind an HttpOnly
// cookie; the page keeps only what POST/GET /web/session answers (the principal, the CSRF token
// that api.js then sends on every change, the expiry). The key an officer types is sent once
// and never kept: not in a variable after the call, not in storage.
//
// State: unknown (before restore()), signed out (null), or { principal, expire_time }. Any
// call through officerApi() or officerStream() that gets 401 ends the session here, and the
// console shows its sign-in with "session ended".
import { api, setCsrfToken, stream } from './api.js';

let current;  // undefined: not asked yet; null: signed out; else { principal, expireTime }
let ended = false;
const listeners = new Set();

function set(answer, { endedNow = false } = {}) {
  if (answer) {
    current = { principal: answer.principal ?? {}, expireTime: answer.expire_time ?? '' };
    setCsrfToken(answer.csrf_token);
    ended = false;
  } else {
    current = null;
    setCsrfToken('');
    ended = endedNow;
  }
  for (const listener of listeners) listener(current);
}

// session returns the current session: undefined before restore() answered, null when signed
// out, else { principal: { subject, role, agency_id }, expireTime }.
export function session() { return current; }

// sessionEnded is true when the last session ended by a 401 (expired, revoked) rather than by
// signing out.
export function sessionEnded() { return ended; }

export function onSession(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// restore reads the session of the cookie (GET /web/session), once per page load unless
// `force`.
let restoring = null;
export function restore({ force = false } = {}) {
  if (!force && current !== undefined) return Promise.resolve(current);
  if (!restoring) {
    restoring = api('/web/session').then(
      (answer) => { set(answer); return current; },
      (error) => {
        // A session this page had and the gateway no longer knows has ended.
        if (error.status === 401) { set(null, { endedNow: !!current }); return null; }
        throw error;
      }).finally(() => { restoring = null; });
  }
  return restoring;
}

// signIn opens a session with an API key. The caller passes the key straight from the form and
// drops it; it is not kept here either.
export async function signIn(apiKey) {
  const answer = await api('/web/session', { method: 'POST', body: { api_key: apiKey } });
  set(answer);
  return current;
}

// signOut ends the session (DELETE /web/session with the CSRF token). A session that already
// ended (401) counts as signed out.
export async function signOut() {
  try {
    await api('/web/session', { method: 'DELETE' });
  } catch (error) {
    if (error.status !== 401) throw error;
  }
  set(null);
}

// endSession forgets the session after the gateway said it is over (401).
export function endSession() { set(null, { endedNow: true }); }

// checkFullView is called with an answer that came back in the public view although the
// console is signed in: the session cookie is gone (cleared elsewhere), so the gateway treated
// the call as the public's. The session is read again; without one the console signs out.
export function checkFullView() { return restore({ force: true }); }

// officerApi is api() for the console: a 401 ends the session (and is thrown on).
export async function officerApi(path, options) {
  try {
    return await api(path, options);
  } catch (error) {
    if (error.status === 401) endSession();
    throw error;
  }
}

// officerStream is stream() for the console, with the same 401 rule.
export async function officerStream(path, options) {
  try {
    return await stream(path, options);
  } catch (error) {
    if (error.status === 401) endSession();
    throw error;
  }
}
