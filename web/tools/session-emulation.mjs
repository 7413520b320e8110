// web/tools/session-emulation.mjs: the officer console's sessions (issue #17's contract),
// emulated in memory by the development server (--emulate-session) until simpul-gateway
// serves /web/session itself. Development only: sessions live in this process and end with it.
//
//   POST   /web/session {"api_key": "<token>"} → 201 {principal, csrf_token, expire_time} and
//          Set-Cookie: simpul_session=<random>; Path=/; HttpOnly; SameSite=Strict
//   GET    /web/session → 200 the same body, or 401 when not signed in / expired
//   DELETE /web/session (X-CSRF-Token) → 204 and the cookie cleared
//   /v1/... with the cookie and no Authorization / x-api-key header → as the key; a call other
//          than GET/HEAD needs X-CSRF-Token equal to the session's token (else 403); a 401 from
//          the gateway (revoked key) ends the session.
//
// The gateway has no "who am I" call, so the principal of a key is found by asking the gateway
// as that key: GET /v1/apiKeys (agency and platform admins see their own key's principal); an
// operator is refused with a message naming its role, and its agency is named by the refusal
// of a ListComplaints for another agency. Idle timeout 30 minutes, at most 8 hours.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

const COOKIE = 'simpul_session';
const CLEAR = `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
const IDLE_MS = 30 * 60 * 1000;
const MAX_MS = 8 * 60 * 60 * 1000;
const OFFICER_ROLES = new Set(['ROLE_AGENCY_ADMIN', 'ROLE_AGENCY_OPERATOR', 'ROLE_PLATFORM_ADMIN']);

function cookieOf(req) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return '';
}

function error(status, code, message, fieldViolations) {
  const body = { code: status, status: code, message, request_id: crypto.randomBytes(16).toString('hex') };
  if (fieldViolations) body.field_violations = fieldViolations;
  return { status, body };
}

function english(req) {
  return !/^id\b/i.test(req.headers['accept-language'] ?? 'id');
}

function send(res, { status, body }, extraHeaders = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store',
                          ...extraHeaders });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function readBody(req, limit = 16 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class SessionEmulation {
  constructor({ gateway, agent }) {
    this.gateway = gateway;
    this.agent = agent;
    this.sessions = new Map();  // cookie value → { key, principal, csrf, created, used }
  }

  // call asks the gateway as `key` and returns { status, json }.
  call(path, key) {
    const client = this.gateway.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const r = client.request({ host: this.gateway.hostname, port: this.gateway.port, path,
                                 method: 'GET', agent: this.agent,
                                 headers: { host: this.gateway.host, accept: 'application/json',
                                            'accept-language': 'en',
                                            authorization: `Bearer ${key}` } }, (up) => {
        const chunks = [];
        up.on('data', (c) => chunks.push(c));
        up.on('end', () => {
          let json = null;
          try { json = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { json = null; }
          resolve({ status: up.statusCode, json });
        });
      });
      r.on('error', reject);
      r.end();
    });
  }

  // principalOf returns { principal } or { refuse: {status, body} } for an API key.
  async principalOf(key, en) {
    const keyId = key.split('.')[0];
    const keys = await this.call('/v1/apiKeys?page.page_size=500', key);
    if (keys.status === 401 || keys.status === 429) return { refuse: { status: keys.status, body: keys.json } };
    if (keys.status === 200) {
      const own = (keys.json?.keys ?? []).find((k) => k.id === keyId);
      if (own) return { principal: own.principal };
    }
    const role = /the role (\w+) may not call/.exec(keys.json?.message ?? '')?.[1];
    if (role === 'agency_operator') {
      const probe = await this.call('/v1/complaints?agency_id=console-session-probe&page.page_size=1', key);
      const agency = /acts for agency (\S+), not/.exec(probe.json?.message ?? '')?.[1];
      if (agency) {
        return { principal: { subject: `key:${keyId}`, role: 'ROLE_AGENCY_OPERATOR', agency_id: agency } };
      }
    }
    return { refuse: error(403, 'PERMISSION_DENIED', en
      ? 'the officer console is for agency officers (agency admins and operators) and platform admins; this key has another role'
      : 'konsol petugas hanya untuk petugas instansi (admin dan operator instansi) dan admin platform; kunci ini berperan lain') };
  }

  // live returns the session of the request's cookie, or null (unknown, idle or too old).
  live(req) {
    const id = cookieOf(req);
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    const now = Date.now();
    if (now - s.used > IDLE_MS || now - s.created > MAX_MS) {
      this.sessions.delete(id);
      return null;
    }
    s.used = now;
    return { id, ...s };
  }

  view(s) {
    return { principal: s.principal, csrf_token: s.csrf,
             expire_time: new Date(Math.min(s.used + IDLE_MS, s.created + MAX_MS)).toISOString() };
  }

  async handle(req, res) {
    const en = english(req);
    const secure = false;  // the development server speaks plain http
    if (req.method === 'POST') {
      let body = null;
      try { body = JSON.parse(await readBody(req) || 'null'); } catch { body = null; }
      const key = typeof body?.api_key === 'string' ? body.api_key.trim() : '';
      if (!key) {
        send(res, error(400, 'INVALID_ARGUMENT', en ? 'api_key is required' : 'api_key wajib diisi',
                        [{ field: 'api_key', description: en ? 'required: the agency API key'
                                                             : 'wajib: kunci API instansi' }]));
        return;
      }
      const found = await this.principalOf(key, en);
      if (found.refuse) { send(res, found.refuse); return; }
      if (!OFFICER_ROLES.has(found.principal.role)) {
        send(res, error(403, 'PERMISSION_DENIED', en ? 'the officer console is for agency officers'
                                                    : 'konsol petugas hanya untuk petugas instansi'));
        return;
      }
      const id = crypto.randomBytes(32).toString('base64url');
      const now = Date.now();
      const s = { key, principal: found.principal, csrf: crypto.randomBytes(24).toString('base64url'),
                  created: now, used: now };
      this.sessions.set(id, s);
      send(res, { status: 201, body: this.view(s) },
           { 'Set-Cookie': `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}` });
      return;
    }
    const s = this.live(req);
    if (req.method === 'GET') {
      if (!s) send(res, error(401, 'UNAUTHENTICATED', en ? 'not signed in, or the session ended'
                                                         : 'belum masuk, atau sesi telah berakhir'));
      else send(res, { status: 200, body: this.view(s) });
      return;
    }
    if (req.method === 'DELETE') {
      if (!s) {
        send(res, error(401, 'UNAUTHENTICATED', en ? 'not signed in' : 'belum masuk'));
        return;
      }
      if (req.headers['x-csrf-token'] !== s.csrf) {
        send(res, error(403, 'PERMISSION_DENIED', en
          ? 'X-CSRF-Token header missing or wrong: send the session\'s csrf_token'
          : 'header X-CSRF-Token tidak ada atau salah: kirim csrf_token sesi'));
        return;
      }
      this.sessions.delete(s.id);
      send(res, { status: 204 }, { 'Set-Cookie': CLEAR });
      return;
    }
    send(res, error(405, 'UNIMPLEMENTED', `${req.method} /web/session`), { Allow: 'GET, POST, DELETE' });
  }

  // authorize decides a /v1/ call: { headers, onAnswer } to proxy, or { refuse }.
  authorize(req) {
    const headers = { ...req.headers };
    if (headers.authorization || headers['x-api-key'] || !cookieOf(req)) return { headers };
    delete headers.cookie;  // the gateway does not need the session cookie
    const en = english(req);
    const s = this.live(req);
    if (!s) {
      // An unknown or expired session: 401 once, and the stale cookie is cleared so that the
      // public pages of the same browser work again.
      return { refuse: { ...error(401, 'UNAUTHENTICATED', en ? 'the session ended; sign in again'
                                                           : 'sesi telah berakhir; silakan masuk lagi'),
                         headers: { 'Set-Cookie': CLEAR } } };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['x-csrf-token'] !== s.csrf) {
      return { refuse: error(403, 'PERMISSION_DENIED', en
        ? 'X-CSRF-Token header missing or wrong: a signed-in change must carry the session\'s csrf_token'
        : 'header X-CSRF-Token tidak ada atau salah: perubahan dalam sesi harus membawa csrf_token sesi') };
    }
    delete headers['x-csrf-token'];
    headers.authorization = `Bearer ${s.key}`;
    return { headers, onAnswer: (status) => { if (status === 401) this.sessions.delete(s.id); } };
  }
}
